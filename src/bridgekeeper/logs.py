"""Log lines an operator can trust: one record per line, each of bounded length.

Whatever a request carries (a rejected body, a forged "newline + timestamp" line, terminal escape
codes) reaches a log only cut to MAX_MESSAGE characters with control characters shown escaped, so
it can neither flood the log nor pass for a line of its own. Bolt, which logs whole request bodies
at INFO and DEBUG (a rejected request's too), keeps only its warnings and errors.
"""

from __future__ import annotations

import logging
import re
from types import TracebackType
from typing import TypeAlias

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_MESSAGE = 2000
# C0/C1 controls, line and paragraph separators, zero-width and bidirectional marks.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
ExcInfo: TypeAlias = (
    tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
)


def clean(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text` on one line, control characters escaped, at most `limit` characters (plus a note
    of how many more there were)."""
    shown = _UNSAFE.sub(_escape, text[:limit])
    if len(text) <= limit and len(shown) <= limit:
        return shown
    return f"{shown[:limit]}… [{len(text):,} characters]"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\u{ord(char):04x}")


class SafeFormatter(logging.Formatter):
    """Formats each record as usual, after cleaning its message; traceback lines are cleaned
    too and indented under their record, so no line of one can look like a record."""

    def format(self, record: logging.LogRecord) -> str:
        safe = logging.makeLogRecord(record.__dict__)
        safe.msg, safe.args, safe.exc_text = clean(record.getMessage()), None, None
        return super().format(safe)

    def formatException(self, ei: ExcInfo) -> str:
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _indented(stack_info)


def _indented(text: str) -> str:
    return "\n".join("    " + clean(line) for line in text.splitlines())


def configure(level: str) -> None:
    """Log to stderr through SafeFormatter (what `bridgekeeper` commands call at start)."""
    handler = logging.StreamHandler()
    handler.setFormatter(SafeFormatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler])


def bolt_logger() -> logging.Logger:
    """The logger to give Bolt: warnings and errors only (its INFO and DEBUG lines carry request
    bodies, e.g. every request whose signature it refused)."""
    logger = logging.getLogger("bridgekeeper.bolt")
    logger.setLevel(logging.WARNING)
    return logger
