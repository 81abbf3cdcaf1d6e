"""views.* methods, trigger_ids, and the effect of view_submission acks on the modal stack."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from bridgekeeper.sandbox.blocks import check_view
from bridgekeeper.sandbox.state import ApiError, JsonDict, Trigger, View, Workspace
from bridgekeeper.sandbox.wire import Args

TRIGGER_TTL_SECONDS = 3.0
VIEW_STACK_MAX = 3
VIEW_MAX_BYTES = 250_000


def issue_trigger(ws: Workspace, user: str | None) -> str:
    trigger_id = f"{ws.now()}.{ws.new_id('')[1:]}.{secrets.token_hex(16)}"
    ws.triggers[trigger_id] = Trigger(trigger_id, user, ws.clock())
    return trigger_id


def exchange_trigger(ws: Workspace, args: Args) -> Trigger:
    trigger_id = args.text("trigger_id") or args.text("interactivity_pointer")
    if not trigger_id:
        raise ApiError("invalid_arguments", "[ERROR] missing required field: trigger_id")
    trigger = ws.triggers.get(trigger_id)
    if trigger is None:
        raise ApiError("invalid_trigger_id")
    if trigger.used:
        raise ApiError("exchanged_trigger_id")
    if ws.clock() - trigger.created > TRIGGER_TTL_SECONDS:
        raise ApiError("expired_trigger_id")
    return trigger


def view_arg(ws: Workspace, args: Args, kind: str) -> JsonDict:
    view: Any = args.json_value("view")
    if view is None:
        raise ApiError("invalid_arguments", "[ERROR] missing required field: view")
    errors = check_view(view)
    if not errors and view.get("type") != kind:
        errors = [f"[ERROR] must be {kind} [json-pointer:/view/type]"]
    if errors:
        raise ApiError("invalid_arguments", *errors)
    if len(json.dumps(view)) > VIEW_MAX_BYTES:
        raise ApiError("view_too_large")
    return dict(view)


def _check_external_id(ws: Workspace, view: JsonDict, keep: str | None = None) -> None:
    external_id = view.get("external_id")
    if not external_id:
        return
    for stored in ws.views.values():
        if stored.id != keep and stored.view.get("external_id") == external_id:
            raise ApiError("duplicate_external_id")


def view_object(ws: Workspace, view_id: str, view: JsonDict, stack: list[str]) -> JsonDict:
    """The full view object Slack returns and later sends in view_submission payloads."""
    return {
        "id": view_id,
        "team_id": ws.team_id,
        "type": view["type"],
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": f"{ws.now()}.{secrets.token_hex(4)}",
        "title": view.get("title"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": stack[-1] if stack else None,
        "root_view_id": stack[0] if stack else view_id,
        "app_id": ws.app_id,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": ws.team_id,
        "bot_id": ws.bot_id,
    }


def store_view(
    ws: Workspace, view: JsonDict, user: str | None, trigger: str | None, source: str
) -> View:
    _check_external_id(ws, view)
    stack = [] if source == "open" else ws.view_stacks.get(user or "", [])
    view_id = ws.new_id("V")
    stored = View(view_id, user, trigger, view_object(ws, view_id, view, stack), source)
    ws.views[view_id] = stored
    if source == "open":
        close_stack(ws, user or "")
    if source != "publish":
        ws.view_stacks.setdefault(user or "", []).append(view_id)
    return stored


def close_stack(ws: Workspace, user: str) -> None:
    for view_id in ws.view_stacks.pop(user, []):
        ws.views[view_id].closed = True


def views_open(ws: Workspace, args: Args) -> JsonDict:
    trigger = exchange_trigger(ws, args)
    view = view_arg(ws, args, "modal")
    stored = store_view(ws, view, trigger.user, trigger.id, "open")
    trigger.used = True
    return {"ok": True, "view": stored.view}


def views_push(ws: Workspace, args: Args) -> JsonDict:
    trigger = exchange_trigger(ws, args)
    view = view_arg(ws, args, "modal")
    if len(ws.view_stacks.get(trigger.user or "", [])) >= VIEW_STACK_MAX:
        raise ApiError("push_limit_reached")
    stored = store_view(ws, view, trigger.user, trigger.id, "push")
    trigger.used = True
    return {"ok": True, "view": stored.view}


def find_view(ws: Workspace, args: Args) -> View:
    view_id, external_id = args.text("view_id"), args.text("external_id")
    if not view_id and not external_id:
        raise ApiError("invalid_arguments", "[ERROR] view_id or external_id is required")
    for stored in ws.views.values():
        if stored.id == view_id or (external_id and stored.view["external_id"] == external_id):
            return stored
    raise ApiError("not_found")


def replace_view(ws: Workspace, stored: View, view: JsonDict) -> None:
    _check_external_id(ws, view, keep=stored.id)
    old = stored.view
    new = view_object(ws, stored.id, view, [])
    new.update(previous_view_id=old["previous_view_id"], root_view_id=old["root_view_id"])
    stored.view = new
    stored.updates.append(new)
    stored.errors = {}


def views_update(ws: Workspace, args: Args) -> JsonDict:
    stored = find_view(ws, args)
    if args.has("hash") and args.text("hash") != stored.view["hash"]:
        raise ApiError("hash_conflict")
    replace_view(ws, stored, view_arg(ws, args, stored.view["type"]))
    return {"ok": True, "view": stored.view}


def views_publish(ws: Workspace, args: Args) -> JsonDict:
    user_id = args.required("user_id")
    if user_id not in ws.users:
        raise ApiError("user_not_found")
    view = view_arg(ws, args, "home")
    home = ws.home_view(user_id)
    if home is None:
        home = store_view(ws, view, user_id, None, "publish")
        return {"ok": True, "view": home.view}
    if args.has("hash") and args.text("hash") != home.view["hash"]:
        raise ApiError("hash_conflict")
    replace_view(ws, home, view)
    return {"ok": True, "view": home.view}


def apply_view_ack(ws: Workspace, view_id: str, ack: Any) -> None:
    """Apply the bot's answer to a view_submission (close, errors, update, push, clear)."""
    stored = ws.views[view_id]
    action = ack.get("response_action") if isinstance(ack, dict) else None
    if action == "errors":
        stored.errors = dict(ack.get("errors") or {})
    elif action == "update":
        replace_view(ws, stored, dict(ack.get("view") or {}))
    elif action == "push":
        store_view(ws, dict(ack.get("view") or {}), stored.user, None, "push")
    elif action == "clear":
        close_stack(ws, stored.user or "")
    else:
        _pop_view(ws, stored)


def _pop_view(ws: Workspace, stored: View) -> None:
    stored.closed = True
    stack = ws.view_stacks.get(stored.user or "", [])
    if stored.id in stack:
        stack.remove(stored.id)


METHODS: dict[str, Callable[[Workspace, Args], JsonDict]] = {
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
}
