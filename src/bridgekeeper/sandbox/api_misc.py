"""api.test, auth.test, pins.*, reactions.*, bookmarks.*, users.*, usergroups.* methods."""

from __future__ import annotations

import re
from collections.abc import Callable

from bridgekeeper.sandbox.api_conversations import channel_arg, require_member, require_open
from bridgekeeper.sandbox.state import ApiError, Channel, JsonDict, Message, Workspace
from bridgekeeper.sandbox.wire import Args, message_json, page, reactions_json, user_json

BOOKMARKS_MAX = 100
TS_FORMAT = re.compile(r"\d+\.\d+")

# The bot scopes a token is granted by default, reported like Slack in auth.test's
# x-oauth-scopes header: those the app manifests ask for (slack-app-manifest-*.yml), no more.
BOT_SCOPES = (
    "channels:history,channels:manage,channels:read,chat:write,chat:write.public,commands,"
    "files:read,files:write,groups:history,groups:read,groups:write,pins:write,reactions:read,"
    "usergroups:read,users:read,users:read.email"
)


def api_test(ws: Workspace, args: Args) -> JsonDict:
    echoed = {key: value for key, value in args.data.items() if key != "error"}
    if args.has("error"):
        raise ApiError(args.text("error"), args=echoed)
    return {"ok": True, "args": echoed}


def auth_test(ws: Workspace, args: Args) -> JsonDict:
    bot = ws.users.get(ws.bot_user_id)
    return {
        "ok": True,
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_domain,
        "user": bot.name if bot else "bot",
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


# pins and reactions ------------------------------------------------------------------------------


def target_message(ws: Workspace, args: Args) -> tuple[Channel, Message]:
    channel = channel_arg(ws, args)
    ts = args.required("timestamp", "no_item_specified")
    if not TS_FORMAT.fullmatch(ts):
        raise ApiError("bad_timestamp")
    message = ws.find_message(channel, ts)
    if message is None:
        raise ApiError("message_not_found")
    return channel, message


def pins_add(ws: Workspace, args: Args) -> JsonDict:
    channel, message = target_message(ws, args)
    require_member(ws, channel)
    if message.ts in channel.pins:
        raise ApiError("already_pinned")
    channel.pins.append(message.ts)
    ws.emit(
        {
            "type": "pin_added",
            "user": ws.bot_user_id,
            "channel_id": channel.id,
            "item": {
                "type": "message",
                "channel": channel.id,
                "created": ws.now(),
                "created_by": ws.bot_user_id,
                "message": message_json(ws, message),
            },
            "item_user": message.user,
            "pin_count": len(channel.pins),
            "pinned_info": {
                "channel": channel.id,
                "pinned_by": ws.bot_user_id,
                "pinned_ts": ws.now(),
            },
            "event_ts": ws.new_ts(),
        }
    )
    return {"ok": True}


def pins_remove(ws: Workspace, args: Args) -> JsonDict:
    channel, message = target_message(ws, args)
    if message.ts not in channel.pins:
        raise ApiError("not_pinned")
    channel.pins.remove(message.ts)
    return {"ok": True}


def pins_list(ws: Workspace, args: Args) -> JsonDict:
    channel = channel_arg(ws, args)
    items = []
    for ts in channel.pins:
        message = ws.find_message(channel, ts)
        if message is not None:
            body = message_json(ws, message)
            items.append({"type": "message", "channel": channel.id, "message": body})
    return {"ok": True, "items": items}


def reaction_name(args: Args) -> str:
    name = args.text("name").strip(":")
    if not name:
        raise ApiError("invalid_name")
    return name


def reactions_add(ws: Workspace, args: Args) -> JsonDict:
    name = reaction_name(args)
    channel, message = target_message(ws, args)
    require_open(channel)
    users = message.reactions.setdefault(name, [])
    if ws.bot_user_id in users:
        raise ApiError("already_reacted")
    users.append(ws.bot_user_id)
    return {"ok": True}


def reactions_remove(ws: Workspace, args: Args) -> JsonDict:
    name = reaction_name(args)
    _, message = target_message(ws, args)
    users = message.reactions.get(name, [])
    if ws.bot_user_id not in users:
        raise ApiError("no_reaction")
    users.remove(ws.bot_user_id)
    return {"ok": True}


def reactions_get(ws: Workspace, args: Args) -> JsonDict:
    channel, message = target_message(ws, args)
    body = message_json(ws, message)
    body["reactions"] = reactions_json(message)
    return {"ok": True, "type": "message", "channel": channel.id, "message": body}


# bookmarks ---------------------------------------------------------------------------------------


def bookmarks_add(ws: Workspace, args: Args) -> JsonDict:
    channel = channel_arg(ws, args, "channel_id")
    require_member(ws, channel)
    title = args.required("title")
    if args.text("type", "link") != "link":
        raise ApiError("invalid_bookmark_type")
    link = args.text("link")
    if not link.startswith(("http://", "https://")):
        raise ApiError("invalid_link")
    if len(channel.bookmarks) >= BOOKMARKS_MAX:
        raise ApiError("too_many_bookmarks")
    bookmark = _bookmark(ws, channel, title, link, args.text("emoji") or None)
    channel.bookmarks.append(bookmark)
    return {"ok": True, "bookmark": bookmark}


def _bookmark(
    ws: Workspace, channel: Channel, title: str, link: str, emoji: str | None
) -> JsonDict:
    return {
        "id": ws.new_id("Bk"),
        "channel_id": channel.id,
        "title": title,
        "link": link,
        "emoji": emoji,
        "icon_url": None,
        "type": "link",
        "entity_id": None,
        "date_created": ws.now(),
        "date_updated": 0,
        "rank": chr(ord("U") + len(channel.bookmarks) % 5),
        "last_updated_by_user_id": ws.bot_user_id,
        "last_updated_by_team_id": ws.team_id,
        "shortcut_id": None,
        "app_id": ws.app_id,
    }


def bookmarks_list(ws: Workspace, args: Args) -> JsonDict:
    channel = channel_arg(ws, args, "channel_id")
    return {"ok": True, "bookmarks": list(channel.bookmarks)}


# users and user groups ---------------------------------------------------------------------------


def users_info(ws: Workspace, args: Args) -> JsonDict:
    user = ws.users.get(args.required("user", "user_not_found"))
    if user is None:
        raise ApiError("user_not_found")
    return {"ok": True, "user": user_json(ws, user)}


def users_lookup_by_email(ws: Workspace, args: Args) -> JsonDict:
    email = args.required("email", "users_not_found").lower()
    for user in ws.users.values():
        if user.email and user.email.lower() == email and not user.deleted:
            return {"ok": True, "user": user_json(ws, user)}
    raise ApiError("users_not_found")


def users_list(ws: Workspace, args: Args) -> JsonDict:
    chunk, cursor = page(list(ws.users.values()), args, default_limit=200)
    return {
        "ok": True,
        "members": [user_json(ws, user) for user in chunk],
        "cache_ts": ws.now(),
        "response_metadata": {"next_cursor": cursor},
    }


def usergroups_list(ws: Workspace, args: Args) -> JsonDict:
    groups = []
    for group in ws.usergroups.values():
        body: JsonDict = {
            "id": group.id,
            "team_id": ws.team_id,
            "is_usergroup": True,
            "name": group.handle,
            "handle": group.handle,
            "description": "",
            "date_create": 0,
            "date_delete": 0,
            "user_count": len(group.users),
        }
        if args.flag("include_users"):
            body["users"] = list(group.users)
        groups.append(body)
    return {"ok": True, "usergroups": groups}


def usergroups_users_list(ws: Workspace, args: Args) -> JsonDict:
    group = ws.usergroups.get(args.required("usergroup", "no_such_subteam"))
    if group is None:
        raise ApiError("no_such_subteam")
    return {"ok": True, "users": list(group.users)}


METHODS: dict[str, Callable[[Workspace, Args], JsonDict]] = {
    "api.test": api_test,
    "auth.test": auth_test,
    "pins.add": pins_add,
    "pins.remove": pins_remove,
    "pins.list": pins_list,
    "reactions.add": reactions_add,
    "reactions.remove": reactions_remove,
    "reactions.get": reactions_get,
    "bookmarks.add": bookmarks_add,
    "bookmarks.list": bookmarks_list,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "users.list": users_list,
    "usergroups.list": usergroups_list,
    "usergroups.users.list": usergroups_users_list,
}
