"""`/incident stats`: incidents by severity, MTTA and MTTR, false positives per alert source."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from bridgekeeper.clock import FrozenClock
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.services.stats import SourceQuality, Timing
from bridgekeeper.store.models import Alert
from tests.alerting import generic, post
from tests.conftest import USERS, Running
from tests.examples import example
from tests.services.test_close import (
    Start,
    close_with_form,
    declare,
    say,
    serve,  # noqa: F401  (a fixture)
)


async def alert_id(running: Running, title: str) -> int:
    async with running.bk.db.sessions() as session:
        found = await session.scalar(select(Alert.id).where(Alert.title == title))
    assert found is not None
    return found


async def click(running: Running, triage: str, alert: int, action: str, user: str) -> None:
    [card] = [
        m
        for m in running.slack.messages(triage)
        if f'"value": "{alert}"' in json.dumps(m.blocks) and action in json.dumps(m.blocks)
    ]
    await running.driver.block_action(
        user=user, action_id=action, value=str(alert), channel=triage, message_ts=card.ts
    )
    await running.settle()


async def dismiss_as_false_positive(running: Running, triage: str, alert: int) -> None:
    before = set(running.slack.views)
    await click(running, triage, alert, "alert_dismiss", "U0BOB")
    [view_id] = [v for v in running.slack.views if v not in before]
    values = {
        "disposition": {
            "value": {"type": "static_select", "selected_option": {"value": "false_positive"}}
        },
        "comment": {"value": {"type": "plain_text_input", "value": "pentest"}},
    }
    await running.driver.view_submission(user="U0BOB", view_id=view_id, values=values)
    await running.settle()


async def history(serve: Start, emulator: SlackEmulator) -> tuple[Running, str]:  # noqa: F811
    """An old sev4 (2025-12-01); then on 2026-01-10 a sev2 from an alert acknowledged after 10
    minutes, stabilized and closed; a sev1 declared by hand closed as a false positive; an alert
    dismissed as a false positive; an untriaged Alertmanager alert."""
    clock = FrozenClock(datetime(2025, 12, 1, 9, 0, tzinfo=UTC))
    triage = emulator.add_channel("alert-triage", members=["UBOT", *USERS])
    running = await serve(clock=clock, triage_channel=triage)
    old = await declare(running, "Old phishing", "sev4")
    await say(running, old, "role commander <@U0ALICE>")
    clock.advance(hours=1)
    await say(running, old, "close user reported it")

    clock.set(datetime(2026, 1, 10, 9, 0, tzinfo=UTC))
    await post(running, "generic", generic("Brute force on vpn"))
    await running.settle()
    first = await alert_id(running, "Brute force on vpn")
    clock.advance(minutes=10)
    await click(running, triage, first, "alert_ack", "U0BOB")
    clock.advance(minutes=10)
    await click(running, triage, first, "alert_declare", "U0ALICE")
    vpn = next(c for c in running.slack.channels.values() if c.name.startswith("inc-2"))
    await say(running, vpn, "role commander <@U0ALICE>")
    clock.set(datetime(2026, 1, 10, 10, 0, tzinfo=UTC))
    await say(running, vpn, "stage stabilize")
    clock.set(datetime(2026, 1, 10, 11, 0, tzinfo=UTC))
    await say(running, vpn, "close blocked the source range")

    clock.set(datetime(2026, 1, 10, 12, 0, tzinfo=UTC))
    scare = await declare(running, "Ransom note", "sev1")
    await say(running, scare, "role commander <@U0ALICE>")
    clock.advance(minutes=30)
    await close_with_form(running, scare, disposition="false_positive", follow_ups=())

    await post(running, "generic", generic("Port scan from partner"))
    await running.settle()
    await dismiss_as_false_positive(
        running, triage, await alert_id(running, "Port scan from partner")
    )
    cpu = example("alertmanager_firing.json")
    for item in cpu["alerts"]:
        item["startsAt"] = "2026-01-10T12:40:00Z"
        item["labels"]["instance"] = "vm-db-09:9100"
    await post(running, "alertmanager", cpu)
    await running.settle()
    clock.set(datetime(2026, 1, 11, 9, 0, tzinfo=UTC))
    return running, vpn.id


async def test_stats_for_the_last_30_days(serve: Start, emulator: SlackEmulator) -> None:  # noqa: F811
    running, _ = await history(serve, emulator)
    stats = await running.bk.stats.compute(30)
    assert stats.incidents == 2 and stats.open == 0
    assert stats.by_severity == {"sev1": 1, "sev2": 1, "sev3": 0, "sev4": 0}
    assert stats.by_disposition == {"not recorded": 1, "false_positive": 1}
    assert stats.acknowledge == Timing(mean=300, median=300, count=2)  # 10 min, and 0 by hand
    assert stats.declare == Timing(mean=600, median=600, count=2)
    assert stats.stabilize == Timing(mean=3600, median=3600, count=1)
    assert stats.close == Timing(mean=4500, median=4500, count=2)  # 2 h and 30 min
    sources = {s.source: s for s in stats.sources}
    assert sources["generic"] == SourceQuality("generic", alerts=2, triaged=2, false_positives=1)
    assert sources["generic"].false_positive_rate == 0.5
    assert sources["alertmanager"].triaged == 0
    assert sources["alertmanager"].false_positive_rate is None


async def test_stats_command_reads_the_numbers(serve: Start, emulator: SlackEmulator) -> None:  # noqa: F811
    running, vpn = await history(serve, emulator)
    answer = await say(running, running.general, "stats 90d")
    assert "Incidents in the last 90 days" in answer
    assert "3 declared" in answer and "SEV1 1 · SEV2 1 · SEV3 0 · SEV4 1" in answer
    assert "Time to acknowledge (MTTA):* mean 3m, median &lt;1m (3 incidents)" in answer
    assert "Time to close (MTTR):* mean 1h 10m, median 1h 0m (3 incidents)" in answer
    assert "generic: 50% (1 of 2 triaged, 2 alerts)" in answer
    assert "alertmanager: — (0 of 0 triaged, 2 alerts)" in answer
    week = await say(running, vpn, "stats 7d")
    assert "Incidents in the last 7 days" in week and "2 declared" in week
    wrong = await say(running, vpn, "stats 12d")
    assert "isn't a period" in wrong
