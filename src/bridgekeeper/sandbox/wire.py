"""Reading the fake Web API's requests, argument parsing, and the JSON shapes of its answers
(what real Slack sends back)."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bridgekeeper.sandbox.state import ApiError, Channel, JsonDict, Message, User, Workspace

TRUE_VALUES = {"1", "true", "True", "yes"}


class Args:
    """Merged request arguments (query + form + JSON) with Slack-style coercions."""

    def __init__(self, data: JsonDict) -> None:
        self.data = data

    def has(self, name: str) -> bool:
        value = self.data.get(name)
        return value is not None and value != ""

    def text(self, name: str, default: str = "") -> str:
        value = self.data.get(name)
        if value is None:
            return default
        return value if isinstance(value, str) else str(value)

    def required(self, name: str, error: str | None = None) -> str:
        if not self.has(name):
            if error:
                raise ApiError(error)
            raise ApiError("invalid_arguments", f"[ERROR] missing required field: {name}")
        return self.text(name)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value) in TRUE_VALUES

    def number(self, name: str, default: int) -> int:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError("invalid_arguments", f"[ERROR] {name} must be an integer") from None

    def json_value(self, name: str) -> Any:
        """A JSON argument that may arrive as a real JSON value or as a JSON-encoded string."""
        value = self.data.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError("invalid_arguments", f"[ERROR] {name} is not valid JSON") from None

    def items(self, name: str) -> list[str]:
        """A comma-separated list argument ("U1,U2") or a real JSON list."""
        value = self.data.get(name)
        if isinstance(value, list):
            return [str(item) for item in value]
        return [part.strip() for part in self.text(name).split(",") if part.strip()]


# paging -------------------------------------------------------------------------------------


def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"next:{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    if not cursor:
        return 0
    try:
        prefix, _, number = base64.b64decode(cursor.encode()).decode().partition(":")
        offset = int(number)
    except ValueError:
        raise ApiError("invalid_cursor") from None
    if prefix != "next" or offset < 0:
        raise ApiError("invalid_cursor")
    return offset


def page(items: list[Any], args: Args, default_limit: int = 100) -> tuple[list[Any], str]:
    """Slice items by cursor/limit; returns the page and the next cursor ("" at the end)."""
    offset = decode_cursor(args.text("cursor"))
    limit = args.number("limit", default_limit) or default_limit
    limit = max(1, min(limit, 1000))
    chunk = items[offset : offset + limit]
    more = offset + limit < len(items)
    return chunk, encode_cursor(offset + limit) if more else ""


# shapes -------------------------------------------------------------------------------------


def channel_json(ws: Workspace, channel: Channel) -> JsonDict:
    body: JsonDict = {
        "id": channel.id,
        "created": channel.created,
        "is_archived": channel.is_archived,
        "is_im": channel.is_im,
        "is_org_shared": False,
        "context_team_id": ws.team_id,
        "updated": channel.created * 1000,
    }
    if channel.is_im:
        other = next((m for m in channel.members if m != ws.bot_user_id), "")
        return {**body, "user": other, "is_open": True}
    return {
        **body,
        "name": channel.name,
        "name_normalized": channel.name,
        "is_channel": True,
        "is_group": False,
        "is_mpim": False,
        "is_private": channel.is_private,
        "is_general": False,
        "is_shared": False,
        "is_ext_shared": False,
        "is_pending_ext_shared": False,
        "creator": channel.creator,
        "unlinked": 0,
        "is_member": ws.bot_user_id in channel.members,
        "topic": _text_meta(channel.topic, channel.topic_meta),
        "purpose": _text_meta(channel.purpose, channel.purpose_meta),
        "previous_names": [],
    }


def _text_meta(value: str, meta: tuple[str, int]) -> JsonDict:
    return {"value": value, "creator": meta[0], "last_set": meta[1]}


def message_json(ws: Workspace, message: Message, *, with_metadata: bool = True) -> JsonDict:
    body: JsonDict = {
        "type": "message",
        "user": message.user,
        "text": message.text,
        "ts": message.ts,
        "team": ws.team_id,
    }
    if message.bot_id:
        body.update(bot_id=message.bot_id, app_id=ws.app_id)
    if message.subtype:
        body["subtype"] = message.subtype
    if message.blocks:
        body["blocks"] = message.blocks
    if message.thread_ts:
        body["thread_ts"] = message.thread_ts
    if message.files:
        body.update(files=message.files, upload=True)
    if message.edits:
        body["edited"] = {"user": message.user, "ts": message.edited_ts or message.ts}
    if message.reactions:
        body["reactions"] = reactions_json(message)
    if message.metadata and with_metadata:
        body["metadata"] = message.metadata
    return body


def reactions_json(message: Message) -> list[JsonDict]:
    return [
        {"name": name, "users": list(users), "count": len(users)}
        for name, users in message.reactions.items()
        if users
    ]


def user_json(ws: Workspace, user: User) -> JsonDict:
    profile: JsonDict = {
        "real_name": user.name,
        "display_name": user.name,
        "real_name_normalized": user.name,
        "display_name_normalized": user.name,
        "team": ws.team_id,
        "image_48": "https://example.invalid/avatar_48.png",
    }
    if user.email:
        profile["email"] = user.email
    return {
        "id": user.id,
        "team_id": ws.team_id,
        "name": user.name,
        "real_name": user.name,
        "deleted": user.deleted,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "is_admin": False,
        "is_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "tz": user.tz,
        "tz_label": "Coordinated Universal Time",
        "tz_offset": 0,
        "updated": ws.now(),
        "profile": profile,
    }


# -- reading a request ------------------------------------------------------------------------
def bearer(request: web.Request) -> str:
    return bearer_token(request.headers.get("Authorization", ""))


def bearer_token(authorization: str) -> str:
    """The token of an `Authorization: Bearer ...` header ("" for any other)."""
    return authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""


async def read_args(request: web.Request) -> JsonDict:
    """Merge query string, urlencoded/multipart form and JSON body, like Slack does."""
    args: JsonDict = dict(request.query)
    body = await request.read()
    if not body:
        return args
    if request.content_type == "application/json" or body.lstrip().startswith(b"{"):
        args.update(_json_object(body))
    elif request.content_type.startswith("multipart/"):
        form = await request.post()
        args.update({key: value for key, value in form.items() if isinstance(value, str)})
    else:
        args.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return args


def _json_object(body: bytes) -> JsonDict:
    try:
        parsed = json.loads(body)
    except ValueError:
        raise ApiError("invalid_json") from None
    if not isinstance(parsed, dict):
        raise ApiError("json_not_object")
    return parsed
