"""Stopping right after an ack: what the user did is stored before the database is closed."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import pytest

from bridgekeeper.config import ProcessSettings
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.db import Database
from tests.conftest import MANAGERS, start_bridgekeeper
from tests.conftest import test_settings as settings_for


async def declared(db_url: str) -> list[str]:
    """The kinds of incident 1's timeline entries, read as a restarted process would."""
    db = Database(db_url)
    try:
        async with db.sessions() as session:
            found = await incident_store.get(session=session, number=1)
            if found is None:
                return []
            entries = await incident_store.timeline(session=session, incident_id=found.id)
            return [entry.kind for entry in entries]
    finally:
        await db.dispose()


async def test_a_stop_right_after_an_ack_keeps_the_command(
    db_url: str, emulator: SlackEmulator
) -> None:
    emulator.add_usergroup(MANAGERS, "incident-managers", ["U0CAROL"])
    process = replace(ProcessSettings(), incident_managers_group=MANAGERS)
    settings = settings_for(db_url=db_url, api_url=emulator.api_url, process=process)
    app = await start_bridgekeeper(settings, emulator, web_api_over_http=True)
    emulator.delay("usergroups.users.list", 1.5)  # the command's work runs on after its ack

    reply = await app.command("declare Suspicious login sev2")
    assert reply.status == 200
    assert "Suspicious login" in str(reply.body)  # acknowledged
    await app.stop()  # as on SIGTERM: the web server first, then bridgekeeper

    assert "declared" in await declared(db_url)


async def test_work_that_outlasts_the_drain_is_cut_short_before_the_database_closes(
    db_url: str, emulator: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.add_usergroup(MANAGERS, "incident-managers", ["U0CAROL"])
    process = replace(ProcessSettings(), incident_managers_group=MANAGERS)
    settings = settings_for(db_url=db_url, api_url=emulator.api_url, process=process)
    app = await start_bridgekeeper(settings, emulator, web_api_over_http=True)
    emulator.delay("usergroups.users.list", 60)  # Slack never answers while we wait

    reply = await app.command("declare Suspicious login sev2")
    assert reply.status == 200
    caplog.clear()
    async with asyncio.timeout(20):  # not the minute Slack takes
        assert app.runner is not None
        await app.runner.cleanup()  # as on SIGTERM: the web server first
        await app.bk.stop(drain_seconds=0.5)
    assert app.bk.runner.in_flight == 0  # nothing left running on the closed database

    said = [r.getMessage() for r in caplog.records if r.name.startswith("bridgekeeper")]
    assert any("1 acknowledged request(s) still unfinished" in line for line in said), said
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
