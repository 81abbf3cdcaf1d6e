"""response_url handling (slash commands, actions, shortcuts) and the mention-safety scan."""

from __future__ import annotations

import secrets
from typing import Any

from bridgekeeper.sandbox.blocks import MESSAGE_MAX_BLOCKS, check_blocks
from bridgekeeper.sandbox.state import Ephemeral, JsonDict, Message, ResponseUrl, Workspace

RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_TTL_SECONDS = 30 * 60
UNSAFE_MARKERS = ("<!here", "<!channel", "<!everyone", "<!subteam")


def issue_response_url(
    ws: Workspace, kind: str, channel: str | None, user: str | None, message_ts: str | None
) -> str:
    path = f"/{kind}/{ws.team_id}/{ws.new_id('')[1:]}/{secrets.token_urlsafe(18)}"
    ws.response_urls[path] = ResponseUrl(path, ws.clock(), channel, user, message_ts)
    return ws.base_url + path


def response_problem(ws: Workspace, path: str, body: Any) -> str | None:
    """Why Slack would refuse this post (HTTP 404/400 body), or None if it is accepted."""
    record = ws.response_urls.get(path)
    if record is None:
        return "no_active_hooks"
    if ws.clock() - record.created > RESPONSE_URL_TTL_SECONDS:
        return "expired_url"
    if record.uses >= RESPONSE_URL_MAX_USES:
        return "used_url"
    if not isinstance(body, dict):
        return "invalid_payload"
    if body.get("blocks") is not None and check_blocks(
        body["blocks"], max_blocks=MESSAGE_MAX_BLOCKS
    ):
        return "invalid_blocks"
    if not body.get("delete_original") and not body.get("text") and not body.get("blocks"):
        return "no_text"
    return None


def apply_response(ws: Workspace, path: str, body: JsonDict) -> None:
    """Apply an accepted post: delete/replace the original, post in channel, or ephemeral."""
    record = ws.response_urls[path]
    record.uses += 1
    original = _original(ws, record)
    text, blocks = str(body.get("text") or ""), list(body.get("blocks") or [])
    if body.get("delete_original") and original is not None:
        original.deleted = True
    elif _is_true(body.get("replace_original")) and original is not None:
        if original.original is None:
            original.original = (original.text, list(original.blocks))
        original.text, original.blocks = text, blocks
        original.edits.append((text, list(blocks)))
    elif body.get("response_type") == "in_channel" and record.channel in ws.channels:
        _post_in_channel(ws, record.channel or "", text, blocks, body.get("thread_ts"))
    elif not body.get("delete_original"):
        channel, user = record.channel or "", record.user or ""
        ws.ephemerals.append(Ephemeral(channel, user, text, blocks, ws.new_ts()))


def _is_true(value: Any) -> bool:
    return value is True or value == "true"


def _original(ws: Workspace, record: ResponseUrl) -> Message | None:
    channel = ws.channels.get(record.channel or "")
    if channel is None or record.message_ts is None:
        return None
    return ws.find_message(channel, record.message_ts)


def _post_in_channel(
    ws: Workspace, channel_id: str, text: str, blocks: list[JsonDict], thread_ts: Any
) -> None:
    message = Message(
        ts=ws.new_ts(),
        user=ws.bot_user_id,
        text=text,
        blocks=blocks,
        channel=channel_id,
        thread_ts=str(thread_ts) if thread_ts else None,
        bot_id=ws.bot_id,
    )
    ws.channels[channel_id].messages.append(message)


# mention safety ----------------------------------------------------------------------------------


def is_unsafe(text: str, blocks: list[JsonDict]) -> bool:
    """Broadcast mentions where Slack parses them: text and mrkdwn objects (not plain_text)."""
    haystack = "\n".join([text, *_mrkdwn_texts(blocks)])
    return any(marker in haystack for marker in UNSAFE_MARKERS)


def _mrkdwn_texts(node: object) -> list[str]:
    if isinstance(node, list):
        return [t for item in node for t in _mrkdwn_texts(item)]
    if not isinstance(node, dict):
        return []
    if node.get("type") == "plain_text":
        return []
    if node.get("type") == "mrkdwn":
        return [str(node.get("text", ""))]
    return [t for value in node.values() for t in _mrkdwn_texts(value)]


def unsafe_items(ws: Workspace) -> list[Message]:
    """Messages (and their edits), ephemerals, topics and purposes carrying broadcast mentions.

    Ephemerals, topics and purposes are reported as Message objects with subtype "ephemeral",
    "channel_topic" or "channel_purpose".
    """
    found: list[Message] = []
    for channel in ws.channels.values():
        found += [m for m in channel.messages if _message_unsafe(m)]
        for subtype, value in (
            ("channel_topic", channel.topic),
            ("channel_purpose", channel.purpose),
        ):
            if is_unsafe(value, []):
                found.append(
                    Message("", channel.creator, value, channel=channel.id, subtype=subtype)
                )
    for eph in ws.ephemerals:
        if is_unsafe(eph.text, eph.blocks):
            found.append(
                Message(
                    eph.ts, eph.user, eph.text, eph.blocks, channel=eph.channel, subtype="ephemeral"
                )
            )
    return found


def _message_unsafe(message: Message) -> bool:
    versions = [(message.text, message.blocks), *message.edits]
    if message.original is not None:
        versions.append(message.original)
    return any(is_unsafe(text, blocks) for text, blocks in versions)
