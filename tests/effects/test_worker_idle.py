"""The outbox worker says it is idle only once what was due has been delivered (what tests and
the demo wait on before they look at Slack)."""

from __future__ import annotations

import json

from tests.conftest import Running
from tests.helpers import pending_effects
from tests.services.test_lifecycle import declare


async def test_the_worker_is_idle_only_once_what_was_due_is_delivered(running: Running) -> None:
    bridge = await declare(running)
    running.slack.delay("chat.postMessage", 0.5, times=10)  # each post answered late
    reply = await running.command("note the attacker used a VPN", channel=bridge.id)
    assert reply.status == 200
    await running.bk.runner.wait_idle()
    await running.bk.worker.wait_idle()
    assert await pending_effects(running.bk) == 0
    posted = json.dumps([m.blocks for m in running.slack.messages(bridge.id)])
    assert "the attacker used a VPN" in posted


async def test_a_worker_with_nothing_to_do_is_idle_at_once(running: Running) -> None:
    await running.bk.worker.wait_idle()
    assert await pending_effects(running.bk) == 0
