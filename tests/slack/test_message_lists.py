"""Every list in a Slack message is one item a line. The Slack templates drop the newline
after a block tag (trim_blocks): an item whose line ends in `{% endif %}` was glued to the next
("1. Rotate the key (@bob)2. Block the IP") unless the tag keeps it (`{% endif +%}`)."""

from __future__ import annotations

import json
import re
from itertools import pairwise

from bridgekeeper.resources import shipped_dir
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel
from tests.services.test_close import close_with_form
from tests.updating import containing, desk_for


def card(bridge: Channel) -> str:
    [pinned] = [m for m in bridge.messages if m.ts in bridge.pins]
    return "\n".join(b["text"]["text"] for b in pinned.blocks if b["type"] == "section")


async def test_the_status_card_and_a_clocks_start_list_one_item_a_line(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Customer data exposed sev1")
        await desk.command("task Rotate the key <@U0BOB>", channel=bridge.id)
        await desk.command("task Block the IP", channel=bridge.id)
        await desk.command("notify gdpr", channel=bridge.id)
        await desk.command("notify nis2", channel=bridge.id)
        shown = card(bridge)
        assert "*Open tasks*\n1. Rotate the key (<@U0BOB>)\n2. Block the IP" in shown, shown
        assert "UTC*\nNIS2: early warning by" in shown, shown
        [started] = containing(bridge, "started the *NIS2* notification clock")
        text = json.loads(started)[0]["text"]["text"]
        bullets = [line for line in text.splitlines() if line.startswith("•")]
        assert len(bullets) == 3, text  # early warning, incident notification, final report
        assert "\nReminders come at half time" in text, text


async def test_the_close_summary_lists_follow_ups_one_a_line(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Leaked API key sev2")
        follow_ups = (("U0BOB", "Enable secret scanning"), ("U0CAROL", "Rotate keys yearly"))
        await close_with_form(desk.running, bridge, follow_ups=follow_ups)
        [summary] = containing(bridge, "*Follow-ups*")
        [text] = [b["text"]["text"] for b in json.loads(summary) if "*Follow-ups*" in json.dumps(b)]
        assert "• Enable secret scanning (<@U0BOB>)\n• Rotate keys yearly (<@U0CAROL>)" in text, (
            text
        )


def test_a_digests_list_of_alerts_is_one_a_line() -> None:
    from types import SimpleNamespace

    from bridgekeeper.rendering import Renderer

    alerts = [
        SimpleNamespace(
            severity=sev,
            title=title,
            source="generic",
            resource=None,
            occurrences=1,
            status="firing",
        )
        for sev, title in (("sev2", "Disk full on db-01"), ("sev3", "CPU high on web-02"))
    ]
    text = Renderer().slack("slack/digest_list.md.j2", alerts=alerts, hidden=0, more=0)
    assert "firing\n• SEV3 · CPU high on web-02" in text, text


def test_no_list_item_of_a_slack_message_ends_in_a_tag_that_drops_its_newline() -> None:
    """The rule behind the tests above, for every Slack template: a line with text on it that
    ends in a block tag, inside a loop, keeps its newline (`+%}`)."""
    glued = []
    for path in sorted((shipped_dir("messages") / "slack").rglob("*.md.j2")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, (line, after) in enumerate(pairwise(lines), start=1):
            text_then_tag = re.search(r"[^%}\s].*(?<!\+)%}$", line) and not line.startswith("{%")
            if text_then_tag and after.strip().startswith("{% endfor"):
                glued.append(f"{path.name}:{number}")
    assert glued == []
