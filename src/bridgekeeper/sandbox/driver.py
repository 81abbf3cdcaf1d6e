"""SlackDriver: plays Slack's side, sending correctly signed requests to the bot's /slack/events.

Payload shapes follow real Slack (FACTS.md §2-§4, bolt-python's fixtures): slash commands as an
urlencoded form, interactivity as a ``payload=<json>`` form field, events as a JSON envelope.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bridgekeeper.sandbox.emulator import SlackEmulator
from bridgekeeper.sandbox.interactions import Interactions, Reply
from bridgekeeper.sandbox.state import JsonDict


class SlackDriver(Interactions):
    """Plays Slack's side: sends correctly signed requests to the bot's /slack/events URL, or,
    with `over_socket`, the same payloads in Socket Mode envelopes over the emulator's socket
    (the ack's payload is the reply's body, as an HTTP answer's body would be)."""

    def __init__(
        self,
        emulator: SlackEmulator,
        bot_url: str,
        signing_secret: str,
        *,
        clock: Callable[[], float] = time.time,
        verification_token: str = "legacy-verification-token",
        over_socket: bool = False,
    ) -> None:
        self.emulator = emulator
        self.bot_url = bot_url
        self.signing_secret = signing_secret
        self.clock = clock
        self.verification_token = verification_token
        self.over_socket = over_socket
        self.timeout = 10.0

    # signing and sending -------------------------------------------------------------------------

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The v0 HMAC headers Slack adds to every request."""
        stamp = int(self.clock()) if timestamp is None else timestamp
        base = b"v0:" + str(stamp).encode() + b":" + body
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": str(stamp), "X-Slack-Signature": f"v0={digest}"}

    async def raw(self, body: bytes, headers: dict[str, str]) -> Reply:
        """POST exactly these bytes and headers (no signing), e.g. for bad-signature tests."""
        started = time.perf_counter()
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(self.bot_url, data=body, headers=headers) as response,
        ):
            text = await response.text()
            status, reply_headers = response.status, dict(response.headers)
        return Reply(status, _parse(text), time.perf_counter() - started, headers=reply_headers)

    async def _send(
        self, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> Reply:
        headers = {"Content-Type": content_type, **self.sign(body), **(extra or {})}
        return await self.raw(body, headers)

    async def _send_command(self, fields: dict[str, str]) -> Reply:
        if self.over_socket:
            return await self._send_envelope("slash_commands", fields)
        return await self._send(urlencode(fields).encode(), "application/x-www-form-urlencoded")

    async def _send_payload(self, payload: JsonDict) -> Reply:
        if self.over_socket:
            return await self._send_envelope("interactive", payload)
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self._send(body, "application/x-www-form-urlencoded")

    async def _send_envelope(
        self, kind: str, payload: JsonDict, retry_num: int = 0, retry_reason: str = ""
    ) -> Reply:
        started = time.perf_counter()
        envelope = await self.emulator.socket_send(
            kind, payload, retry_num, retry_reason=retry_reason, timeout=self.timeout
        )
        ack = await self.emulator.socket_ack(envelope, timeout=self.timeout)
        return Reply(200, ack.get("payload", ""), time.perf_counter() - started)

    # slash commands ------------------------------------------------------------------------------

    async def command(
        self,
        text: str,
        *,
        user: str,
        channel: str,
        command: str = "/incident",
        trigger_id: str | None = None,
    ) -> Reply:
        target = self._channel(channel)
        trigger = trigger_id or self.emulator.new_trigger_id(user)
        response_url = self.emulator.new_response_url(channel=target.id, user=user)
        fields = {
            "token": self.verification_token,
            "team_id": self.emulator.team_id,
            "team_domain": self.emulator.team_domain,
            "channel_id": target.id,
            "channel_name": "directmessage" if target.is_im else target.name,
            "user_id": user,
            "user_name": self._user_name(user),
            "command": command,
            "text": text,
            "api_app_id": self.emulator.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger,
        }
        reply = await self._send_command(fields)
        reply.response_url, reply.trigger_id = response_url, trigger
        return reply

    # events ----------------------------------------------------------------------------------

    def event_envelope(self, event: JsonDict, event_id: str | None = None) -> JsonDict:
        return {
            "token": self.verification_token,
            "team_id": self.emulator.team_id,
            "context_team_id": self.emulator.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.emulator.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(self.clock()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.emulator.team_id,
                    "user_id": self.emulator.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + secrets.token_hex(16),
        }

    async def event(
        self,
        event: JsonDict,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> Reply:
        envelope = self.event_envelope(event, event_id)
        if self.over_socket:
            return await self._send_envelope("events_api", envelope, retry_num or 0, retry_reason)
        body = json.dumps(envelope).encode()
        extra: dict[str, str] = {}
        if retry_num is not None:
            extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return await self._send(body, "application/json", extra)

    async def reaction_added(
        self,
        *,
        user: str,
        channel: str,
        ts: str,
        reaction: str = "pushpin",
        event_id: str | None = None,
        retry_num: int | None = None,
    ) -> Reply:
        """The user reacts to a stored message: updates the emulator, then sends the event."""
        target = self._channel(channel)
        message = self.emulator.state.find_message(target, ts)
        event: JsonDict = {
            "type": "reaction_added",
            "user": user,
            "reaction": reaction.strip(":"),
            "item": {"type": "message", "channel": target.id, "ts": ts},
            "event_ts": self.emulator.state.new_ts(),
        }
        if message is not None:
            event["item_user"] = message.user
            users = message.reactions.setdefault(event["reaction"], [])
            if user not in users:
                users.append(user)
        return await self.event(event, event_id=event_id, retry_num=retry_num)

    async def message_changed(
        self, *, channel: str, ts: str, text: str, event_id: str | None = None
    ) -> Reply:
        """The author edits a stored message: updates the emulator, then sends the event."""
        event = self.emulator.edit_user_message(self._channel(channel).id, ts, text)
        return await self.event(event, event_id=event_id)

    async def app_home_opened(
        self,
        *,
        user: str,
        tab: str = "home",
        event_id: str | None = None,
        retry_num: int | None = None,
    ) -> Reply:
        """The user opens the app's Home (or Messages) tab; as Slack's, the event carries the
        home view the app last published for them, if any."""
        state = self.emulator.state
        event: JsonDict = {
            "type": "app_home_opened",
            "user": user,
            "channel": state.im_channel(user).id,
            "tab": tab,
            "event_ts": state.new_ts(),
        }
        home = state.home_view(user)
        if home is not None:
            event["view"] = home.view
        return await self.event(event, event_id=event_id, retry_num=retry_num)


def _parse(text: str) -> Any:
    if not text:
        return ""
    try:
        return json.loads(text)
    except ValueError:
        return text
