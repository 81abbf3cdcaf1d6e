"""The JSON log format: one object a line with the bound ids, every text bounded; Bolt's notes
on the token are dropped."""

from __future__ import annotations

import asyncio
import json
import logging
from functools import partial

import pytest

from bridgekeeper import logs


def record(message: str, *args: object, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("bridgekeeper.test", level, __file__, 1, message, args, None)


def formatted(entry: logging.LogRecord) -> dict[str, object]:
    logs.ContextFilter().filter(entry)
    line = logs.JsonFormatter().format(entry)
    assert "\n" not in line
    return dict(json.loads(line))


def test_a_json_line_has_time_level_logger_message_and_the_bound_ids() -> None:
    with logs.bound(request_id="r-1", incident_id=7):
        data = formatted(record("effect %s parked", 12))
    assert data["level"] == "WARNING"
    assert data["logger"] == "bridgekeeper.test"
    assert data["message"] == "effect 12 parked"
    assert (data["request_id"], data["incident_id"]) == ("r-1", 7)
    assert str(data["time"]).endswith("+00:00")
    assert "request_id" not in formatted(record("outside"))


def test_a_field_bound_as_none_is_no_longer_shown() -> None:
    with logs.bound(incident_id=7, effect_id=1), logs.bound(incident_id=None, effect_id=2):
        data = formatted(record("next effect"))
    assert "incident_id" not in data
    assert data["effect_id"] == 2


def test_user_text_is_cut_and_kept_on_one_line() -> None:
    data = formatted(record("title: %s", "x" * 5000 + "\n2099-01-01 forged"))
    message = str(data["message"])
    assert len(message) < logs.MAX_MESSAGE + 50
    assert "\n" not in message


def test_bolt_notes_on_the_token_are_dropped_but_its_other_warnings_kept() -> None:
    bolt = logs.bolt_logger()
    note = "As `installation_store` or `authorize` has been used, `token` will be ignored."
    assert not bolt.filter(record(note))
    assert bolt.filter(record("Unhandled request"))


async def test_a_task_that_fails_is_logged_at_once_naming_its_work(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The outbox worker, a lane's delivery, a look-up: the error of one that stops is logged
    as it stops (awaited only at shutdown, it would be seen then, if ever); one cancelled is
    not an error."""
    logger = logging.getLogger("bridgekeeper.test")

    async def fail() -> None:
        raise RuntimeError("disk I/O error")

    failing = asyncio.create_task(fail())
    failing.add_done_callback(partial(logs.log_failure, logger, "the outbox worker stopped"))
    waiting = asyncio.create_task(asyncio.Event().wait())
    waiting.add_done_callback(partial(logs.log_failure, logger, "the look-up stopped"))
    with caplog.at_level(logging.ERROR, logger="bridgekeeper.test"):
        waiting.cancel()
        await asyncio.gather(failing, waiting, return_exceptions=True)
        await asyncio.sleep(0)  # a loop turn: the done callbacks have run
    [logged] = caplog.records
    assert logged.getMessage() == "the outbox worker stopped: disk I/O error"
    assert logged.exc_info is not None and logged.exc_info[0] is RuntimeError
