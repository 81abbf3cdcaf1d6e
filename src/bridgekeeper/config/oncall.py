"""[oncall]: the on-call rotas of teams without a paging tool, and their calendar feed; and
[pagerduty] and [goalert], the paging tools other teams read their on-call from.

[oncall.teams.payments]
time_zone = "Europe/Paris"
[[oncall.teams.payments.layers]]
name = "round the clock"
users = ["U0ALICE", "U0BOB"]
start = 2026-03-02          # the first hand-off, at `handoff` local time
handoff = 09:00:00
every_days = 7              # or every_hours = 12
[[oncall.teams.payments.layers]]  # a later layer covers the earlier ones within its hours
name = "office hours"
users = ["U0CAROL"]
start = 2026-03-02
handoff = 09:00:00
every_days = 1
weekdays = ["mon", "tue", "wed", "thu", "fri"]
from = 09:00:00
until = 18:00:00
[oncall.teams.payments.escalation]  # optional: whom a page reaches, level by level
levels = [["oncall"], ["other-layers"], ["U0DAVE"]]
delay_minutes = 10          # unacknowledged this long, a page moves to the next level
repeat = 1                  # start again from the first level once, then stop
[oncall.teams.platform]     # a team whose schedule lives in a paging tool: no layers
source = "pagerduty"        # or "goalert"
schedule = "PABC123"        # or escalation_policy = "PDEF456" (PagerDuty only)
"""

from __future__ import annotations

import re
import uuid
from datetime import date, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, model_validator

from bridgekeeper.config.settings import (
    DEFAULT_PAGERDUTY_API_URL,
    DEFAULT_PAGERDUTY_EVENTS_URL,
    ScheduleSource,
)
from bridgekeeper.config.types import (
    Length,
    ReportToken,
    Secret,
    Shown,
    Table,
    Text,
    base_url,
    choice,
    problem,
)
from bridgekeeper.domain import oncall
from bridgekeeper.domain.oncall import WEEKDAYS
from bridgekeeper.domain.oncall_routing import Route
from bridgekeeper.domain.paging import DEFAULT_DELAY_MINUTES, TARGET_WORDS, Policy

TEAM_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
ROUTING_KEY = re.compile(r"[A-Za-z0-9]{32}")
PAGERDUTY_ID = re.compile(r"P[A-Z0-9]{5,13}")
SOURCES = ("rota", "pagerduty", "goalert")


def _user_id(value: str) -> str:
    if not USER_ID.fullmatch(value):
        raise problem("user_id")
    return value


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise problem("time_zone") from None
    return value


def _team_name(value: str) -> str:
    if not TEAM_NAME.fullmatch(value):
        raise problem("team_name")
    return value


def _page_target(value: str) -> str:
    if value not in TARGET_WORDS and not USER_ID.fullmatch(value):
        raise problem("page_target")
    return value


def _routing_key(value: str) -> str:
    if not ROUTING_KEY.fullmatch(value):
        raise problem("routing_key")
    return value


PageTarget = Annotated[str, AfterValidator(_page_target), Shown("page target")]
RoutingKey = Annotated[str, AfterValidator(_routing_key), Secret(), Shown("secret")]
UserId = Annotated[str, AfterValidator(_user_id), Shown("user ID")]
TimeZone = Annotated[str, AfterValidator(_time_zone), Shown("time zone")]
TeamName = Annotated[str, AfterValidator(_team_name)]
Weekday = Annotated[Literal[WEEKDAYS], choice(WEEKDAYS)]  # type: ignore[valid-type]
LocalDate = Annotated[date, Shown("date")]
LocalTime = Annotated[time, Shown("local time")]


class Layer(Table):
    name: Text = Field(description="shown with the shifts, e.g. office hours")
    users: Annotated[list[UserId], Field(min_length=1)] = Field(
        description="who takes turns, in order"
    )
    start: LocalDate = Field(description="the day of the first hand-off")
    handoff: LocalTime = Field(time(9), description="the local time of hand-offs")
    every_days: Length | None = Field(None, description="days between hand-offs (7: weekly)")
    every_hours: Length | None = Field(None, description="hours between hand-offs, instead")
    weekdays: list[Weekday] = Field(list(WEEKDAYS), description="the days this layer covers")
    from_: LocalTime | None = Field(
        None, alias="from", description="covers from this local time on its weekdays; none: all day"
    )
    until: LocalTime | None = Field(
        None, description="...until this local time (past midnight when earlier than from)"
    )

    @model_validator(mode="after")
    def _sensible(self) -> Layer:
        if (self.every_days is None) == (self.every_hours is None):
            raise problem("one_length")
        if (self.from_ is None) != (self.until is None) or (
            self.from_ and self.from_ == self.until
        ):
            raise problem("from_until")
        if not self.weekdays:
            raise problem("too_short", min_length=1)
        return self


class Escalation(Table):
    levels: Annotated[
        list[Annotated[list[PageTarget], Field(min_length=1)]], Field(min_length=1)
    ] = Field(
        description="whom each level pages: "
        "oncall (the rota's on-call now), other-layers (each other layer's on-call now) or "
        'user IDs, e.g. [["oncall"], ["U0DAVE"]]'
    )
    delay_minutes: Length = Field(
        DEFAULT_DELAY_MINUTES,
        description="minutes a level has to acknowledge before the next is paged",
    )
    repeat: Annotated[int, Field(ge=0)] = Field(
        0, description="times to start again from the first level after the last; 0: stop there"
    )


class Team(Table):
    source: Annotated[Literal[SOURCES], choice(SOURCES)] = Field(  # type: ignore[valid-type]
        "rota",
        description="where the shifts come from: rota (the layers here), pagerduty or goalert "
        "(schedule or escalation_policy, no layers)",
    )
    schedule: Text | None = Field(
        None, description="pagerduty: a schedule ID like PABC123; goalert: a schedule's UUID"
    )
    escalation_policy: Text | None = Field(
        None,
        description="pagerduty: an escalation "
        "policy ID, instead of schedule (its first level is the on-call)",
    )
    time_zone: TimeZone = Field(
        "UTC", description="hand-offs and hours are in this zone, e.g. Europe/Paris"
    )
    layers: list[Layer] = Field(
        [],
        description="[[...layers]]: lowest first; a later layer "
        "covers the earlier ones within its hours; required by source rota",
    )
    escalation: Escalation | None = Field(
        None,
        description="[...escalation]: levels, "
        "delay_minutes, repeat; none: the on-call, then the other layers' on-call, then "
        "stop",
    )
    pagerduty_routing_key: RoutingKey | None = Field(
        None,
        description="the integration key of "
        "the team's PagerDuty service (Events API v2): pages trigger it too; none: Slack "
        "only",
    )

    @model_validator(mode="after")
    def _distinct_layers(self) -> Team:
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise problem("duplicate_layer")
        return self


class RouteTable(Table):
    team: TeamName = Field(description="the team whose on-call person the triage card names")
    sources: list[Text] = Field([], description="alert sources it applies to; empty: any")
    resource: Text | None = Field(
        None, description="a pattern the resource matches, e.g. pay-*; none: any"
    )
    labels: dict[str, Text] = Field(
        {},
        description="patterns labels match, e.g. { service = "
        '"pay*" } (Alertmanager and Grafana labels)',
    )
    page: bool = Field(
        False,
        description="page the team's on-call when such an alert is "
        "declared an incident (by hand or by [alerts] auto_declare)",
    )


class OnCall(Table):
    feed_token: ReportToken | None = Field(
        None,
        description="the secret in the calendar "
        "feeds' address /oncall/<team>.ics?token=...; none: derived from the signing "
        "secret",
    )
    feed_weeks: Length = Field(8, description="weeks of shifts in the calendar feed")
    teams: dict[TeamName, Team] = Field(
        {},
        description="[oncall.teams.<name>]: source, "
        "schedule, escalation_policy, time_zone, pagerduty_routing_key, "
        "[[oncall.teams.<name>.layers]] (name, users, start, handoff, "
        "every_days or every_hours, weekdays, from, until) and [oncall.teams.<name>.escalation] "
        "(levels, delay_minutes, repeat)",
    )
    routes: list[RouteTable] = Field(
        [], description="[[oncall.routes]]: which team an alert belongs to, the first that matches"
    )

    @model_validator(mode="after")
    def _sources_complete(self) -> OnCall:
        for name, team in self.teams.items():
            found = _source_problem(team)
            if found is not None:
                key, kind = found
                raise problem(kind, key=f"oncall.teams.{name}.{key}", source=team.source)
        return self

    @model_validator(mode="after")
    def _routes_name_teams(self) -> OnCall:
        for index, route in enumerate(self.routes):
            if route.team not in self.teams:
                raise problem(
                    "unknown_team",
                    key=f"oncall.routes[{index}].team",
                    team=route.team,
                    teams=sorted(self.teams),
                )
        return self


def _source_problem(team: Team) -> tuple[str, str] | None:
    """(the key, the problem) of a team whose source and keys do not fit together."""
    if team.source == "rota":
        extra = "schedule" if team.schedule else "escalation_policy"
        if team.schedule or team.escalation_policy:
            return extra, "rota_no_schedule"
        return ("layers", "rota_needs_layers") if not team.layers else None
    if team.layers:
        return "layers", "source_no_layers"
    if team.source == "goalert" and team.escalation_policy:
        return "escalation_policy", "goalert_schedule_only"
    if bool(team.schedule) == bool(team.escalation_policy):
        return "schedule", "source_needs_schedule"
    value = team.schedule or team.escalation_policy or ""
    key = "schedule" if team.schedule else "escalation_policy"
    if team.source == "pagerduty" and not PAGERDUTY_ID.fullmatch(value):
        return key, "pagerduty_id"
    if team.source == "goalert" and not _is_uuid(value):
        return key, "goalert_id"
    return None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def to_teams(table: OnCall) -> tuple[oncall.Team, ...]:
    return tuple(
        oncall.Team(name, ZoneInfo(team.time_zone), tuple(_layer(t) for t in team.layers))
        for name, team in table.teams.items()
    )


def to_routes(table: OnCall) -> tuple[Route, ...]:
    return tuple(
        Route(r.team, frozenset(r.sources), r.resource, dict(r.labels), r.page)
        for r in table.routes
    )


def to_policies(table: OnCall) -> dict[str, Policy]:
    """The escalation policies the file sets (other teams take the default)."""
    return {
        name: Policy(
            tuple(tuple(level) for level in team.escalation.levels),
            timedelta(minutes=team.escalation.delay_minutes),
            team.escalation.repeat,
        )
        for name, team in table.teams.items()
        if team.escalation is not None
    }


def to_sources(table: OnCall) -> dict[str, ScheduleSource]:
    """Where the teams without a rota read their shifts."""
    return {
        name: ScheduleSource(team.source, team.schedule, team.escalation_policy)
        for name, team in table.teams.items()
        if team.source != "rota"
    }


def to_pagerduty_keys(table: OnCall) -> dict[str, str]:
    return {
        name: team.pagerduty_routing_key
        for name, team in table.teams.items()
        if team.pagerduty_routing_key
    }


def _layer(layer: Layer) -> oncall.Layer:
    window = None
    if layer.from_ is not None or len(layer.weekdays) < len(WEEKDAYS):
        window = oncall.Window(
            frozenset(WEEKDAYS.index(day) for day in layer.weekdays),
            layer.from_ or time(0),
            layer.until or time(0),
        )
    return oncall.Layer(
        layer.name,
        tuple(layer.users),
        layer.start,
        layer.handoff,
        days=layer.every_days or 0,
        hours=layer.every_hours or 0,
        window=window,
    )


class PagerDuty(Table):
    events_url: Annotated[Text, AfterValidator(base_url)] = Field(
        DEFAULT_PAGERDUTY_EVENTS_URL,
        description="where pages of teams with a "
        "pagerduty_routing_key are sent (PagerDuty Events API v2)",
    )
    api_url: Annotated[Text, AfterValidator(base_url)] = Field(
        DEFAULT_PAGERDUTY_API_URL,
        description='the REST API that teams with source = "pagerduty" read their on-call '
        "from (with BRIDGEKEEPER_PAGERDUTY_TOKEN)",
    )


class GoAlert(Table):
    url: Annotated[Text | None, AfterValidator(base_url)] = Field(
        None,
        description="the "
        "GoAlert server, e.g. https://goalert.example.com; required by teams with source = "
        '"goalert" (with BRIDGEKEEPER_GOALERT_TOKEN)',
    )
