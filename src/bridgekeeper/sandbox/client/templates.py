"""The sandbox's own templates (templates/): the page, HTML-escaped, and the command's lines."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

FOLDER = Path(__file__).parent / "templates"


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(FOLDER),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


def line(name: str, **context: Any) -> str:
    """A one-line message of the command (its template may wrap it for readability)."""
    return " ".join(render(name, **context).split())
