"""Log lines an operator can trust: one record per line, each of bounded length.

Whatever a request carries (a rejected body, a forged "newline + timestamp" line, terminal escape
codes) reaches a log only cut to MAX_MESSAGE characters with control characters shown escaped, so
it can neither flood the log nor pass for a line of its own. Bolt, which logs whole request bodies
at INFO and DEBUG (a rejected request's too), keeps only its warnings and errors.

LOG_FORMAT=json writes one JSON object a line (time, level, logger, message, and the
incident_id, effect_id, alert_id or request_id of the work at hand, bound with `bind()`).
Idle, nothing is logged: APScheduler's line per run of the scheduler's tick is kept below INFO.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeAlias

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_MESSAGE = 2000
MAX_TRACEBACK = 20_000
FORMATS = ("text", "json")
# Loggers whose INFO lines say nothing an operator needs: the scheduler's tick (two lines every
# few seconds, idle or not), Alembic's plugin set-up at every start.
QUIET = ("apscheduler", "alembic.runtime.plugins")
# Bolt reads SLACK_BOT_TOKEN by itself, then warns that our authorize() and client win over it.
BOLT_TOKEN_NOTES = (
    "As you gave `client` as well, `token`",
    "As `installation_store` or `authorize` has been used, `token`",
)
_CONTEXT: ContextVar[dict[str, Any] | None] = ContextVar("bridgekeeper_log_context", default=None)
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


class JsonFormatter(_JsonFormatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the bound
    context; every text cleaned and bounded as SafeFormatter's (a traceback as `exc_info`)."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        for key, value in log_data.items():
            if isinstance(value, str):
                limit = MAX_TRACEBACK if key in ("exc_info", "stack_info") else MAX_MESSAGE
                log_data[key] = clean(value, limit) if key != "exc_info" else value[:limit]
        return log_data


class ContextFilter(logging.Filter):
    """Adds the fields bound for the current task to each record (where it has none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_CONTEXT.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def bind(**fields: Any) -> None:
    """Name the work at hand in this task's log records (incident_id=..., request_id=...)."""
    _CONTEXT.set(_with(fields))


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """`bind()` for a block only."""
    token = _CONTEXT.set(_with(fields))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def log_failure(logger: logging.Logger, what: str, task: asyncio.Task[Any]) -> None:
    """Log at once the error `task` ended with, if any, as `what` (a task's error is otherwise
    seen only when it is awaited, if ever). A done callback, given the first two with partial."""
    if not task.cancelled() and (failure := task.exception()) is not None:
        logger.error("%s: %s", what, failure, exc_info=failure)


def _with(fields: dict[str, Any]) -> dict[str, Any]:
    """The bound fields with these (None: no longer known)."""
    merged = {**(_CONTEXT.get() or {}), **fields}
    return {key: value for key, value in merged.items() if value is not None}


def configure(level: str, fmt: str = "text") -> None:
    """Log to stderr, as text (SafeFormatter) or JSON (what `bridgekeeper` commands call at
    start)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else SafeFormatter(FORMAT))
    handler.addFilter(ContextFilter())
    logging.basicConfig(level=level, handlers=[handler])
    if logging.getLogger().level > logging.DEBUG:
        for name in QUIET:
            logging.getLogger(name).setLevel(logging.WARNING)


def _not_a_token_note(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(BOLT_TOKEN_NOTES)


def bolt_logger() -> logging.Logger:
    """The logger to give Bolt: warnings and errors only (its INFO and DEBUG lines carry request
    bodies, e.g. every request whose signature it refused), less its notes on the token."""
    logger = logging.getLogger("bridgekeeper.bolt")
    logger.setLevel(logging.WARNING)
    if _not_a_token_note not in logger.filters:
        logger.addFilter(_not_a_token_note)
    return logger
