"""Slack's interactivity as the driver sends it: button clicks on messages and in modals,
message shortcuts and modal submissions, with the context real Slack puts in each payload
(FACTS.md §3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridgekeeper.sandbox.emulator import SlackEmulator
from bridgekeeper.sandbox.state import Channel, JsonDict
from bridgekeeper.sandbox.wire import message_json


@dataclass
class Reply:
    status: int
    body: Any  # parsed JSON, else text ("" for an empty ack)
    elapsed: float
    response_url: str | None = None
    trigger_id: str | None = None
    headers: dict[str, str] | None = None


class Interactions:
    """The driver's interactivity payloads and the look-ups they share (users, channels,
    messages in the emulator's state)."""

    emulator: SlackEmulator
    verification_token: str
    clock: Callable[[], float]

    async def _send_payload(self, payload: JsonDict) -> Reply:
        raise NotImplementedError

    async def block_action(
        self,
        *,
        user: str,
        action_id: str,
        value: str = "",
        channel: str | None = None,
        message_ts: str | None = None,
        block_id: str = "b",
        view_id: str | None = None,
    ) -> Reply:
        """A button click on a message (channel + message_ts) or in a modal (view_id)."""
        trigger = self.emulator.new_trigger_id(user)
        payload: JsonDict = {
            "type": "block_actions",
            "user": self._user_obj(user),
            "api_app_id": self.emulator.app_id,
            "token": self.verification_token,
            "trigger_id": trigger,
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "state": {"values": {}},
            "actions": [self._action(action_id, value, block_id, channel, message_ts, view_id)],
        }
        response_url = None
        if view_id is not None:
            payload["container"] = {"type": "view", "view_id": view_id}
            payload["view"] = self.emulator.views[view_id].view
        elif channel is not None:
            response_url = self._message_context(payload, channel, message_ts)
        reply = await self._send_payload(payload)
        reply.response_url, reply.trigger_id = response_url, trigger
        return reply

    def _message_context(self, payload: JsonDict, channel: str, message_ts: str | None) -> str:
        target = self._channel(channel)
        response_url = self.emulator.new_response_url(
            channel=target.id, user=payload["user"]["id"], message_ts=message_ts, kind="actions"
        )
        payload["channel"] = {"id": target.id, "name": target.name}
        payload["response_url"] = response_url
        if message_ts is not None:
            payload["container"] = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": target.id,
                "is_ephemeral": False,
            }
            payload["message"] = self._message(target, message_ts)
        return response_url

    def _action(
        self,
        action_id: str,
        value: str,
        block_id: str,
        channel: str | None,
        message_ts: str | None,
        view_id: str | None,
    ) -> JsonDict:
        blocks: list[JsonDict] = []
        if view_id is not None:
            blocks = self.emulator.views[view_id].view.get("blocks", [])
        elif channel is not None and message_ts is not None:
            blocks = self._message(self._channel(channel), message_ts).get("blocks", [])
        element = _find_element(blocks, action_id) or {}
        return {
            "action_id": action_id,
            "block_id": block_id,
            "text": element.get("text") or {"type": "plain_text", "text": action_id, "emoji": True},
            "value": value,
            "type": element.get("type", "button"),
            "action_ts": f"{self.clock():.6f}",
        }

    async def message_shortcut(
        self, *, user: str, callback_id: str, channel: str, message_ts: str
    ) -> Reply:
        target = self._channel(channel)
        trigger = self.emulator.new_trigger_id(user)
        response_url = self.emulator.new_response_url(
            channel=target.id, user=user, message_ts=message_ts, kind="app"
        )
        payload: JsonDict = {
            "type": "message_action",
            "token": self.verification_token,
            "action_ts": f"{self.clock():.6f}",
            "team": self._team(),
            "user": {
                "id": user,
                "name": self._user_name(user),
                "username": self._user_name(user),
                "team_id": self.emulator.team_id,
            },
            "channel": {"id": target.id, "name": target.name},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": trigger,
            "response_url": response_url,
            "message_ts": message_ts,
            "message": self._message(target, message_ts),
        }
        reply = await self._send_payload(payload)
        reply.response_url, reply.trigger_id = response_url, trigger
        return reply

    async def view_submission(
        self,
        *,
        user: str,
        view_id: str,
        values: dict[str, dict[str, dict[str, Any]]],
        apply_ack: bool = True,
    ) -> Reply:
        """Submit a stored modal; the bot's ack (close/errors/update/push/clear) is applied."""
        view = dict(self.emulator.views[view_id].view)
        view["state"] = {"values": values}
        trigger = self.emulator.new_trigger_id(user)
        payload: JsonDict = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user_obj(user),
            "api_app_id": self.emulator.app_id,
            "token": self.verification_token,
            "trigger_id": trigger,
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        reply = await self._send_payload(payload)
        reply.trigger_id = trigger
        if apply_ack and reply.status == 200:
            self.emulator.apply_view_ack(view_id, reply.body)
        return reply

    def _channel(self, ref: str) -> Channel:
        channel = self.emulator.channels.get(ref) or self.emulator.channel_by_name(ref.lstrip("#"))
        if channel is None:
            raise KeyError(f"no channel {ref!r} in the emulator")
        return channel

    def _message(self, channel: Channel, ts: str) -> JsonDict:
        message = self.emulator.state.find_message(channel, ts)
        if message is None:
            raise KeyError(f"no message {ts} in {channel.id}")
        return message_json(self.emulator.state, message)

    def _user_name(self, user: str) -> str:
        known = self.emulator.users.get(user)
        return known.name if known else user.lower()

    def _user_obj(self, user: str) -> JsonDict:
        name = self._user_name(user)
        return {"id": user, "username": name, "name": name, "team_id": self.emulator.team_id}

    def _team(self) -> JsonDict:
        return {"id": self.emulator.team_id, "domain": self.emulator.team_domain}


def _find_element(blocks: list[JsonDict], action_id: str) -> JsonDict | None:
    for block in blocks:
        candidates = list(block.get("elements") or [])
        candidates += [block[key] for key in ("accessory", "element") if key in block]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    return None
