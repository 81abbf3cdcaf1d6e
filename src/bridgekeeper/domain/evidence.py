"""Evidence in an incident's register: hashes, and the custody history the report shows.

Pure Python: the register's rules and values, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")

# The timeline kinds of the register, in the order an item's history can have them.
ADDED = "evidence_added"
TRANSFERRED = "evidence_transferred"
VERIFIED = "evidence_verified"
KINDS = (ADDED, TRANSFERRED, VERIFIED)


def normal_sha256(text: str) -> str | None:
    """A SHA-256 as 64 lower-case hex characters, or None when `text` is not one."""
    return text.lower() if _SHA256.fullmatch(text) else None


@dataclass(frozen=True)
class CustodyStep:
    """One entry of an item's chain of custody: collected, handed over or checked."""

    at: datetime
    actor: str
    kind: str  # one of KINDS
    to: str | None = None  # the new custodian of a transfer
    reason: str = ""
    sha256: str | None = None  # the hash given to a check
    matched: bool | None = None  # a check's outcome


@dataclass(frozen=True)
class EvidenceFacts:
    number: int
    description: str
    collected_by: str
    collected_at: datetime
    custodian: str
    sha256: str | None = None
    location: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    history: Sequence[CustodyStep] = field(default_factory=tuple)


def custody(kind: str, data: dict[str, Any], *, at: datetime, actor: str, text: str) -> CustodyStep:
    """A custody step from an `evidence_*` timeline entry's data."""
    return CustodyStep(
        at=at,
        actor=actor,
        kind=kind,
        to=data.get("custodian") if kind == TRANSFERRED else None,
        reason=text,
        sha256=data.get("checked") if kind == VERIFIED else data.get("sha256"),
        matched=data.get("matched") if kind == VERIFIED else None,
    )


def appendix_row(item: EvidenceFacts) -> dict[str, Any]:
    """An item as the report's evidence appendix shows it (and its JSON form holds it)."""
    return {
        "number": item.number,
        "description": item.description,
        "sha256": item.sha256,
        "location": item.location,
        "file_name": item.file_name,
        "file_size": item.file_size,
        "collected_by": item.collected_by,
        "collected_at": item.collected_at.isoformat(),
        "custodian": item.custodian,
        "custody": [
            {
                "at": step.at.isoformat(),
                "actor": step.actor,
                "kind": step.kind.removeprefix("evidence_"),
                "to": step.to,
                "reason": step.reason,
                "sha256": step.sha256,
                "matched": step.matched,
            }
            for step in item.history
        ],
    }
