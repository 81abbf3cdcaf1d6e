"""An operator reading the logs sees which alert a refused click was about: the alert's id is
bound to the records of its button's work (LOG_FORMAT=json shows it as `alert_id`)."""

from __future__ import annotations

import logging

import pytest

from bridgekeeper import logs
from tests.conftest import Running
from tests.services.test_triage import app, buttons, carded, click  # noqa: F401 (the fixture)

GONE = 987_654


async def test_a_click_on_a_gone_alert_is_logged_with_its_alert_id(
    app: Running,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, ts = await carded(app)
    caplog.handler.addFilter(logs.ContextFilter())
    with caplog.at_level(logging.INFO, logger="bridgekeeper"):
        await click(app, "alert_ack", GONE, ts)
        await app.settle()
    refused = [r for r in caplog.records if "alert action refused" in r.getMessage()]
    assert [getattr(r, "alert_id", None) for r in refused] == [GONE]
    assert buttons(app, ts) == ["alert_declare", "alert_ack", "alert_dismiss", "alert_link"]
