"""The App Home tab, driven from outside: people open it (app_home_opened, signed like Slack's),
and the tests read the view bridgekeeper published for each of them in the emulator."""

from __future__ import annotations

import json

import pytest

from bridgekeeper.config.settings import ConsoleSettings
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel, View
from bridgekeeper.services.home import LIST_MAX
from tests.conftest import Running, bridgekeepers

pytestmark = pytest.mark.both_transports

SECRET = "Payroll exfiltration by contractor"
MINE, TASKS, OTHERS = "*Your incidents*", "*Your open tasks*", "*Other open incidents*"


async def open_home(running: Running, user: str) -> str:
    """What `user` sees on the tab after opening it: every text of the published view."""
    reply = await running.driver.app_home_opened(user=user)
    assert reply.status == 200
    await running.settle()
    return seen(home_of(running, user))


def home_of(running: Running, user: str) -> View:
    view = running.slack.state.home_view(user)
    assert view is not None, f"no home tab published for {user}"
    return view


def seen(view: View) -> str:
    texts = []
    for block in view.view["blocks"]:
        if "text" in block:
            texts.append(block["text"]["text"])
        for element in block.get("elements", []):
            texts.append(
                element["text"]["text"] if element["type"] == "button" else element["text"]
            )
    return "\n".join(texts)


def part(tab: str, start: str) -> str:
    """One list of the tab: from its heading to the next one."""
    rest = tab.split(start, 1)[1]
    ends = [rest.find(h) for h in (MINE, TASKS, OTHERS) if h in rest]
    return rest[: min(ends)] if ends else rest


async def say(running: Running, text: str, *, user: str = "U0ALICE", channel: str = "") -> None:
    reply = await running.command(text, user=user, channel=channel or None)
    assert reply.status == 200
    await running.settle()


def bridge(running: Running, number: int) -> Channel:
    [channel] = [c for c in running.slack.channels.values() if c.name.startswith(f"inc-{number}-")]
    return channel


# -- what the tab lists --------------------------------------------------------------------------
async def test_the_tab_lists_your_incidents_with_your_roles_and_the_other_open_ones(
    running: Running,
) -> None:
    await say(running, "declare Suspicious login <!channel> & co sev2")
    await say(running, "declare Website slow sev3", user="U0BOB")
    await say(running, "role deputy <@U0BOB>", channel=bridge(running, 1).id)

    alice = await open_home(running, "U0ALICE")
    mine = part(alice, MINE)
    assert "*1* Suspicious login &lt;!channel&gt; &amp; co · SEV2 · Detect" in mine
    assert "you are commander" in mine and "changed &lt;1m ago" in mine
    assert f"<#{bridge(running, 1).id}>" in mine
    assert "Website slow" not in mine
    others = part(alice, OTHERS)
    assert "*2* Website slow · SEV3" in others and f"<#{bridge(running, 2).id}>" in others
    assert "<!channel>" not in json.dumps(home_of(running, "U0ALICE").view)

    bob = await open_home(running, "U0BOB")
    assert "*1* Suspicious login" in part(bob, MINE) and "you are deputy" in part(bob, MINE)
    assert "*2* Website slow" in part(bob, MINE) and "you are commander" in part(bob, MINE)
    assert "None right now." in part(bob, OTHERS)
    assert "Declare an incident" in bob


async def test_a_private_incident_does_not_exist_on_an_outsiders_tab(managed: Running) -> None:
    await say(managed, f"declare {SECRET} sev1 private")
    await say(managed, "declare Website slow sev3", user="U0BOB")

    dave = await open_home(managed, "U0DAVE")
    published = json.dumps(home_of(managed, "U0DAVE").view["blocks"])
    assert SECRET not in published and "private" not in published and "*1*" not in dave
    assert "You are in no open incident." in part(dave, MINE)
    others = part(dave, OTHERS)
    assert others.count("•") == 1 and "*2* Website slow" in others and "more" not in others

    alice = await open_home(managed, "U0ALICE")  # a member: its number, never its title
    assert "*1* :lock: private incident · SEV1 · Detect · you are commander" in part(alice, MINE)
    assert SECRET not in json.dumps(home_of(managed, "U0ALICE").view)
    carol = await open_home(managed, "U0CAROL")  # an incident manager sees it exists
    assert "*1* :lock: private incident" in part(carol, OTHERS)
    assert SECRET not in json.dumps(home_of(managed, "U0CAROL").view)


async def test_open_tasks_are_listed_for_their_assignee_only(running: Running) -> None:
    await say(running, "declare Suspicious login sev2")
    channel = bridge(running, 1).id
    await say(running, "task block the attacker IP <@U0BOB>", channel=channel)
    await say(running, "task reset passwords <@U0ALICE>", channel=channel)
    await say(running, "task look around", channel=channel)

    bob = part(await open_home(running, "U0BOB"), TASKS)
    assert "Incident *1*, task 1: block the attacker IP" in bob
    assert "reset passwords" not in bob and "look around" not in bob
    alice = part(await open_home(running, "U0ALICE"), TASKS)
    assert "task 2: reset passwords" in alice and "attacker" not in alice
    dave = part(await open_home(running, "U0DAVE"), TASKS)
    assert "No open tasks are assigned to you." in dave

    await say(running, "task done 1", channel=channel, user="U0BOB")
    bob = part(await open_home(running, "U0BOB"), TASKS)
    assert "attacker" not in bob and "No open tasks are assigned to you." in bob


async def test_an_opened_tab_follows_the_changes_it_shows(running: Running) -> None:
    await say(running, "declare Suspicious login sev2")
    channel = bridge(running, 1).id
    before = part(await open_home(running, "U0ALICE"), MINE)
    assert "SEV2 · Detect" in before
    await say(running, "stage assess", channel=channel)
    await say(running, "task reset passwords <@U0ALICE>", channel=channel)
    await say(running, "role deputy <@U0BOB>", channel=channel)
    tab = seen(home_of(running, "U0ALICE"))  # not opened again
    assert "SEV2 · Assess · you are commander" in part(tab, MINE)
    assert "task 1: reset passwords" in part(tab, TASKS)
    assert running.slack.state.home_view("U0BOB") is None  # never opened: nothing published

    await say(running, "task done 1", channel=channel)
    assert "No open tasks are assigned to you." in part(seen(home_of(running, "U0ALICE")), TASKS)


async def test_someone_in_no_incident_is_told_how_to_start_one(running: Running) -> None:
    dave = await open_home(running, "U0DAVE")
    assert "You are in no open incident." in dave
    assert "No open tasks are assigned to you." in dave
    assert "No open incidents right now." in dave
    assert "/incident declare &lt;title&gt;" in dave and "Declare an incident" in dave


async def test_the_tab_links_the_web_console_when_it_is_served(
    db_url: str, emulator: SlackEmulator
) -> None:
    console = ConsoleSettings(
        public_url="https://bridgekeeper.example.com",
        session_secret="s" * 32,
        client_id="1.2",
        client_secret="c",
    )
    async with bridgekeepers(db_url, emulator) as start:
        served = await start(console=console)
        tab = await open_home(served, "U0DAVE")
    assert "<https://bridgekeeper.example.com/console/|Open the web console>" in tab


async def test_no_console_link_without_the_console(running: Running) -> None:
    assert "web console" not in await open_home(running, "U0DAVE")


async def test_long_lists_are_capped_within_slacks_limit(running: Running) -> None:
    for n in range(LIST_MAX + 3):
        await running.bk.incidents.declare(user="U0BOB", title=f"Noisy disk {n}")
    await running.settle(timeout=60)
    alice = await open_home(running, "U0ALICE")
    assert part(alice, OTHERS).count("•") == LIST_MAX and "… and 3 more" in alice
    assert len(home_of(running, "U0ALICE").view["blocks"]) <= 100


# -- the Declare button --------------------------------------------------------------------------
def declare_form(running: Running, user: str) -> View:
    [form] = [
        v
        for v in running.slack.views.values()
        if v.user == user and v.view["callback_id"] == "home_declare" and not v.closed
    ]
    return form


def chosen(value: str) -> dict[str, object]:
    return {"value": {"type": "static_select", "selected_option": {"value": value}}}


def typed(value: str) -> dict[str, object]:
    return {"value": {"type": "plain_text_input", "value": value}}


async def test_the_declare_button_declares_an_incident_with_its_bridge_channel(
    running: Running,
) -> None:
    await open_home(running, "U0DAVE")
    home = home_of(running, "U0DAVE")
    click = await running.driver.block_action(
        user="U0DAVE", action_id="home_declare", value="new", view_id=home.id
    )
    assert click.status == 200
    await running.settle()
    form = declare_form(running, "U0DAVE")

    empty = await running.driver.view_submission(
        user="U0DAVE",
        view_id=form.id,
        values={"title": typed("  "), "severity": {}, "visibility": chosen("public")},
    )
    assert empty.body["response_action"] == "errors" and "title" in empty.body["errors"]
    assert not [c for c in running.slack.channels.values() if c.name.startswith("inc-")]

    sent = await running.driver.view_submission(
        user="U0DAVE",
        view_id=form.id,
        values={
            "title": typed("Printer on fire"),
            "severity": chosen("sev2"),
            "visibility": chosen("private"),
        },
    )
    assert sent.status == 200 and sent.body in ("", None) and form.closed
    await running.settle()
    channel = bridge(running, 1)
    assert channel.name == "inc-1-printer-on-fire" and channel.is_private
    assert "U0DAVE" in channel.members
    # the tab shows the new incident without being opened again
    mine = part(seen(home_of(running, "U0DAVE")), MINE)
    assert "*1* :lock: private incident · SEV2 · Detect · you are commander" in mine


# -- redelivery ----------------------------------------------------------------------------------
async def test_a_redelivered_open_does_no_harm(running: Running) -> None:
    await say(running, "declare Suspicious login sev2")
    first = await running.driver.app_home_opened(user="U0ALICE", event_id="EvHOME1")
    await running.settle()
    home = home_of(running, "U0ALICE")
    published, shown = len(home.updates), seen(home)
    again = await running.driver.app_home_opened(user="U0ALICE", event_id="EvHOME1", retry_num=1)
    await running.settle()
    assert first.status == again.status == 200
    assert len(home.updates) == published and seen(home) == shown

    messages = await running.driver.app_home_opened(user="U0ALICE", tab="messages")
    await running.settle()
    assert messages.status == 200 and len(home.updates) == published

    reopened = await open_home(running, "U0ALICE")  # a new open: the same tab, published again
    assert len(home.updates) == published + 1 and part(reopened, MINE) == part(shown, MINE)
    homes = [v for v in running.slack.views.values() if v.source == "publish"]
    assert [v.user for v in homes] == ["U0ALICE"]
