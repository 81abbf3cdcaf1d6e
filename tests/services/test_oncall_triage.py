"""The triage card names who is on call for the alert's team: routed by source, labels and
resource, overrides included, posted through the real worker to the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC

import pytest

from bridgekeeper.clock import FrozenClock
from bridgekeeper.config.settings import OnCallSettings, ProcessSettings
from bridgekeeper.domain.oncall_routing import Route
from bridgekeeper.sandbox import SlackEmulator
from tests.alerting import card_texts, generic, post
from tests.conftest import MANAGERS, USERS, Running, bridgekeepers
from tests.services.test_oncall import PAYMENTS, STORES, TUESDAY_3PM, say

ROUTES = (
    Route("payments", frozenset({"generic"}), labels={"service": "pay*"}),
    Route("stores", resource="store-*"),
)


@pytest.fixture
async def triaging(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    emulator.add_usergroup(MANAGERS, "incident-managers", ["U0CAROL"])
    triage = emulator.add_channel("alert-triage", members=["UBOT", *USERS])
    process = replace(ProcessSettings(), incident_managers_group=MANAGERS)
    process = replace(process, permissions={**process.permissions, "oncall": ("managers",)})
    oncall = OnCallSettings(teams=(PAYMENTS, STORES), routes=ROUTES)
    async with bridgekeepers(db_url, emulator) as start:
        yield await start(
            clock=FrozenClock(TUESDAY_3PM.astimezone(UTC)),
            process=process,
            oncall=oncall,
            triage_channel=triage,
        )


async def test_the_card_names_the_on_call_person_of_the_routed_team(triaging: Running) -> None:
    body = generic("Checkout errors", labels={"service": "payments-api"}, resource="store-9")
    assert (await post(triaging, "generic", body)).status == 202
    assert (
        await post(triaging, "generic", generic("Till offline", resource="store-4"))
    ).status == 202
    assert (await post(triaging, "generic", generic("Disk full", resource="db-01"))).status == 202
    await triaging.settle()
    cards = {
        title: next(c for c in card_texts(triaging) if title in c)
        for title in ("Checkout errors", "Till offline", "Disk full")
    }
    checkout, till, disk = cards.values()
    assert "*On call (payments):* <@U0BOB>" in checkout  # the first route that matches
    assert "*On call (stores):* <@U0DAVE>" in till
    assert "On call" not in disk


async def test_the_card_follows_an_override(triaging: Running) -> None:
    await say(
        triaging, "oncall override payments <@U0ALICE> until 2026-03-03 18:00", user="U0CAROL"
    )
    body = generic("Checkout errors", labels={"service": "payments-api"})
    assert (await post(triaging, "generic", body)).status == 202
    await triaging.settle()
    [card] = card_texts(triaging)
    assert "*On call (payments):* <@U0ALICE>" in card
