"""SlackEmulator: a stateful fake Slack Web API (plus Socket Mode and response_urls) over HTTP.

Run it in-process on loopback and point slack_sdk at it:
``AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url)``, or call it without
HTTP through ``emulator.web_client(emulator.bot_token)`` (sandbox/in_process.py).
Nothing is started at import time; call ``await emulator.start()``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bridgekeeper.sandbox import api_chat, api_files, api_misc, api_views
from bridgekeeper.sandbox.api_openid import OpenIdProvider
from bridgekeeper.sandbox.controls import Controls
from bridgekeeper.sandbox.faults import Faults
from bridgekeeper.sandbox.in_process import InProcessClient
from bridgekeeper.sandbox.limits import RateLimiter
from bridgekeeper.sandbox.response_urls import (
    apply_response,
    issue_response_url,
    response_problem,
    unsafe_items,
)
from bridgekeeper.sandbox.socket_mode import SocketModeServer
from bridgekeeper.sandbox.state import (
    ApiError,
    Call,
    Channel,
    Ephemeral,
    File,
    JsonDict,
    Message,
    ResponsePost,
    User,
    Usergroup,
    View,
    Workspace,
)
from bridgekeeper.sandbox.web_api import Answer, WebApi
from bridgekeeper.sandbox.wire import bearer, message_json, read_args

EventListener = Callable[[JsonDict], Awaitable[Any]]
RESPONSE_URL_KINDS = ("commands", "actions", "app")
SIGN_IN_PAGE = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Slack</title></head><body>Sign in</body></html>'
)


class SlackEmulator(WebApi, Controls):
    def __init__(
        self,
        *,
        bot_token: str = "xoxb-bridgekeeper-test",
        app_token: str = "xapp-bridgekeeper-test",
        team_id: str = "T0BRIDGE",
        bot_user_id: str = "UBOT",
        enforce_rate_limits: bool = False,
        rate_limit_scale: float = 1.0,
        clock: Callable[[], float] = time.time,
        team_domain: str = "bridgekeeper-sandbox",
        bot_id: str = "B0BRIDGE",
        app_id: str = "A0BRIDGE",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.revoked_tokens: set[str] = set()
        # what auth.test reports the bot token was granted; a test may take some away
        self.bot_scopes: set[str] = set(api_misc.BOT_SCOPES.split(","))
        self.enforce_rate_limits = enforce_rate_limits
        self.clock = clock
        self.state = Workspace(
            team_id=team_id,
            team_domain=team_domain,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            app_id=app_id,
            clock=clock,
        )
        self.state.users[bot_user_id] = User(bot_user_id, "bridgekeeper", is_bot=True)
        self.faults = Faults()
        self.limiter = RateLimiter(clock, rate_limit_scale)
        self.socket = SocketModeServer(app_id)
        self.openid = OpenIdProvider(self.state)  # Sign in with Slack (sandbox/api_openid.py)
        self.calls: list[Call] = []
        self.response_posts: list[ResponsePost] = []
        self.rate_limit_violations: list[Call] = []
        self.event_listeners: list[EventListener] = []
        self._events_dispatched = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._base_url = ""

    # state, shared with the Workspace ------------------------------------------------------------

    @property
    def team_id(self) -> str:
        return self.state.team_id

    @property
    def bot_user_id(self) -> str:
        return self.state.bot_user_id

    @property
    def bot_id(self) -> str:
        return self.state.bot_id

    @property
    def app_id(self) -> str:
        return self.state.app_id

    @property
    def team_domain(self) -> str:
        return self.state.team_domain

    @property
    def channels(self) -> dict[str, Channel]:
        return self.state.channels

    @property
    def users(self) -> dict[str, User]:
        return self.state.users

    @property
    def usergroups(self) -> dict[str, Usergroup]:
        return self.state.usergroups

    @property
    def ephemerals(self) -> list[Ephemeral]:
        return self.state.ephemerals

    @property
    def views(self) -> dict[str, View]:
        return self.state.views

    @property
    def files(self) -> list[File]:
        return self.state.files

    @property
    def emitted_events(self) -> list[JsonDict]:
        """Follow-on events Slack would send (member_joined_channel, pin_added)."""
        return self.state.emitted_events

    @property
    def socket_acks(self) -> dict[str, JsonDict]:
        return self.socket.acks

    # lifecycle -----------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self.openid.add_routes(app)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_get("/link", self.socket.handle)
        app.router.add_get("/link/", self.socket.handle)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_get("/files-pri/{team_file}/download/{name}", self._handle_download)
        for kind in RESPONSE_URL_KINDS:
            app.router.add_post(f"/{kind}/{{rest:.*}}", self._handle_response_url)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self._base_url = f"http://{bound_host}:{bound_port}"
        self.state.base_url = self._base_url

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.socket.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def serving(self) -> bool:
        return self._runner is not None

    def web_client(self, token: str, *, timeout: int = 30) -> InProcessClient:
        """A Web API client whose calls this emulator answers in this process, without HTTP."""
        return InProcessClient(self, token=token, timeout=timeout)

    @property
    def base_url(self) -> str:
        if not self._base_url:
            raise RuntimeError("SlackEmulator is not started")
        return self._base_url

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    # directory -----------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        email: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> None:
        self.state.users[user_id] = User(user_id, name, email, is_bot, deleted)

    def add_people(self, people: Mapping[str, str]) -> None:
        """Workspace members by id and name, each with an address at example.com."""
        for user_id, name in people.items():
            self.add_user(user_id, name, email=f"{name}@example.com")

    def add_usergroup(self, group_id: str, handle: str, users: list[str]) -> None:
        self.state.usergroups[group_id] = Usergroup(group_id, handle, list(users))

    def add_channel(
        self,
        name: str,
        *,
        is_private: bool = False,
        members: Iterable[str] = (),
        creator: str = "U_ADMIN",
    ) -> str:
        """A pre-existing channel; the bot is a member only if listed in `members`."""
        channel = Channel(
            id=self.state.new_id("C"),
            name=name,
            is_private=is_private,
            is_archived=False,
            creator=creator,
            created=self.state.now(),
            members=set(members),
        )
        self.state.channels[channel.id] = channel
        return channel.id

    def channel_by_name(self, name: str) -> Channel | None:
        return self.state.channel_by_name(name)

    def messages(self, channel_id: str) -> list[Message]:
        return list(self.state.channels[channel_id].messages)

    def post_user_message(
        self, channel_id: str, user: str, text: str, *, thread_ts: str | None = None
    ) -> Message:
        """Store a message written by a human (for shortcuts, reactions and history tests)."""
        message = Message(self.state.new_ts(), user, text, channel=channel_id, thread_ts=thread_ts)
        self.state.channels[channel_id].messages.append(message)
        return message

    def edit_user_message(self, channel_id: str, ts: str, text: str) -> JsonDict:
        """A human edits their message, as in Slack's client: the message changes and Slack's
        `message_changed` event is emitted (and returned, for the driver to deliver)."""
        channel = self.state.channels[channel_id]
        message = self.state.find_message(channel, ts)
        if message is None:
            raise KeyError(f"no message {ts} in {channel_id}")
        previous = message_json(self.state, message)
        if message.original is None:
            message.original = (message.text, list(message.blocks))
        message.text = text
        return api_chat.record_edit(self.state, message, previous)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def unsafe_mentions(self) -> list[Message]:
        return unsafe_items(self.state)

    # helpers for the Slack side ------------------------------------------------------------------

    def new_trigger_id(self, user: str | None = None) -> str:
        """Valid for 3 s of the emulator clock, usable once."""
        return api_views.issue_trigger(self.state, user)

    def new_response_url(
        self,
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
        kind: str = "commands",
    ) -> str:
        """Absolute URL on this server; accepts up to 5 posts within 30 minutes."""
        self.base_url  # noqa: B018 - raises if not started
        return issue_response_url(self.state, kind, channel, user, message_ts)

    def apply_view_ack(self, view_id: str, ack: Any) -> None:
        api_views.apply_view_ack(self.state, view_id, ack)

    def add_event_listener(self, listener: EventListener) -> None:
        """Called (as a task) with each follow-on event, e.g. ``driver.event``."""
        self.event_listeners.append(listener)

    # HTTP handlers -------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            args = await read_args(request)
        except ApiError as exc:
            answer = await self._answered(method, Answer(200, exc.body()))
        else:
            answer = await self.answer_call(method, args, bearer(request))
        return web.json_response(answer.body, status=answer.status, headers=answer.headers)

    async def answer_call(self, method: str, args: JsonDict, token: str = "") -> Answer:
        """A Web API call as its request over HTTP is answered (the token from the
        Authorization header, else from the arguments); also sandbox/in_process.py's."""
        given = args.pop("token", None)
        return await self._answered(method, self._answer(method, args, token or str(given or "")))

    async def _answered(self, method: str, answer: Answer) -> Answer:
        """The answer, once the events the call caused are sent and any delay the faults hold
        for the method is waited out."""
        self._dispatch_events()
        seconds = self.faults.take_delay(method)
        if seconds:
            await asyncio.sleep(seconds)
        return answer

    async def _handle_upload(self, request: web.Request) -> web.Response:
        data = await request.read()
        if not api_files.receive_upload(self.state, request.match_info["file_id"], data):
            return web.Response(status=404, text="Not Found")
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        """A file's url_private_download: its bytes to a bearer of the bot token; anyone else
        is sent to the sign-in page, as Slack does; a bot token without files:read gets the
        page itself, with a 200."""
        file = api_files.downloaded(self.state, request.match_info["team_file"])
        if request.headers.get("Authorization") != f"Bearer {self.bot_token}":
            raise web.HTTPFound(f"{self.state.base_url}/signin")
        if "files:read" not in self.bot_scopes:
            return web.Response(text=SIGN_IN_PAGE, content_type="text/html")
        if file is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=file.content, content_type="application/octet-stream")

    def share_user_file(self, channel_id: str, user: str, filename: str, content: bytes) -> Message:
        """A person shares a file in a channel (for the evidence shortcut's tests)."""
        channel = self.state.channels[channel_id]
        return api_files.share_user_file(self.state, channel, user, filename, content)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else {}
        except ValueError:
            body = dict(parse_qsl(raw.decode()))
        problem = response_problem(self.state, request.path, body)
        status = 200 if problem is None else (404 if problem.endswith("url") else 400)
        post_body = body if isinstance(body, dict) else {"raw": body}
        self.response_posts.append(ResponsePost(str(request.url), post_body, self.clock(), status))
        if problem is not None:
            return web.Response(status=status, text=problem)
        apply_response(self.state, request.path, body)
        return web.Response(text="ok")

    def _dispatch_events(self) -> None:
        events = self.state.emitted_events[self._events_dispatched :]
        self._events_dispatched = len(self.state.emitted_events)
        for event in events:
            for listener in self.event_listeners:
                task = asyncio.ensure_future(listener(event))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
