"""What a person does in the web client, played as Slack would: signed requests through the
driver to the bot, and the emulator's state changed the way Slack's own client changes it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

import aiohttp

from bridgekeeper.sandbox.api_views import close_stack
from bridgekeeper.sandbox.client.snapshot import visible_to
from bridgekeeper.sandbox.state import Ephemeral, JsonDict, Message, Workspace

if TYPE_CHECKING:
    from bridgekeeper.sandbox.client.server import Sandbox

COMMAND = "/incident"
EXAMPLES = resources.files("bridgekeeper.sandbox") / "examples"
# The examples are written as if sent at this moment; sending moves their times to now.
WRITTEN_AT = datetime(2026, 1, 1, tzinfo=UTC)
CONTENT_TYPES = {  # else application/json
    "cloudevents": "application/cloudevents+json",
    "aws-sns": "text/plain; charset=UTF-8",
}
MENTION = re.compile(r"(?<![\w@#&])([@#])([a-z0-9][a-z0-9._-]*)", re.IGNORECASE)
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


class Refused(ValueError):
    """What the person asked cannot be done (HTTP 400 with this message)."""


async def command(sandbox: Sandbox, *, user: str, channel: str, text: str) -> JsonDict:
    """A slash command: sent signed to the bot; its ack is shown as Slack shows it."""
    name, _, rest = text.strip().partition(" ")
    if name != COMMAND:
        raise Refused(f"{name or text} is not a command here: try {COMMAND} help")
    typed = as_sent(sandbox.slack.state, rest.strip(), user=user)
    reply = await sandbox.driver.command(typed, user=user, channel=channel)
    show_ack(sandbox.slack.state, channel=channel, user=user, body=reply.body)
    return {"status": reply.status}


def show_ack(ws: Workspace, *, channel: str, user: str, body: Any) -> None:
    """Slack shows a command's ack body to its author alone, or in the channel if asked."""
    if isinstance(body, str):
        body = {"text": body} if body.strip() else {}
    if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
        return
    text, blocks = str(body.get("text") or ""), list(body.get("blocks") or [])
    if body.get("response_type") == "in_channel":
        ws.channels[channel].messages.append(
            Message(
                ws.new_ts(),
                ws.bot_user_id,
                text,
                blocks,
                channel=channel,
                bot_id=ws.bot_id,
            )
        )
        return
    ws.ephemerals.append(Ephemeral(channel, user, text, blocks, ws.new_ts()))


def as_sent(ws: Workspace, text: str, *, user: str) -> str:
    """The text as Slack sends it (with the command's should_escape): `& < >` escaped, and
    @name and #channel that the person can see turned into <@U…|name> and <#C…|name>."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    people = {u.name.lower(): u.id for u in ws.users.values() if not u.deleted}

    def linked(match: re.Match[str]) -> str:
        sigil, name = match.groups()
        if sigil == "@" and name.lower() in people:
            return f"<@{people[name.lower()]}|{name}>"
        channel = ws.channel_by_name(name) if sigil == "#" else None
        if channel is not None and visible_to(channel, user):
            return f"<#{channel.id}|{channel.name}>"
        return match.group(0)

    return MENTION.sub(linked, escaped)


async def message(sandbox: Sandbox, *, user: str, channel: str, text: str) -> JsonDict:
    """A plain message: stored as the user's, then Slack's `message` event goes to the bot."""
    if not text.strip():
        raise Refused("the message is empty")
    target = sandbox.slack.channels[channel]
    if target.is_archived:
        raise Refused("the channel is archived")
    if user not in target.members:
        await join(sandbox, user=user, channel=channel)
    posted = sandbox.slack.post_user_message(
        channel, user, as_sent(sandbox.slack.state, text, user=user)
    )
    event = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": posted.text,
        "ts": posted.ts,
        "event_ts": posted.ts,
        "channel_type": "im" if target.is_im else "channel",
    }
    reply = await sandbox.driver.event(event)
    return {"status": reply.status}


async def join(sandbox: Sandbox, *, user: str, channel: str) -> JsonDict:
    """The person joins a public channel; Slack tells the bot (member_joined_channel)."""
    ws, target = sandbox.slack.state, sandbox.slack.channels[channel]
    if target.is_private or target.is_im or target.is_archived:
        raise Refused("only an open public channel can be joined")
    if user in target.members:
        return {"status": 200}
    target.members.add(user)
    event = {
        "type": "member_joined_channel",
        "user": user,
        "channel": channel,
        "channel_type": "C",
        "team": ws.team_id,
        "event_ts": ws.new_ts(),
    }
    reply = await sandbox.driver.event(event)
    return {"status": reply.status}


async def open_home(sandbox: Sandbox, *, user: str) -> JsonDict:
    """The person opens the app's Home tab: Slack sends app_home_opened each time."""
    reply = await sandbox.driver.app_home_opened(user=user)
    return {"status": reply.status}


async def click(sandbox: Sandbox, *, user: str, action: JsonDict) -> JsonDict:
    """A button on a message (channel + ts), an ephemeral message (channel) or a modal."""
    reply = await sandbox.driver.block_action(
        user=user,
        action_id=str(action["action_id"]),
        value=str(action.get("value") or ""),
        block_id=str(action.get("block_id") or ""),
        channel=action.get("channel") or None,
        message_ts=action.get("ts") or None,
        view_id=action.get("view_id") or None,
    )
    return {"status": reply.status}


async def submit(sandbox: Sandbox, *, user: str, view_id: str, fields: JsonDict) -> JsonDict:
    """view_submission with the form's values; the bot's ack (errors, update...) applied."""
    view = sandbox.slack.views.get(view_id)
    if view is None or view.closed or view.user != user:
        raise Refused("this form is no longer open")
    values = form_values(view.view.get("blocks", []), fields, sandbox.slack.state)
    reply = await sandbox.driver.view_submission(user=user, view_id=view_id, values=values)
    return {"status": reply.status, "errors": view.errors}


def close(sandbox: Sandbox, *, user: str) -> JsonDict:
    """The person dismisses the modal: Slack closes the whole stack."""
    close_stack(sandbox.slack.state, user)
    return {"status": 200}


def form_values(blocks: list[JsonDict], fields: JsonDict, ws: Workspace) -> JsonDict:
    """Slack's `view.state.values` for the input blocks, from what the person entered."""
    values: JsonDict = {}
    for block in blocks:
        element = block.get("element") or {}
        if block.get("type") != "input" or "block_id" not in block:
            continue
        entered = fields.get(block["block_id"])
        action_id = str(element.get("action_id") or "value")
        values[block["block_id"]] = {action_id: element_state(element, entered, ws)}
    return values


def element_state(element: JsonDict, entered: Any, ws: Workspace) -> JsonDict:
    kind = str(element.get("type"))
    chosen = (
        [str(v) for v in entered]
        if isinstance(entered, list)
        else ([str(entered)] if entered not in (None, "") else [])
    )
    state: JsonDict = {"type": kind}
    if kind in ("static_select", "radio_buttons"):
        options = [o for o in _options(element) if o.get("value") in chosen]
        state["selected_option"] = options[0] if options else None
    elif kind in ("multi_static_select", "checkboxes"):
        state["selected_options"] = [o for o in _options(element) if o.get("value") in chosen]
    elif kind == "users_select":
        state["selected_user"] = chosen[0] if chosen and chosen[0] in ws.users else None
    elif kind == "multi_users_select":
        state["selected_users"] = [u for u in chosen if u in ws.users]
    elif kind == "conversations_select":
        state["selected_conversation"] = chosen[0] if chosen else None
    elif kind == "datepicker":
        state["selected_date"] = chosen[0] if chosen else None
    else:
        state["value"] = chosen[0] if chosen else None
    return state


def _options(element: JsonDict) -> list[JsonDict]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    return options


def example_sources() -> list[str]:
    """The alert sources with an example, from the files shipped in the package."""
    return sorted(
        p.name.removesuffix(".json") for p in EXAMPLES.iterdir() if p.name.endswith(".json")
    )


async def send_alert(sandbox: Sandbox, *, source: str) -> JsonDict:
    """POST the source's example to bridgekeeper's alert webhook, as the monitoring tool would."""
    if source not in example_sources():
        raise Refused(f"no example alert for {source!r}")
    body = restamped((EXAMPLES / f"{source}.json").read_text("utf-8"), datetime.now(UTC))
    if source == "aws-sns":  # SNS signs each delivery, and bridgekeeper checks the signature
        body = json.dumps(sandbox.sns.delivered(json.loads(body), base_url=sandbox.url))
    headers = {
        "Authorization": f"Bearer {sandbox.alert_token}",
        "Content-Type": CONTENT_TYPES.get(source, "application/json"),
    }
    url = f"{sandbox.bot_url}/alerts/{source}"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        text = await response.text()
    try:
        answer: Any = json.loads(text)
    except ValueError:
        answer = text
    return {"status": response.status, "answer": answer}


def restamped(text: str, now: datetime) -> str:
    """The example's times moved by as long as has passed since WRITTEN_AT (ISO 8601 times,
    and Unix times in seconds or milliseconds), so the alert reads as happening now."""
    shift = now - WRITTEN_AT

    def moved(match: re.Match[str]) -> str:
        when = datetime.fromisoformat(match.group(0)) + shift
        return when.strftime("%Y-%m-%dT%H:%M:%S")

    seconds, written = int(now.timestamp()), int(WRITTEN_AT.timestamp())
    text = ISO_TIME.sub(moved, text)
    text = text.replace(str(written * 1000), str(seconds * 1000))
    return text.replace(str(written), str(seconds))
