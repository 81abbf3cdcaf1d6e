"""chat.* methods."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridgekeeper.sandbox.api_conversations import get_channel, require_open
from bridgekeeper.sandbox.blocks import MESSAGE_MAX_BLOCKS, check_blocks
from bridgekeeper.sandbox.state import ApiError, Channel, Ephemeral, JsonDict, Message, Workspace
from bridgekeeper.sandbox.wire import Args, message_json

TEXT_TRUNCATE_AT = 40_000
UPDATE_TEXT_MAX = 4_000


def post_target(ws: Workspace, value: str) -> Channel:
    """Resolve chat.postMessage's `channel`: an id, a name ("#name" or "name") or a user id (DM)."""
    if not value:
        raise ApiError("channel_not_found")
    channel = ws.channels.get(value)
    if channel is None:
        by_name = ws.channel_by_name(value.removeprefix("#"))
        channel = by_name if by_name is not None and ws.is_visible(by_name) else None
    if channel is None and value in ws.users:
        channel = ws.im_channel(value)
    if channel is None:
        raise ApiError("channel_not_found")
    require_open(channel)
    if channel.is_private and ws.bot_user_id not in channel.members:
        raise ApiError("not_in_channel")
    return channel


def content(args: Args, *, required: bool = True) -> tuple[str, list[JsonDict]]:
    """Validated (text, blocks) of a message; no_text / invalid_blocks like Slack."""
    text = args.text("text")
    blocks = args.json_value("blocks")
    has_other = args.has("attachments") or args.has("markdown_text") or args.has("file_ids")
    if required and not text and not blocks and not has_other:
        raise ApiError("no_text")
    if blocks is not None:
        errors = check_blocks(blocks, max_blocks=MESSAGE_MAX_BLOCKS)
        if errors:
            raise ApiError("invalid_blocks", *errors, errors=errors)
    return text[:TEXT_TRUNCATE_AT], list(blocks or [])


def metadata_arg(args: Args) -> JsonDict | None:
    metadata: Any = args.json_value("metadata")
    if metadata is None:
        return None
    if (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not isinstance(metadata.get("event_payload"), dict)
    ):
        raise ApiError("invalid_metadata_format")
    return {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}


def post_message(ws: Workspace, args: Args) -> JsonDict:
    channel = post_target(ws, args.text("channel"))
    text, blocks = content(args)
    message = Message(
        ts=ws.new_ts(),
        user=ws.bot_user_id,
        text=text,
        blocks=blocks,
        metadata=metadata_arg(args),
        thread_ts=args.text("thread_ts") or None,
        channel=channel.id,
        bot_id=ws.bot_id,
    )
    channel.messages.append(message)
    return {
        "ok": True,
        "channel": channel.id,
        "ts": message.ts,
        "message": message_json(ws, message),
    }


def own_message(ws: Workspace, args: Args, ts_name: str, not_yours: str) -> Message:
    channel = get_channel(ws, args.required("channel", "channel_not_found"))
    message = ws.find_message(channel, args.required(ts_name, "message_not_found"))
    if message is None:
        raise ApiError("message_not_found")
    if message.user != ws.bot_user_id:
        raise ApiError(not_yours)
    return message


def update(ws: Workspace, args: Args) -> JsonDict:
    message = own_message(ws, args, "ts", "cant_update_message")
    if len(args.text("text")) > UPDATE_TEXT_MAX:  # "text cannot exceed 4,000 characters"
        raise ApiError("msg_too_long")
    text, blocks = content(args)
    previous = message_json(ws, message)
    if message.original is None:
        message.original = (message.text, list(message.blocks))
    if args.has("text") or not args.has("blocks"):
        message.text = text
    if args.data.get("blocks") is not None:
        message.blocks = blocks
    if args.has("metadata"):
        message.metadata = metadata_arg(args)
    record_edit(ws, message, previous)
    return {
        "ok": True,
        "channel": message.channel,
        "ts": message.ts,
        "text": message.text,
        "message": message_json(ws, message),
    }


def record_edit(ws: Workspace, message: Message, previous: JsonDict) -> JsonDict:
    """Stamp an edit on `message` and emit Slack's `message_changed` event for it: the message as
    it is now (with `edited`), as it was, and the edit's time as the event's ts."""
    message.edits.append((message.text, list(message.blocks)))
    message.edited_ts = ws.new_ts()
    channel = ws.channels[message.channel]
    event: JsonDict = {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": channel.id,
        "channel_type": "group" if channel.is_private else "channel",
        "ts": message.edited_ts,
        "event_ts": message.edited_ts,
        "message": message_json(ws, message),
        "previous_message": previous,
    }
    ws.emit(event)
    return event


def delete(ws: Workspace, args: Args) -> JsonDict:
    message = own_message(ws, args, "ts", "cant_delete_message")
    message.deleted = True
    return {"ok": True, "channel": message.channel, "ts": message.ts}


def post_ephemeral(ws: Workspace, args: Args) -> JsonDict:
    channel = post_target(ws, args.text("channel"))
    user = args.required("user", "user_not_in_channel")
    if user not in channel.members:
        raise ApiError("user_not_in_channel")
    text, blocks = content(args)
    ts = ws.new_ts()
    thread_ts = args.text("thread_ts") or None
    ws.ephemerals.append(Ephemeral(channel.id, user, text, blocks, ts, thread_ts))
    return {"ok": True, "message_ts": ts}


def get_permalink(ws: Workspace, args: Args) -> JsonDict:
    channel = get_channel(ws, args.required("channel", "channel_not_found"))
    message = ws.find_message(channel, args.required("message_ts", "message_not_found"))
    if message is None:
        raise ApiError("message_not_found")
    link = (
        f"https://{ws.team_domain}.slack.com/archives/{channel.id}/p{message.ts.replace('.', '')}"
    )
    if message.thread_ts and message.thread_ts != message.ts:
        link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"ok": True, "channel": channel.id, "permalink": link}


METHODS: dict[str, Callable[[Workspace, Args], JsonDict]] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.delete": delete,
    "chat.postEphemeral": post_ephemeral,
    "chat.getPermalink": get_permalink,
}
