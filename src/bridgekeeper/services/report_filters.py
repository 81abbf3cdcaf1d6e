"""The report templates' filters: times as people read them, durations, and Markdown escaping
of what people typed."""

from __future__ import annotations

import re
from datetime import timedelta

from bridgekeeper.domain import report as r
from bridgekeeper.domain.text import readable
from bridgekeeper.rendering import Renderer, duration
from bridgekeeper.services.report_html import time_element

_MD_ESCAPES = {c: "\\" + c for c in "\\`*_[]<>#|"} | {"\n": "\n  ", "\r": ""}
_MD_SPECIAL = re.compile(r"[\\`*_\[\]<>#|\n\r]")


# What would start a block at the head of a continuation line: a heading's underline (--- or
# ===, which turns the line above into a heading), a list item, a thematic break, a fence.
_MD_LINE_START = re.compile(r"(\n  [ \t]*)(?:([-=+~])|(\d+)([.)]))")


def escape_markdown(value: object) -> str:
    """Text people typed, safe in Markdown: no markup, no raw HTML, continuation lines indented
    so a multi-line note stays inside its list item, and none of them starting a block."""
    text = "" if value is None else str(value)
    if _MD_SPECIAL.search(text) is None:  # most values: names, numbers
        return text
    text = _MD_SPECIAL.sub(lambda match: _MD_ESCAPES[match[0]], text)
    return _MD_LINE_START.sub(_literal_start, text)


def _literal_start(found: re.Match[str]) -> str:
    indent, mark, number, dot = found.groups()
    return f"{indent}\\{mark}" if mark else f"{indent}{number}\\{dot}"


def when(value: object) -> str:
    """A time from the compiled report (ISO 8601 UTC, "...Z") as people read it; any other
    ISO 8601 text or datetime is converted to UTC first."""
    if not value:
        return "—"
    text = value if isinstance(value, str) else ""
    if len(text) == 20 and text.endswith("Z"):  # the report's own form: fast
        return text.replace("T", " ").replace("Z", " UTC")
    normal = r.iso_text(value)
    return normal.replace("T", " ").replace("Z", " UTC") if normal else str(value)


def seconds(value: int | None) -> str:
    return "—" if value is None else duration(timedelta(seconds=value))


def add_report_filters(renderer: Renderer) -> None:
    for env in (renderer.text_env, renderer.html_env, renderer.slack_env):
        env.filters.setdefault("when", when)
        env.filters.setdefault("secs", seconds)
        env.filters.setdefault("readable", readable)
    renderer.text_env.filters.setdefault("md", escape_markdown)
    renderer.html_env.filters.setdefault("md", lambda value: value)  # Jinja escapes HTML
    renderer.html_env.filters.setdefault("at", time_element)
