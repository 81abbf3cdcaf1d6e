"""Carry out one outbox effect against Slack, idempotently.

A delivery can be cut off after Slack acted but before the effect was marked done (a crash, a
timeout). Every handler therefore checks what Slack already has before acting again: a channel
the bot created under the incident's name is adopted, a message is found again by the effect id
in its metadata, pins and invites treat "already" as success.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import string
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from bridgekeeper import metrics
from bridgekeeper.clock import Clock
from bridgekeeper.config import Settings
from bridgekeeper.domain.effects import to_person
from bridgekeeper.domain.incidents import channel_name
from bridgekeeper.effects.folding import NOT_POSTED
from bridgekeeper.errors import SlackError, SlackRetryable
from bridgekeeper.oncall_sources import ScheduleUnreadable
from bridgekeeper.rendering import Renderer
from bridgekeeper.services import cards
from bridgekeeper.services.schedules import Schedules
from bridgekeeper.slack import card_views
from bridgekeeper.slack.blocks import fallback_text, plain, to_blocks
from bridgekeeper.slack.gateway import ChannelRef, SlackGateway
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import messages as message_store
from bridgekeeper.store import outbox
from bridgekeeper.store import reports as report_store
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Alert, Effect, Incident

log = logging.getLogger(__name__)
METADATA_TYPE = "bridgekeeper_effect"
# A bridge channel is named inc-N-<title>, else -2 ... -5, else -<6 random a-z0-9> (names nobody
# can take in advance), at most MAX_NAME_TRIES creations in all.
NAME_SUFFIXES = (0, 2, 3, 4, 5)
RANDOM_LENGTH = 6
RANDOM_ALPHABET = string.ascii_lowercase + string.digits
MAX_NAME_TRIES = 25
HOME_MAX_BLOCKS = 100  # a home tab's limit (a message's is 50)
HomeMarkup = Callable[..., Awaitable[str]]  # (user=...) -> a person's home tab, rendered


class ChannelNames:
    """The names one incident's bridge channel may have, in the order they are tried."""

    def __init__(self, prefix: str, number: int, title: str) -> None:
        self.fixed = [channel_name(prefix, number, title, s) for s in NAME_SUFFIXES]
        placeholder = "0" * RANDOM_LENGTH
        self.stem = channel_name(prefix, number, title, placeholder)[:-RANDOM_LENGTH]

    def next(self, taken: set[str]) -> str:
        """The first fixed name not known to be taken, then a fresh random one."""
        for name in self.fixed:
            if name not in taken:
                return name
        while True:
            part = "".join(secrets.choice(RANDOM_ALPHABET) for _ in range(RANDOM_LENGTH))
            if self.stem + part not in taken:
                return self.stem + part

    def includes(self, name: str) -> bool:
        """Whether `name` is one this incident's channel may have been given."""
        part = name.removeprefix(self.stem)
        random = len(part) == RANDOM_LENGTH and not part.strip(RANDOM_ALPHABET)
        return name in self.fixed or (name.startswith(self.stem) and random)

    def best(self, channels: Iterable[ChannelRef]) -> ChannelRef | None:
        mine = [c for c in channels if self.includes(c.name)]
        order = {name: i for i, name in enumerate(self.fixed)}
        return min(mine, key=lambda c: order.get(c.name, len(order)), default=None)


class Deliverer:
    def __init__(
        self,
        *,
        db: Database,
        gateway: SlackGateway,
        renderer: Renderer,
        settings: Settings,
        clock: Clock,
        schedules: Schedules,
        home: HomeMarkup | None = None,
    ) -> None:
        self.db = db
        self.schedules = schedules
        self.home_markup = home
        self.slack = gateway
        self.renderer = renderer
        self.settings = settings
        self.clock = clock
        self.handlers: dict[str, Callable[[Effect], Awaitable[None]]] = {
            "create_channel": self.create_channel,
            "invite": self.invite,
            "card": self.card,
            "topic": self.topic,
            "post": self.post,
            "ephemeral": self.ephemeral,
            "archive": self.archive,
            "unarchive": self.unarchive,
            "upload_file": self.upload_file,
            "home": self.home,
        }

    async def __call__(self, effect: Effect) -> None:
        handler = self.handlers.get(effect.kind)
        if handler is None:
            raise SlackError(effect.kind, "unknown effect kind")
        await handler(effect)

    # -- channels -----------------------------------------------------------------------------
    async def create_channel(self, effect: Effect) -> None:
        incident = await self._incident(effect)
        if incident.channel_id:
            return
        channel = await self._create_or_adopt(incident)
        async with self.db.transaction() as session:
            await incident_store.set_channel(
                session=session, incident_id=incident.id, channel_id=channel.id, name=channel.name
            )

    async def _create_or_adopt(self, incident: Incident) -> ChannelRef:
        """Create the channel under the first free name. At the first name taken, the channels
        Slack shows are read once: one the bot created under a name this incident may have
        (an earlier attempt that reached Slack) is adopted; the rest are names to skip."""
        prefix = self.settings.process.channel_prefix
        names = ChannelNames(prefix, incident.number, incident.title)
        taken: set[str] | None = None
        for _ in range(MAX_NAME_TRIES):
            name = names.next(taken or set())
            try:
                return await self.slack.create_channel(name, private=incident.private)
            except SlackError as exc:
                if exc.error != "name_taken" or isinstance(exc, SlackRetryable):
                    raise
            if taken is None:
                ours, taken = await self._adoptable(names)
                if ours is not None:
                    return ours
            taken.add(name)
        raise SlackError("conversations.create", "no free channel name")

    async def _adoptable(self, names: ChannelNames) -> tuple[ChannelRef | None, set[str]]:
        """A live channel the bot itself created under one of the incident's names (a retried
        create), and the names of every channel Slack shows."""
        channels = await self.slack.channels()
        bot = await self.slack.bot_user_id()
        live = (c for c in channels if not c.is_archived and c.creator == bot)
        return names.best(live), {c.name for c in channels}

    async def invite(self, effect: Effect) -> None:
        channel = await self._target(effect, "bridge")
        await self.slack.invite(channel, list(effect.payload.get("users", [])))

    async def archive(self, effect: Effect) -> None:
        await self.slack.archive(await self._target(effect, "bridge"))

    async def unarchive(self, effect: Effect) -> None:
        await self.slack.unarchive(await self._target(effect, "bridge"))

    async def topic(self, effect: Effect) -> None:
        """The topic shows plain text (Slack does not format topics): names, not mentions."""
        channel = await self._target(effect, "bridge")
        async with self.db.sessions() as session:
            context = await cards.topic_context(
                session=session, settings=self.settings, incident_id=_incident_id(effect)
            )
        commander = context["commander"]
        name = await self.slack.user_name(commander) if commander else None
        text = self.renderer.slack("slack/topic.md.j2", **context, commander_name=name)
        await self.slack.set_topic(channel, plain(text))

    # -- messages -----------------------------------------------------------------------------
    async def post(self, effect: Effect) -> None:
        """A new message: text rendered when enqueued, or a card rendered now."""
        channel = await self._target(effect, str(effect.payload.get("target", "bridge")))
        markup = effect.payload.get("text")
        if markup is None:
            await self._read_schedule(str(effect.payload["card"]), int(effect.payload["owner"]))
            async with self.db.sessions() as session:
                markup = await card_views.render_card(
                    session=session,
                    renderer=self.renderer,
                    settings=self.settings,
                    card=str(effect.payload["card"]),
                    owner=int(effect.payload["owner"]),
                    now=self.clock.now(),
                    schedules=self.schedules,
                )
        await self._post_once(effect, channel, str(markup))

    async def upload_file(self, effect: Effect) -> None:
        """A file shared in a channel, once: a retry looks for the file name first. A stored
        report is written out to a temporary file part by part, and sent from there once its
        database session is closed (a long report is never whole in memory)."""
        channel = await self._target(effect, str(effect.payload.get("target", "bridge")))
        filename = str(effect.payload["filename"])
        if effect.attempts > 1 and await self.slack.find_file(channel, filename):
            return
        content = effect.payload.get("content")
        with tempfile.TemporaryDirectory(prefix="bridgekeeper-upload-") as folder:
            if content is None:
                path = Path(folder) / "report"
                await self._spool_report(int(effect.payload["report_id"]), path)
            await self.slack.upload_file(
                channel,
                filename=filename,
                content=str(content).encode() if content is not None else path,
                title=str(effect.payload.get("title") or filename),
                comment=str(effect.payload.get("comment") or ""),
            )

    async def _spool_report(self, report_id: int, path: Path) -> None:
        """Write a stored report's text to `path` as UTF-8, a part at a time, each encoded and
        written in a thread (a long report's were 0.15 s of the event loop's time at once)."""
        found = False
        with path.open("wb") as file:
            async with self.db.sessions() as session:
                async for part in report_store.parts(session=session, report_id=report_id):
                    found = True
                    await asyncio.to_thread(_write_utf8, file, part)
        if not found:
            raise SlackError("upload_file", "the report to upload is gone")

    async def _read_schedule(self, card: str, owner: int) -> None:
        """A triage card names its team's on-call: read a paging tool's shifts first (cached),
        with no database session open while the tool and Slack answer."""
        if card != "triage" or not self.settings.oncall.sources:
            return
        async with self.db.sessions() as session:
            alert = await session.get(Alert, owner)
            team = cards.routed_team(self.settings, alert) if alert else None
        if team is not None and self.schedules.tool(team):
            with contextlib.suppress(ScheduleUnreadable):  # the card says it could not be read
                await self.schedules.planned(team)

    async def ephemeral(self, effect: Effect) -> None:
        channel = await self._target(effect, str(effect.payload.get("target", "bridge")))
        markup = str(effect.payload["text"])
        try:
            await self.slack.post_ephemeral(
                channel,
                str(effect.payload["user"]),
                text=fallback_text(markup),
                blocks=to_blocks(markup),
            )
        except SlackError as exc:
            if exc.error not in ("user_not_in_channel", "not_in_channel"):
                raise
            log.info("ephemeral to a user not in the channel dropped")

    async def card(self, effect: Effect) -> None:
        key = str(effect.payload["key"])
        await self._read_schedule(str(effect.payload["card"]), int(effect.payload["owner"]))
        async with self.db.sessions() as session:
            # Renders already due are folded into this one; a render scheduled for later (a
            # throttled storm card) stays, or the repeats it stands for would never be shown.
            covered = await outbox.due_renders(session, key=key, now=self.clock.now())
            markup = await card_views.render_card(
                session=session,
                renderer=self.renderer,
                settings=self.settings,
                card=str(effect.payload["card"]),
                owner=int(effect.payload["owner"]),
                now=self.clock.now(),
                schedules=self.schedules,
            )
            posted = await message_store.posted(session, key=key)
        if posted is not None:
            await self.slack.update(
                posted.channel_id, posted.ts, text=fallback_text(markup), blocks=to_blocks(markup)
            )
        else:
            channel = await self._target(effect, str(effect.payload.get("target", "bridge")))
            ts = await self._post_once(effect, channel, markup)
            await self._remember(key, channel, ts)
            metrics.card_posted(str(effect.payload["card"]))
            if effect.payload.get("pin"):
                await self.slack.pin(channel, ts)
        await self._settle(covered, effect.id)

    async def home(self, effect: Effect) -> None:
        """A person's App Home tab, rendered from current state and published whole; renders
        of it queued meanwhile are covered by this one."""
        if self.home_markup is None:
            raise SlackError("views.publish", "no home tab configured")
        key, user = str(effect.card_key), str(effect.payload["user"])
        async with self.db.sessions() as session:
            covered = await outbox.due_renders(session, key=key, now=self.clock.now())
        markup = await self.home_markup(user=user)
        view = {"type": "home", "blocks": to_blocks(markup, HOME_MAX_BLOCKS)}
        await self.slack.publish_home(user, view)
        await self._settle(covered, effect.id)

    async def _post_once(self, effect: Effect, channel: str, markup: str) -> str:
        # A person's messages are not the bot's to read (that would need im:history; Slack
        # answers channel_not_found): a retry may post one twice rather than never.
        if effect.attempts > 1 and not effect.payload.get(NOT_POSTED) and not to_person(channel):
            found = await self.slack.find_posted(channel, effect.id)  # it may have been posted
            if found:
                return found
        ids = [effect.id, *effect.payload.get("folded", [])]
        payload = (
            {"effect_id": effect.id, "effect_ids": ids}
            if len(ids) > 1
            else {"effect_id": effect.id}
        )
        metadata = {"event_type": METADATA_TYPE, "event_payload": payload}
        return await self.slack.post(
            channel, text=fallback_text(markup), blocks=to_blocks(markup), metadata=metadata
        )

    async def _remember(self, key: str, channel: str, ts: str) -> None:
        """(Core statements, in a transaction shared with other deliveries' bookkeeping:
        cards are posted in bursts, during alert storms.)"""
        now = self.clock.now()
        await self.db.run_together(
            lambda conn: message_store.remember(conn, key=key, channel=channel, ts=ts, now=now)
        )

    async def _settle(self, covered: list[int], effect_id: int) -> None:
        """Card refreshes queued before this render are satisfied by it."""
        others = [i for i in covered if i != effect_id]
        if not others:
            return
        now = self.clock.now()
        await self.db.run_together(lambda conn: outbox.mark_done(conn, others, now))

    # -- lookups ------------------------------------------------------------------------------
    async def _incident(self, effect: Effect) -> Incident:
        async with self.db.sessions() as session:
            return await incident_store.get_by_id(session=session, incident_id=_incident_id(effect))

    async def _target(self, effect: Effect, target: str) -> str:
        if target == "bridge":
            incident = await self._incident(effect)
            if not incident.channel_id:
                raise SlackRetryable("bridge", "the bridge channel does not exist yet")
            return incident.channel_id
        named: dict[str, str | None] = {
            "stakeholders": self.settings.stakeholder_channel,
            "triage": self.settings.triage_channel,
        }
        if target in named:
            channel = named[target]
            if not channel:
                raise SlackError(target, f"no {target} channel configured")
            return channel
        return target


def _incident_id(effect: Effect) -> int:
    if effect.incident_id is None:
        raise SlackError(effect.kind, "effect has no incident")
    return effect.incident_id


def _write_utf8(file: BinaryIO, text: str) -> None:
    file.write(text.encode())
