"""conversations.* methods."""

from __future__ import annotations

import re
from collections.abc import Callable

from bridgekeeper.sandbox.state import ApiError, Channel, JsonDict, Message, Workspace
from bridgekeeper.sandbox.wire import Args, channel_json, message_json, page

CHANNEL_NAME_MAX = 80
TEXT_META_MAX = 250
INVITE_MAX_USERS = 1000
CHANNEL_NAME = re.compile(r"[a-z0-9_-]+")


# shared helpers (also used by chat, pins, reactions...) ------------------------------------------


def get_channel(ws: Workspace, channel_id: str) -> Channel:
    """A channel the bot can see, else channel_not_found."""
    channel = ws.channels.get(channel_id)
    if channel is None or not ws.is_visible(channel):
        raise ApiError("channel_not_found")
    return channel


def channel_arg(ws: Workspace, args: Args, name: str = "channel") -> Channel:
    return get_channel(ws, args.required(name, "channel_not_found"))


def require_member(ws: Workspace, channel: Channel) -> None:
    if ws.bot_user_id not in channel.members:
        raise ApiError("not_in_channel")


def require_open(channel: Channel) -> None:
    if channel.is_archived:
        raise ApiError("is_archived")


def check_channel_name(name: str) -> None:
    if not name:
        raise ApiError("invalid_name_required")
    if len(name) > CHANNEL_NAME_MAX:
        raise ApiError("invalid_name_maxlength")
    if not CHANNEL_NAME.fullmatch(name):
        raise ApiError("invalid_name_specials")
    if not name.strip("-_"):
        raise ApiError("invalid_name_punctuation")


def member_joined(ws: Workspace, channel: Channel, user: str, inviter: str | None) -> None:
    event: JsonDict = {
        "type": "member_joined_channel",
        "user": user,
        "channel": channel.id,
        "channel_type": "C",
        "team": ws.team_id,
        "event_ts": ws.new_ts(),
    }
    if inviter:
        event["inviter"] = inviter
    ws.emit(event)


def ok_channel(ws: Workspace, channel: Channel) -> JsonDict:
    return {"ok": True, "channel": channel_json(ws, channel)}


# methods -----------------------------------------------------------------------------------------


def create(ws: Workspace, args: Args) -> JsonDict:
    name = args.text("name")
    check_channel_name(name)
    if ws.channel_by_name(name) is not None:
        raise ApiError("name_taken")
    channel = Channel(
        id=ws.new_id("C"),
        name=name,
        is_private=args.flag("is_private"),
        is_archived=False,
        creator=ws.bot_user_id,
        created=ws.now(),
        members={ws.bot_user_id},
    )
    ws.channels[channel.id] = channel
    member_joined(ws, channel, ws.bot_user_id, None)
    return ok_channel(ws, channel)


def info(ws: Workspace, args: Args) -> JsonDict:
    channel = channel_arg(ws, args)
    body = ok_channel(ws, channel)
    if args.flag("include_num_members"):
        body["channel"]["num_members"] = len(channel.members)
    return body


def invite(ws: Workspace, args: Args) -> JsonDict:
    channel = channel_arg(ws, args)
    require_open(channel)
    require_member(ws, channel)
    users = args.items("users")
    if not users:
        raise ApiError("no_user")
    if len(users) > INVITE_MAX_USERS:
        raise ApiError("too_many_users")
    problems = [(user, _invite_problem(ws, channel, user)) for user in users]
    codes = [code for _, code in problems if code]
    errors = [{"user": user, "ok": False, "error": code} for user, code in problems if code]
    if codes and (not args.flag("force") or len(codes) == len(users)):
        raise ApiError(codes[0], errors=errors)
    for user, code in problems:
        if code is None:
            channel.members.add(user)
            member_joined(ws, channel, user, ws.bot_user_id)
    body = ok_channel(ws, channel)
    if errors:
        body["errors"] = errors
    return body


def _invite_problem(ws: Workspace, channel: Channel, user_id: str) -> str | None:
    user = ws.users.get(user_id)
    if user_id == ws.bot_user_id:
        return "cant_invite_self"
    if user is None or user.deleted:
        return "user_not_found"
    if user_id in channel.members:
        return "already_in_channel"
    return None


def join(ws: Workspace, args: Args) -> JsonDict:
    channel = channel_arg(ws, args)
    if channel.is_private or channel.is_im:
        raise ApiError("method_not_supported_for_channel_type")
    require_open(channel)
    if ws.bot_user_id in channel.members:
        body = ok_channel(ws, channel)
        body["warning"] = "already_in_channel"
        body["response_metadata"] = {"warnings": ["already_in_channel"]}
        return body
    channel.members.add(ws.bot_user_id)
    member_joined(ws, channel, ws.bot_user_id, None)
    return ok_channel(ws, channel)


def members(ws: Workspace, args: Args) -> JsonDict:
    channel = channel_arg(ws, args)
    chunk, cursor = page(sorted(channel.members), args)
    return {"ok": True, "members": chunk, "response_metadata": {"next_cursor": cursor}}


def list_(ws: Workspace, args: Args) -> JsonDict:
    types = set(args.items("types") or ["public_channel"])
    exclude_archived = args.flag("exclude_archived")
    found = [
        channel
        for channel in ws.channels.values()
        if _channel_type(channel) in types
        and ws.is_visible(channel)
        and not (exclude_archived and channel.is_archived)
    ]
    chunk, cursor = page(found, args)
    return {
        "ok": True,
        "channels": [channel_json(ws, channel) for channel in chunk],
        "response_metadata": {"next_cursor": cursor},
    }


def _channel_type(channel: Channel) -> str:
    if channel.is_im:
        return "im"
    return "private_channel" if channel.is_private else "public_channel"


def history(ws: Workspace, args: Args) -> JsonDict:
    channel = channel_arg(ws, args)
    require_member(ws, channel)
    wanted = [m for m in reversed(channel.messages) if _in_history(m, args)]
    chunk, cursor = page(wanted, args)
    with_metadata = args.flag("include_all_metadata")
    return {
        "ok": True,
        "messages": [message_json(ws, m, with_metadata=with_metadata) for m in chunk],
        "has_more": bool(cursor),
        "pin_count": len(channel.pins),
        "response_metadata": {"next_cursor": cursor},
    }


def _in_history(message: Message, args: Args) -> bool:
    if message.deleted or (message.thread_ts and message.thread_ts != message.ts):
        return False
    inclusive = args.flag("inclusive")
    ts = float(message.ts)
    if args.has("latest") and not _before(ts, _ts_arg(args, "latest"), inclusive):
        return False
    return not (args.has("oldest") and not _before(_ts_arg(args, "oldest"), ts, inclusive))


def _before(low: float, high: float, inclusive: bool) -> bool:
    return low <= high if inclusive else low < high


def _ts_arg(args: Args, name: str) -> float:
    try:
        return float(args.text(name))
    except ValueError:
        raise ApiError(f"invalid_ts_{name}") from None


def replies(ws: Workspace, args: Args) -> JsonDict:
    channel = channel_arg(ws, args)
    require_member(ws, channel)
    ts = args.required("ts", "thread_not_found")
    parent = ws.find_message(channel, ts)
    if parent is None:
        raise ApiError("thread_not_found")
    thread = [
        m for m in channel.messages if not m.deleted and m.thread_ts == ts and m is not parent
    ]
    chunk, cursor = page([parent, *thread], args)
    return {
        "ok": True,
        "messages": [message_json(ws, m) for m in chunk],
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }


def _set_text(attribute: str, argument: str) -> Callable[[Workspace, Args], JsonDict]:
    def handler(ws: Workspace, args: Args) -> JsonDict:
        channel = channel_arg(ws, args)
        require_open(channel)
        require_member(ws, channel)
        value = args.text(argument)
        if len(value) > TEXT_META_MAX:
            raise ApiError("too_long")
        setattr(channel, attribute, value)
        setattr(channel, f"{attribute}_meta", (ws.bot_user_id, ws.now()))
        return ok_channel(ws, channel)

    return handler


def archive(ws: Workspace, args: Args) -> JsonDict:
    channel = channel_arg(ws, args)
    if channel.is_archived:
        raise ApiError("already_archived")
    require_member(ws, channel)
    channel.is_archived = True
    return {"ok": True}


def unarchive(ws: Workspace, args: Args) -> JsonDict:
    channel = channel_arg(ws, args)
    if not channel.is_archived:
        raise ApiError("not_archived")
    channel.is_archived = False
    return {"ok": True}


def open_(ws: Workspace, args: Args) -> JsonDict:
    users = args.items("users")
    if args.has("channel"):
        return ok_channel(ws, channel_arg(ws, args))
    if len(users) != 1:
        raise ApiError("users_list_not_supplied" if not users else "not_supported")
    user = ws.users.get(users[0])
    if user is None or user.deleted:
        raise ApiError("user_not_found")
    return {"ok": True, "channel": {"id": ws.im_channel(user.id).id}}


METHODS: dict[str, Callable[[Workspace, Args], JsonDict]] = {
    "conversations.create": create,
    "conversations.info": info,
    "conversations.invite": invite,
    "conversations.join": join,
    "conversations.members": members,
    "conversations.list": list_,
    "conversations.history": history,
    "conversations.replies": replies,
    "conversations.setTopic": _set_text("topic", "topic"),
    "conversations.setPurpose": _set_text("purpose", "purpose"),
    "conversations.archive": archive,
    "conversations.unarchive": unarchive,
    "conversations.open": open_,
}
