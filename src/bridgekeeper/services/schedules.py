"""The shifts of teams whose schedule lives in PagerDuty or GoAlert ([oncall.teams.<name>]
source), read through a short cache so cards, commands and pages do not each ask the tool.

People come back from the tool by e-mail and are mapped to Slack users (users.lookupByEmail);
someone with no Slack account keeps their name (and e-mail), so the shift is shown, not dropped.
When the tool cannot be read, the last shifts read stand in; with none, ScheduleUnreadable. A
failed read is not repeated for CACHE_SECONDS, so an outage does not slow every command down.
Reading calls Slack and the tool: never inside a database transaction (`known` is for those).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bridgekeeper.clock import Clock
from bridgekeeper.config.settings import OnCallSettings, ScheduleSource
from bridgekeeper.domain.oncall import Shift, Team
from bridgekeeper.oncall_sources import (
    TIMEOUT_SECONDS,
    Duty,
    ScheduleUnreadable,
    goalert,
    pagerduty,
)
from bridgekeeper.services.directory import Directory
from bridgekeeper.trackers.connect import Connection

log = logging.getLogger(__name__)
CACHE_SECONDS = 60
NAME_MAX = 100  # of a name or e-mail shown for someone Slack does not know
TOOLS = {"pagerduty": "PagerDuty", "goalert": "GoAlert"}


@dataclass(frozen=True)
class _Read:
    at: datetime  # when the tool was last asked (answered or not)
    shifts: tuple[Shift, ...] | None  # the last shifts it answered; None: never answered
    failure: ScheduleUnreadable | None = None  # why the last ask failed


class Schedules:
    def __init__(
        self, *, settings: OnCallSettings, clock: Clock, directory: Directory, http: Connection
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.directory = directory
        self.http = http
        self.span = timedelta(weeks=settings.feed_weeks)  # the shifts the feed shows
        self.timeout = TIMEOUT_SECONDS  # each call to a tool
        self._reads: dict[str, _Read] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def tool(self, team: Team) -> str | None:
        """The paging tool a team's schedule lives in (PagerDuty, GoAlert); None: its rota."""
        source = self.settings.sources.get(team.name)
        return TOOLS[source.kind] if source else None

    async def planned(self, team: Team) -> Team:
        """The team with the shifts its tool has, read at most every CACHE_SECONDS."""
        source = self.settings.sources[team.name]
        async with self._locks.setdefault(team.name, asyncio.Lock()):
            read = self._reads.get(team.name)
            if read is None or self.clock.now() - read.at >= timedelta(seconds=CACHE_SECONDS):
                read = await self._read(team.name, source, read)
                self._reads[team.name] = read
        if read.shifts is None:
            failed = read.failure or ScheduleUnreadable(TOOLS[source.kind], "never read")
            raise ScheduleUnreadable(failed.tool, failed.reason, refused=failed.refused)
        return team.with_shifts(read.shifts)

    def known(self, team: Team) -> Team:
        """The team with the last shifts read (none yet: none), without asking the tool."""
        read = self._reads.get(team.name)
        return team.with_shifts(read.shifts if read and read.shifts else ())

    def readable(self, team: Team) -> bool:
        """Whether the tool ever answered this team's shifts."""
        read = self._reads.get(team.name)
        return read is not None and read.shifts is not None

    async def _read(self, name: str, source: ScheduleSource, last: _Read | None) -> _Read:
        now = self.clock.now()
        try:
            duties = await self._duties(source, now, now + self.span)
        except ScheduleUnreadable as exc:
            log.warning("on-call of team %s not read from %s", name, exc)
            return _Read(now, last.shifts if last else None, exc)
        tool = TOOLS[source.kind]
        people = {d.email: await self._slack_user(d) for d in duties}
        found = {Shift(people[d.email], d.start, d.end, tool) for d in duties if d.end > d.start}
        return _Read(now, tuple(sorted(found, key=lambda s: (s.start, s.end, s.user))))

    async def _duties(self, source: ScheduleSource, since: datetime, until: datetime) -> list[Duty]:
        settings, session = self.settings, self.http.session()
        if source.kind == "pagerduty":
            return await pagerduty.duties(
                session,
                url=settings.pagerduty_api_url,
                token=settings.pagerduty_token or "",
                schedule=source.schedule,
                escalation_policy=source.escalation_policy,
                since=since,
                until=until,
                timeout=self.timeout,
            )
        return await goalert.duties(
            session,
            url=settings.goalert_url or "",
            token=settings.goalert_token or "",
            schedule=source.schedule or "",
            since=since,
            until=until,
            timeout=self.timeout,
        )

    async def _slack_user(self, duty: Duty) -> str:
        """The person's Slack user ID, else their name and e-mail as the tool gave them."""
        user = await self.directory.user_by_email(duty.email) if duty.email else None
        if user:
            return user
        name = " ".join(duty.name.split())[:NAME_MAX]  # one line: it is shown inside others
        # never bare: a name like "U0DAVE" must not be taken for a Slack user, paged or mentioned
        return f"{name} ({duty.email[:NAME_MAX] if duty.email else 'not in Slack'})"
