"""What one user of the sandbox sees, as JSON for the web client, read from the emulator's state.

Nothing here is kept apart from the emulator: channels, messages (with their blocks, files,
pins and edits), the user's ephemeral messages and the modal open for them are read as they
are each time. `version` changes whenever anything the client may show changes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bridgekeeper.sandbox.state import Channel, Ephemeral, JsonDict, Message, View, Workspace


def snapshot(ws: Workspace, user: str) -> JsonDict:
    channels = [c for c in ws.channels.values() if visible_to(c, user)]
    return {
        "me": user,
        "users": {u.id: u.name for u in ws.users.values()},
        "channel_names": {c.id: c.name for c in channels if not c.is_im},
        "channels": [channel_json(ws, c, user) for c in _ordered(channels)],
        "modal": modal_json(ws, user),
        "home": home_json(ws, user),
    }


def visible_to(channel: Channel, user: str) -> bool:
    """Public channels for everyone; private ones and direct messages for their members."""
    return not (channel.is_private or channel.is_im) or user in channel.members


def _ordered(channels: list[Channel]) -> list[Channel]:
    return sorted(channels, key=lambda c: (c.is_im, c.is_archived, c.created, c.id))


def channel_json(ws: Workspace, channel: Channel, user: str) -> JsonDict:
    messages = [message_json(ws, m, channel) for m in channel.messages if not m.deleted]
    ephemerals = [
        ephemeral_json(e) for e in ws.ephemerals if e.channel == channel.id and e.user == user
    ]
    return {
        "id": channel.id,
        "name": channel.name,
        "kind": "im" if channel.is_im else ("private" if channel.is_private else "public"),
        "archived": channel.is_archived,
        "member": user in channel.members,
        "topic": channel.topic,
        "purpose": channel.purpose,
        "messages": sorted(messages + ephemerals, key=lambda m: float(m["ts"] or 0)),
    }


def message_json(ws: Workspace, message: Message, channel: Channel) -> JsonDict:
    author = ws.users.get(message.user)
    return {
        "ts": message.ts,
        "user": message.user,
        "author": author.name if author else message.user,
        "bot": bool(message.bot_id) or bool(author and author.is_bot),
        "text": message.text,
        "blocks": message.blocks,
        "files": [_file(f) for f in message.files],
        "edited": bool(message.edits) or message.edited_ts is not None,
        "pinned": message.ts in channel.pins,
        "in_thread": bool(message.thread_ts and message.thread_ts != message.ts),
        "reactions": {name: len(users) for name, users in message.reactions.items()},
        "ephemeral": False,
    }


def ephemeral_json(ephemeral: Ephemeral) -> JsonDict:
    return {
        "ts": ephemeral.ts,
        "user": "",
        "author": "bridgekeeper",
        "bot": True,
        "text": ephemeral.text,
        "blocks": ephemeral.blocks,
        "files": [],
        "edited": False,
        "pinned": False,
        "in_thread": bool(ephemeral.thread_ts),
        "reactions": {},
        "ephemeral": True,
    }


def _file(file: JsonDict) -> JsonDict:
    return {"id": file.get("id"), "name": file.get("name"), "title": file.get("title")}


def modal_json(ws: Workspace, user: str) -> JsonDict | None:
    """The view on top of the user's modal stack, with the errors the bot answered."""
    stack = ws.view_stacks.get(user) or []
    if not stack:
        return None
    view: View = ws.views[stack[-1]]
    if view.closed:
        return None
    body = view.view
    return {
        "id": view.id,
        "title": _text(body.get("title")),
        "submit": _text(body.get("submit")),
        "close": _text(body.get("close")) or "Cancel",
        "blocks": body.get("blocks", []),
        "errors": dict(view.errors),
        "hash": body.get("hash"),
    }


def home_json(ws: Workspace, user: str) -> JsonDict | None:
    """The App Home tab the bot published for the user (views.publish), if it did."""
    home = ws.home_view(user)
    return None if home is None else {"id": home.id, "blocks": home.view.get("blocks", [])}


def _text(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def version_key(ws: Workspace) -> str:
    """A digest of everything a client may show; it changes when any of it does."""
    parts = [
        [
            (
                c.id,
                c.name,
                c.is_private,
                c.is_archived,
                c.topic,
                c.purpose,
                sorted(c.members),
                c.pins,
                [_message_key(m) for m in c.messages],
            )
            for c in ws.channels.values()
        ],
        [(e.channel, e.user, e.ts) for e in ws.ephemerals],
        [(v.id, v.closed, v.errors, v.view.get("hash")) for v in ws.views.values()],
        {user: list(stack) for user, stack in ws.view_stacks.items()},
    ]
    encoded = json.dumps(parts, default=str, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()


def _message_key(message: Message) -> Any:
    return (
        message.ts,
        message.text,
        message.blocks,
        message.deleted,
        len(message.edits),
        message.edited_ts,
        message.files,
        message.reactions,
    )
