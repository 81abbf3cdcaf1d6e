"""The one door to Slack's Web API: chat-shaped calls, retries and rate-limit manners.

Nothing else in bridgekeeper uses the Slack client. Every call honours SLACK_API_URL and waits
its turn under Slack's published limits (slack/rate_limiter.py: per method, and for
chat.postMessage per channel), so posts to different channels go out at once while a burst to
one channel is paced instead of refused. A 429 holds its bucket for every caller until
Retry-After has passed; 429s, 5xx and timeouts are retried with backoff up to a bound.

No call is made while the calling task has a database transaction open (store/db.py
`in_transaction`): a Slack call can take seconds, and the rows the transaction locked would
stay locked for all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bridgekeeper import metrics
from bridgekeeper.errors import SlackError, SlackRetryable
from bridgekeeper.slack.people_calls import PeopleCalls
from bridgekeeper.slack.rate_limiter import RateLimiter
from bridgekeeper.slack.urls import is_slack_response_url
from bridgekeeper.store.db import in_transaction

log = logging.getLogger(__name__)
# conversations.invite's answers about one user, not the channel: the others are invited.
NOT_INVITABLE = frozenset(
    {
        "user_not_found",
        "user_is_inactive",
        "user_is_bot",
        "user_is_restricted",
        "user_is_ultra_restricted",
        "cant_invite",
        "ura_max_channels",
    }
)
# Not sent again here when the answer was lost (a timeout, a 5xx): Slack may have made the post,
# and only the outbox's retry looks for it first (effects/deliver.py).
POSTS = {"chat.postMessage"}
RETRYABLE_ERRORS = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class ChannelRef:
    id: str
    name: str
    creator: str = ""
    is_archived: bool = False


class SlackGateway(PeopleCalls):
    """Slack's Web API as bridgekeeper uses it; the look-ups of people and channels are in
    slack/people_calls.py."""

    def __init__(
        self,
        *,
        token: str,
        api_url: str,
        attempts: int = 3,
        timeout: float = 10.0,
        max_wait: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        limiter: RateLimiter | None = None,
        client: AsyncWebClient | None = None,
    ) -> None:
        """`client`: the Web API client to call through, when not slack_sdk's own over HTTP
        to `api_url` (the sandbox's answers in the same process)."""
        self.client = client or AsyncWebClient(
            token=token, base_url=api_url, timeout=int(timeout), retry_handlers=[]
        )
        self.attempts = attempts
        self.timeout = timeout
        self.max_wait = max_wait
        self._sleep = sleep
        self.limiter = limiter or RateLimiter(max_wait=max_wait, sleep=sleep)
        self._bot_user_id: str | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None

    # -- the single call path ---------------------------------------------------------------
    async def call(self, method: str, **args: Any) -> dict[str, Any]:
        _refuse_in_transaction(method)
        channel = str(args.get("channel") or "")
        last: SlackRetryable | None = None
        for attempt in range(self.attempts):
            await self.limiter.acquire(method, channel)
            try:
                return await metrics.slack_call(method, self._call_once(method, args))
            except SlackRetryable as exc:
                last = exc
                if exc.retry_after is not None:  # a 429: the limiter waits it out, for everyone
                    await self.limiter.hold(method, channel, exc.retry_after)
                delay = exc.retry_after if exc.retry_after is not None else 0.5 * 2**attempt
                if delay > self.max_wait or attempt == self.attempts - 1:
                    break
                if exc.retry_after is None and method in POSTS:
                    break  # it may have been posted: the outbox looks before it posts again
                log.info("slack %s: %s, retrying in %.1fs", method, exc.error, delay)
                if exc.retry_after is None:
                    await self._sleep(delay)
        assert last is not None
        raise last

    async def _call_once(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        self._http()
        try:
            # The sdk's own method knows how Slack wants each call sent (query, form or JSON).
            sdk_method = getattr(self.client, method.replace(".", "_"))
            response = await asyncio.wait_for(sdk_method(**args), timeout=self.timeout + 1)
        except SlackApiError as exc:
            raise self._translate(method, exc) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SlackRetryable(method, f"network: {type(exc).__name__}") from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    def _translate(self, method: str, exc: SlackApiError) -> SlackError:
        status = exc.response.status_code
        error = str(exc.response.get("error", "") if exc.response.data else "") or f"http {status}"
        if status == 429 or error == "ratelimited":
            retry_after = float(exc.response.headers.get("Retry-After", "1") or 1)
            return SlackRetryable(method, "ratelimited", retry_after)
        if status >= 500 or error in RETRYABLE_ERRORS:
            return SlackRetryable(method, error)
        return SlackError(method, error)

    def _http(self) -> aiohttp.ClientSession:
        """One HTTP session for every call, so connections to Slack are kept alive (without
        one, the sdk opens a new session, and a new connection, for each call)."""
        session, loop = self.client.session, asyncio.get_running_loop()
        if session is None or session.closed or self._http_loop is not loop:
            session, self._http_loop = aiohttp.ClientSession(), loop
            self.client.session = session
        return session

    # -- chat-shaped calls --------------------------------------------------------------------
    @property
    def known_bot_user_id(self) -> str | None:
        return self._bot_user_id

    async def bot_user_id(self) -> str:
        if self._bot_user_id is None:
            self._bot_user_id = str((await self.call("auth.test"))["user_id"])
        return self._bot_user_id

    async def create_channel(self, name: str, *, private: bool) -> ChannelRef:
        data = await self.call("conversations.create", name=name, is_private=private)
        return _channel(data["channel"])

    async def channels(self) -> list[ChannelRef]:
        """Every channel the bot can see (conversations.list, every page)."""
        found: list[ChannelRef] = []
        cursor = ""
        while True:
            data = await self.call(
                "conversations.list",
                types="public_channel,private_channel",
                limit=1000,
                cursor=cursor,
            )
            found.extend(_channel(item) for item in data.get("channels", []))
            cursor = data.get("response_metadata", {}).get("next_cursor", "")
            if not cursor:
                return found

    async def invite(self, channel: str, users: list[str]) -> None:
        """Invite each user; one who cannot be (deactivated, a guest, gone) is left out and
        the others are still invited. Raises if nobody could be, or the channel refuses."""
        refused: list[SlackError] = []
        for user in users:
            try:
                await self.call("conversations.invite", channel=channel, users=user)
            except SlackError as exc:
                if exc.error in ("already_in_channel", "cant_invite_self"):
                    continue
                if exc.error not in NOT_INVITABLE:
                    raise
                log.warning("could not invite %s to %s: %s", user, channel, exc.error)
                refused.append(exc)
        if refused and len(refused) == len(users):
            raise refused[0]

    async def post(
        self,
        channel: str,
        *,
        text: str,
        blocks: list[dict[str, Any]],
        metadata: dict[str, Any] | None = None,
    ) -> str:
        args: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "blocks": blocks,
            "unfurl_links": False,
        }
        if metadata:
            args["metadata"] = metadata
        return str((await self.call("chat.postMessage", **args))["ts"])

    async def update(
        self, channel: str, ts: str, *, text: str, blocks: list[dict[str, Any]]
    ) -> None:
        await self.call("chat.update", channel=channel, ts=ts, text=text, blocks=blocks)

    async def find_posted(self, channel: str, effect_id: int, limit: int = 200) -> str | None:
        """The ts of a message this bot already posted for an effect (a retried delivery)."""
        data = await self.call(
            "conversations.history", channel=channel, limit=limit, include_all_metadata=True
        )
        for message in data.get("messages", []):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            folded = [str(i) for i in payload.get("effect_ids") or []]  # one message for several
            if str(payload.get("effect_id")) == str(effect_id) or str(effect_id) in folded:
                return str(message["ts"])
        return None

    async def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """One message by its ts (top-level or in a thread)."""
        data = await self.call(
            "conversations.history", channel=channel, latest=ts, inclusive=True, limit=1
        )
        for message in data.get("messages", []):
            if message.get("ts") == ts:
                return dict(message)
        data = await self.call("conversations.replies", channel=channel, ts=ts, limit=1)
        for message in data.get("messages", []):
            if message.get("ts") == ts:
                return dict(message)
        return None

    async def pin(self, channel: str, ts: str) -> None:
        try:
            await self.call("pins.add", channel=channel, timestamp=ts)
        except SlackError as exc:
            if exc.error != "already_pinned":
                raise

    async def set_topic(self, channel: str, topic: str) -> None:
        await self.call("conversations.setTopic", channel=channel, topic=topic[:250])

    async def post_ephemeral(
        self, channel: str, user: str, *, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        await self.call(
            "chat.postEphemeral", channel=channel, user=user, text=text, blocks=blocks or []
        )

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> str:
        return str((await self.call("views.open", trigger_id=trigger_id, view=view))["view"]["id"])

    async def publish_home(self, user: str, view: dict[str, Any]) -> None:
        """The user's App Home tab, replaced whole (views.publish)."""
        await self.call("views.publish", user_id=user, view=view)

    async def archive(self, channel: str) -> None:
        try:
            await self.call("conversations.archive", channel=channel)
        except SlackError as exc:
            if exc.error != "already_archived":
                raise

    async def unarchive(self, channel: str) -> None:
        try:
            await self.call("conversations.unarchive", channel=channel)
        except SlackError as exc:
            if exc.error != "not_archived":
                raise

    async def upload_file(
        self, channel: str, *, filename: str, content: bytes | Path, title: str, comment: str = ""
    ) -> str:
        """Files upload v2: ask for an upload URL, send the bytes, share it in `channel`.
        `content` is the bytes, or a file whose bytes are streamed from disk as they are sent;
        Slack is told their length in bytes."""
        with contextlib.ExitStack() as stack:
            data = stack.enter_context(content.open("rb")) if isinstance(content, Path) else content
            length = len(data) if isinstance(data, bytes) else os.fstat(data.fileno()).st_size
            ticket = await self.call("files.getUploadURLExternal", filename=filename, length=length)
            await self._send_bytes(str(ticket["upload_url"]), data, length)
        file_id = str(ticket["file_id"])
        await self.call(
            "files.completeUploadExternal",
            files=[{"id": file_id, "title": title}],
            channel_id=channel,
            initial_comment=comment or None,
        )
        return file_id

    async def _send_bytes(self, url: str, content: bytes | BinaryIO, length: int) -> None:
        headers = {"Content-Length": str(length), "Content-Type": "application/octet-stream"}
        try:
            async with self._http().post(
                url,
                data=content,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout * 3),
            ) as response:
                if response.status >= 500:
                    raise SlackRetryable("files.upload", f"http {response.status}")
                if response.status >= 400:
                    raise SlackError("files.upload", f"http {response.status}")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SlackRetryable("files.upload", f"network: {type(exc).__name__}") from None

    async def find_file(self, channel: str, filename: str, limit: int = 200) -> bool:
        """Whether a file of this name was already shared in `channel` (a retried upload)."""
        data = await self.call("conversations.history", channel=channel, limit=limit)
        return any(
            file.get("name") == filename
            for message in data.get("messages", [])
            for file in message.get("files") or []
        )

    async def respond(self, response_url: str, payload: dict[str, Any]) -> None:
        """Post to a response_url (ephemeral replies after the ack), only if it is Slack's."""
        _refuse_in_transaction("response_url")
        if not is_slack_response_url(response_url, self.client.base_url):
            host = urlsplit(response_url).hostname or "?"
            log.warning("response_url refused: not on Slack's host (%s)", host[:100])
            return
        try:
            async with self._http().post(
                response_url, json=payload, timeout=aiohttp.ClientTimeout(total=self.timeout)
            ) as response:
                if response.status >= 400:
                    log.warning("response_url answered %s", response.status)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("response_url post failed: %s", type(exc).__name__)

    async def close(self) -> None:
        session = getattr(self.client, "session", None)
        if session is not None:
            await session.close()

    async def granted_scopes(self) -> frozenset[str] | None:
        """auth.test, once: the scopes the bot token was granted (Slack's x-oauth-scopes
        header; None when the answer has none). Raises SlackError / SlackRetryable as `call`."""
        self._http()
        try:
            response = await asyncio.wait_for(self.client.auth_test(), timeout=self.timeout + 1)
        except SlackApiError as exc:
            raise self._translate("auth.test", exc) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SlackRetryable("auth.test", f"network: {type(exc).__name__}") from None
        self._bot_user_id = str(response.get("user_id") or "") or self._bot_user_id
        header = {k.lower(): v for k, v in response.headers.items()}.get("x-oauth-scopes")
        if header is None:
            return None
        return frozenset(s.strip() for s in str(header).split(",") if s.strip())


def _refuse_in_transaction(method: str) -> None:
    if in_transaction():
        raise RuntimeError(f"Slack {method} called inside a database transaction")


def _channel(item: dict[str, Any]) -> ChannelRef:
    return ChannelRef(
        id=str(item["id"]),
        name=str(item.get("name", "")),
        creator=str(item.get("creator", "")),
        is_archived=bool(item.get("is_archived", False)),
    )
