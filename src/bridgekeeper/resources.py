"""Where the shipped folders (messages/, migrations/) are: inside the wheel, or the checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped_dir(name: str) -> Path:
    """`messages` or `migrations`: in the package when installed, at the top of a checkout."""
    for candidate in (_PACKAGE / name, _PACKAGE.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bridgekeeper's {name}/ folder is missing from the installation")
