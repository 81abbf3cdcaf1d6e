"""Bridge channel names: someone who takes `inc-N-<title>` and its suffixes in advance does not
stop a declaration, and a channel the bot created earlier for the incident is still adopted."""

from __future__ import annotations

import json
import re

from bridgekeeper.effects.deliver import MAX_NAME_TRIES, ChannelNames
from bridgekeeper.sandbox.api_conversations import CHANNEL_NAME, CHANNEL_NAME_MAX
from bridgekeeper.sandbox.state import Channel
from tests.conftest import Running
from tests.helpers import status_card
from tests.services.test_lifecycle import incident_row

BASE = "inc-1-suspicious-login"
RANDOM_NAME = re.compile(rf"{BASE}-[a-z0-9]{{6}}")


def squat(running: Running, names: list[str], *, private_every: int = 3) -> set[str]:
    """Channels another user created under these names (some private: the bot cannot see
    those, Slack only answers name_taken)."""
    ids = set()
    for i, name in enumerate(names):
        private = i % private_every == 1
        ids.add(running.slack.add_channel(name, creator="U0DAVE", is_private=private))
    return ids


def bridge_channels(running: Running) -> list[Channel]:
    bot = running.slack.bot_user_id
    return [c for c in running.slack.channels.values() if c.creator == bot and not c.is_im]


async def test_a_squatted_name_and_every_suffix_do_not_block_a_declaration(
    running: Running,
) -> None:
    squatted = [BASE, *(f"{BASE}-{n}" for n in range(2, 41))]
    squat(running, squatted)
    reply = await running.command("declare Suspicious login sev2")
    assert reply.status == 200
    await running.settle()

    [channel] = bridge_channels(running)
    assert channel.name.startswith("inc-1-") and channel.name not in squatted
    assert RANDOM_NAME.fullmatch(channel.name), channel.name
    assert "U0ALICE" in channel.members
    card = status_card(running.slack, channel)
    assert "Incident 1: Suspicious login" in json.dumps(card.blocks)
    row = await incident_row(running)
    assert row.channel_id == channel.id and row.channel_name == channel.name
    creates = running.slack.calls_to("conversations.create")
    assert len(creates) <= MAX_NAME_TRIES
    assert len(running.slack.calls_to("conversations.list")) == 1  # read once, not per name


async def test_the_first_free_suffix_is_used_while_there_is_one(running: Running) -> None:
    squat(running, [BASE, f"{BASE}-2", f"{BASE}-3"])
    await running.command("declare Suspicious login sev2")
    await running.settle()
    [channel] = bridge_channels(running)
    assert channel.name == f"{BASE}-4"
    assert (await incident_row(running)).channel_id == channel.id


async def test_a_channel_the_bot_created_earlier_under_a_random_name_is_adopted(
    running: Running,
) -> None:
    """An earlier attempt reached Slack (then crashed before recording it): the retry adopts that
    channel instead of creating a second one."""
    squat(running, [BASE, *(f"{BASE}-{n}" for n in range(2, 6))], private_every=99)
    bot = running.slack.bot_user_id
    earlier = running.slack.add_channel(f"{BASE}-q7x2k9", creator=bot, members=[bot])
    await running.command("declare Suspicious login sev2")
    await running.settle()
    assert [c.id for c in bridge_channels(running)] == [earlier]
    assert (await incident_row(running)).channel_id == earlier
    assert any(
        m.ts in running.slack.channels[earlier].pins for m in running.slack.messages(earlier)
    )


async def test_a_bot_channel_of_another_title_or_archived_is_not_adopted(
    running: Running,
) -> None:
    bot = running.slack.bot_user_id
    other = running.slack.add_channel("inc-1-disk-full-abc123", creator=bot, members=[bot])
    archived = running.slack.add_channel(f"{BASE}-2", creator=bot, members=[bot])
    running.slack.channels[archived].is_archived = True
    squat(running, [BASE])
    await running.command("declare Suspicious login sev2")
    await running.settle()
    row = await incident_row(running)
    assert row.channel_id not in (other, archived)
    assert row.channel_name == f"{BASE}-3"


def test_names_keep_slacks_rules_and_never_repeat() -> None:
    names = ChannelNames("inc", 12345, "A Very Long Title " * 10 + "with Ünïcode. and periods")
    taken: set[str] = set()
    for _ in range(MAX_NAME_TRIES):
        name = names.next(taken)
        assert len(name) <= CHANNEL_NAME_MAX and CHANNEL_NAME.fullmatch(name), name
        assert name.startswith("inc-12345-") and names.includes(name)
        assert name not in taken
        taken.add(name)
    assert names.fixed[0] == "inc-12345-" + ("a-very-long-title-" * 10)[: 80 - 10].rstrip("-")
    assert not names.includes("inc-12345-a-very-long-title-a-very-lo-xyz")
    assert not names.includes("inc-1234-a-very")
