"""Plain state of the fake Slack workspace: dataclasses readable by tests, plus the Workspace.

The Workspace owns every collection the emulator exposes. Collections are created once and only
mutated in place, so SlackEmulator can hand out the very same objects as public attributes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


@dataclass
class User:
    id: str
    name: str
    email: str | None = None
    is_bot: bool = False
    deleted: bool = False
    tz: str = "Etc/UTC"  # what users.info says of their time zone, e.g. Europe/Paris


@dataclass
class Usergroup:
    id: str
    handle: str
    users: list[str]


@dataclass
class Message:
    ts: str
    user: str
    text: str
    blocks: list[JsonDict] = field(default_factory=list)
    metadata: JsonDict | None = None
    thread_ts: str | None = None
    edits: list[tuple[str, list[JsonDict]]] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    deleted: bool = False
    channel: str = ""
    subtype: str | None = None
    files: list[JsonDict] = field(default_factory=list)
    bot_id: str | None = None
    original: tuple[str, list[JsonDict]] | None = None  # as first posted, once edited
    edited_ts: str | None = None  # when it was last edited


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool
    is_archived: bool
    creator: str
    created: int
    members: set[str] = field(default_factory=set)
    topic: str = ""
    purpose: str = ""
    messages: list[Message] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)
    bookmarks: list[JsonDict] = field(default_factory=list)
    is_im: bool = False
    topic_meta: tuple[str, int] = ("", 0)
    purpose_meta: tuple[str, int] = ("", 0)


@dataclass
class Ephemeral:
    channel: str
    user: str
    text: str
    blocks: list[JsonDict] = field(default_factory=list)
    ts: str = ""
    thread_ts: str | None = None


@dataclass
class View:
    """One view (modal or home). `view` is the full view object as Slack returns it."""

    id: str
    user: str | None
    trigger_id: str | None
    view: JsonDict
    source: str  # "open", "push" or "publish"
    updates: list[JsonDict] = field(default_factory=list)
    closed: bool = False
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class File:
    id: str
    filename: str
    title: str
    content: bytes
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    length: int = 0
    completed: bool = False


@dataclass
class ResponsePost:
    url: str
    body: JsonDict
    at: float = 0.0
    status: int = 200


@dataclass
class Call:
    method: str
    args: JsonDict
    http_status: int
    ok: bool
    error: str | None
    at: float


@dataclass
class Trigger:
    id: str
    user: str | None
    created: float
    used: bool = False


@dataclass
class ResponseUrl:
    url: str
    created: float
    channel: str | None = None
    user: str | None = None
    message_ts: str | None = None
    uses: int = 0


class ApiError(Exception):
    """A Slack Web API error: HTTP 200, {"ok": false, "error": code}."""

    def __init__(self, code: str, *messages: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.messages = list(messages)
        self.extra = extra

    def body(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error": self.code, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


class Workspace:
    """All state of the fake workspace, and the ids and timestamps it hands out."""

    def __init__(
        self,
        *,
        team_id: str,
        team_domain: str,
        bot_user_id: str,
        bot_id: str,
        app_id: str,
        clock: Callable[[], float],
    ) -> None:
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.clock = clock
        self.users: dict[str, User] = {}
        self.usergroups: dict[str, Usergroup] = {}
        self.channels: dict[str, Channel] = {}
        self.ephemerals: list[Ephemeral] = []
        self.views: dict[str, View] = {}
        self.view_stacks: dict[str, list[str]] = {}
        self.files: list[File] = []
        self.pending_files: dict[str, File] = {}
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.emitted_events: list[JsonDict] = []
        self.base_url = ""
        self._counter = itertools.count(1)
        self._last_micros = 0

    # ids and timestamps -------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}0{next(self._counter):07X}"

    def new_ts(self) -> str:
        """A message ts like "1712345678.000100", strictly increasing across the workspace."""
        micros = max(int(self.clock() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def now(self) -> int:
        return int(self.clock())

    # lookups ------------------------------------------------------------------------------------

    def channel_by_name(self, name: str) -> Channel | None:
        for channel in self.channels.values():
            if channel.name == name and not channel.is_im:
                return channel
        return None

    def is_visible(self, channel: Channel) -> bool:
        """Whether the bot can see the channel (public, or a member of a private one)."""
        return not channel.is_private or self.bot_user_id in channel.members

    def find_message(self, channel: Channel, ts: str) -> Message | None:
        for message in channel.messages:
            if message.ts == ts and not message.deleted:
                return message
        return None

    def home_view(self, user_id: str) -> View | None:
        """The App Home tab the app published for a user (views.publish), if any."""
        for view in self.views.values():
            if view.source == "publish" and view.user == user_id:
                return view
        return None

    def im_channel(self, user_id: str) -> Channel:
        """The bot's direct-message conversation with a user, created on first use."""
        for channel in self.channels.values():
            if channel.is_im and user_id in channel.members:
                return channel
        channel = Channel(
            id=self.new_id("D"),
            name=user_id,
            is_private=True,
            is_archived=False,
            creator=self.bot_user_id,
            created=self.now(),
            members={self.bot_user_id, user_id},
            is_im=True,
        )
        self.channels[channel.id] = channel
        return channel

    def emit(self, event: JsonDict) -> None:
        self.emitted_events.append(event)
