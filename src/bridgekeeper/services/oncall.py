"""Who is on call: `/incident oncall [team]`, overrides set, listed and removed, and each team's
calendar feed (`/oncall/<team>.ics`).

The rotas come from the TOML file ([oncall.teams.<name>]); a team whose schedule lives in
PagerDuty or GoAlert has the shifts read from that tool instead (services/schedules.py, which the
triage card and paging read too), and takes its overrides there. Overrides are rows of
`oncall_overrides`. Overrides belong to no incident, so they are not on an incident's
hash-chained timeline: each row keeps who set it and when, and who removed it and when, and each
change is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridgekeeper.clock import Clock
from bridgekeeper.config import Settings
from bridgekeeper.domain import commands as c
from bridgekeeper.domain.oncall import Override, Shift, Team, on_call, shifts, upcoming
from bridgekeeper.domain.text import same_secret
from bridgekeeper.errors import CommandRefused
from bridgekeeper.oncall_sources import ScheduleUnreadable
from bridgekeeper.services.access import Access
from bridgekeeper.services.directory import Directory, named_person
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply
from bridgekeeper.services.schedules import Schedules
from bridgekeeper.store import oncall as oncall_store
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import OnCallOverride

log = logging.getLogger(__name__)
SHOWN_SHIFTS = 4  # now and the next three


class OnCallService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        settings: Settings,
        directory: Directory,
        access: Access,
        schedules: Schedules,
    ) -> None:
        self.schedules = schedules
        self.db = db
        self.clock = clock
        self.settings = settings
        self.directory = directory
        self.access = access

    def register(self, runner: CommandRunner) -> None:
        runner.on(c.ShowOnCall, self.show)
        runner.on(c.SetOverride, self.set_override)
        runner.on(c.ListOverrides, self.list_overrides)
        runner.on(c.RemoveOverride, self.remove_override)

    # -- reading -----------------------------------------------------------------------------
    async def show(self, command: c.ShowOnCall, inv: Invocation) -> Reply:
        team = self._team(command.team)
        zone = await self._zone_of(inv.user)
        now = self.clock.now()
        planned = await self.planned(team, now)
        found = upcoming(planned, now, count=SHOWN_SHIFTS, horizon=self._horizon)
        layers = (
            [
                (layer.name, on_call(Team(team.name, team.zone, (layer,)), now))
                for layer in team.layers
            ]
            if len(team.layers) > 1
            else []
        )
        return Reply(
            "slack/oncall.md.j2",
            {
                "team": team.name,
                "zone": str(zone),
                "shifts": [_seen(s, zone) for s in found],
                "layers": [(name, _seen(s, zone) if s else None) for name, s in layers],
                "feed": self.feed_address(team.name),
                "tool": self.schedules.tool(team),
            },
        )

    async def list_overrides(self, command: c.ListOverrides, inv: Invocation) -> Reply:
        teams = [self._team(command.team)] if command.team else list(self.settings.oncall.teams)
        zone = await self._zone_of(inv.user)
        async with self.db.sessions() as session:
            rows = await oncall_store.current(
                session=session, teams=[t.name for t in teams], after=self.clock.now()
            )
        shown = [(row.id, row.team, _seen(override_of(row), zone)) for row in rows]
        return Reply("slack/oncall_overrides.md.j2", {"overrides": shown, "zone": str(zone)})

    async def planned(self, team: Team, now: datetime) -> Team:
        """The team's rota with its overrides that have not ended by `now`; or the shifts its
        paging tool has (raises CommandRefused when it cannot be read and none were before).
        Not inside a database transaction: reading a tool asks Slack who its people are."""
        if self.schedules.tool(team):
            try:
                return await self.schedules.planned(team)
            except ScheduleUnreadable as exc:
                raise CommandRefused(
                    "refused/schedule_unreadable.md.j2",
                    team=team.name,
                    tool=exc.tool,
                    refused=exc.refused,
                ) from None
        async with self.db.sessions() as session:
            rows = await oncall_store.current(session=session, teams=[team.name], after=now)
        return team.with_overrides(override_of(row) for row in rows)

    # -- changing ----------------------------------------------------------------------------
    async def set_override(self, command: c.SetOverride, inv: Invocation) -> Reply:
        team = self._team(command.team)
        await self._may_change(inv.user)
        if self.schedules.tool(team):
            raise CommandRefused(
                "refused/oncall_managed_elsewhere.md.j2",
                team=team.name,
                tool=self.schedules.tool(team),
            )
        user = await self._resolve_user(command.user)
        now = self.clock.now()
        start = _in_zone(command.start, team.zone) if command.start else now
        end = _in_zone(command.end, team.zone)
        if end <= max(start, now):
            raise CommandRefused("refused/oncall_override_ended.md.j2")
        async with self.db.transaction() as session:
            row = oncall_store.add(
                session=session,
                team=team.name,
                user=user,
                start=start,
                end=end,
                by=inv.user,
                at=now,
            )
            await session.flush()
            number = row.id
        log.info("on-call override %s set: %s for team %s by %s", number, user, team.name, inv.user)
        zone = await self._zone_of(inv.user)
        shown = _seen(Shift(user, start, end, "override"), zone)
        return Reply(
            "slack/oncall_override_set.md.j2", {"number": number, "team": team.name, "shift": shown}
        )

    async def remove_override(self, command: c.RemoveOverride, inv: Invocation) -> Reply:
        await self._may_change(inv.user)
        async with self.db.transaction() as session:
            row = await oncall_store.get(session=session, number=command.number)
            if row is None:
                raise CommandRefused("refused/no_such_override.md.j2", number=command.number)
            oncall_store.remove(row, by=inv.user, at=self.clock.now())
            team, user = row.team, row.user_id
        log.info("on-call override %s removed by %s", command.number, inv.user)
        return Reply(
            "slack/oncall_override_removed.md.j2",
            {"number": command.number, "team": team, "user": user},
        )

    # -- the calendar feed ---------------------------------------------------------------------
    def feed_token(self, team: str) -> str | None:
        """The secret of a team's feed address: from [oncall] feed_token, else the signing
        secret, so each team's address is its own and none can be guessed from another. None
        without either (Socket Mode has no signing secret): anyone could make a token from
        nothing, so there is no feed."""
        key = self.settings.oncall.feed_token or self.settings.slack_signing_secret
        if not key:
            return None
        return hmac.new(key.encode(), f"oncall:{team}".encode(), hashlib.sha256).hexdigest()[:32]

    def feed_address(self, team: str) -> str | None:
        token = self.feed_token(team)
        if token is None:
            return None
        base = (self.settings.console.public_url or "").rstrip("/")
        return f"{base}/oncall/{team}.ics?token={token}"

    def feed_team(self, name: str, token: str) -> Team | None:
        """The team whose feed this is, if the token is its own."""
        team = self.settings.oncall.team(name)
        own = self.feed_token(name)
        if team is None or own is None or not same_secret(token, own):
            return None
        return team

    async def feed_shifts(self, team: Team) -> list[Shift]:
        now = self.clock.now()
        planned = await self.planned(team, now)
        start = now.replace(minute=0, second=0, microsecond=0)
        return shifts(planned, start, start + self._horizon)

    # -- helpers -----------------------------------------------------------------------------
    @property
    def _horizon(self) -> timedelta:
        return timedelta(weeks=self.settings.oncall.feed_weeks)

    def _team(self, name: str | None) -> Team:
        teams = self.settings.oncall.teams
        found = self.settings.oncall.team(name) if name else None
        if found is None and name is None and len(teams) == 1:
            found = teams[0]
        if found is None:
            raise CommandRefused(
                "refused/no_such_team.md.j2", team=name, teams=[t.name for t in teams]
            )
        return found

    async def _may_change(self, user: str) -> None:
        if not await self.access.may_without_incident(user=user, action="oncall"):
            raise CommandRefused("refused/oncall_not_allowed.md.j2")

    async def _resolve_user(self, ref: c.UserRef) -> str:
        user = await named_person(self.directory, ref)
        if user is None:
            raise CommandRefused("refused/unknown_oncall_user.md.j2", user=ref.name or ref.id)
        return user

    async def _zone_of(self, user: str) -> ZoneInfo:
        """The user's time zone as Slack knows it, else UTC."""
        try:
            return ZoneInfo(await self.directory.user_time_zone(user) or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


def override_of(row: OnCallOverride) -> Override:
    return Override(row.user_id, row.starts_at, row.ends_at)


def _in_zone(moment: datetime, zone: ZoneInfo) -> datetime:
    """A time as typed: its own offset, else the team's local time."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


def _seen(shift: Shift | Override, zone: ZoneInfo) -> Shift:
    """The shift with its times in the zone of whoever reads it."""
    layer = shift.layer if isinstance(shift, Shift) else "override"
    return Shift(shift.user, shift.start.astimezone(zone), shift.end.astimezone(zone), layer)
