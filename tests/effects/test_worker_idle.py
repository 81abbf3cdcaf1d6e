"""Tests wait for the outbox before they look at Slack (tests/helpers.py `settle`): it returns
only once what was due has been delivered, however slowly Slack answers."""

from __future__ import annotations

import json

from tests.conftest import Running
from tests.helpers import pending_effects
from tests.services.test_lifecycle import declare


async def test_settling_waits_until_what_was_due_is_delivered(running: Running) -> None:
    bridge = await declare(running)
    running.slack.delay("chat.postMessage", 0.5, times=10)  # each post answered late
    reply = await running.command("note the attacker used a VPN", channel=bridge.id)
    assert reply.status == 200
    await running.settle()
    assert await pending_effects(running.bk) == 0
    posted = json.dumps([m.blocks for m in running.slack.messages(bridge.id)])
    assert "the attacker used a VPN" in posted


async def test_a_worker_with_nothing_to_do_is_settled_at_once(running: Running) -> None:
    await running.settle(timeout=1.0)
    assert running.bk.worker.delivering == 0
    assert await pending_effects(running.bk) == 0
