"""On-call rotas: who is on call at a moment, and the shifts over a span of time.

A team has layers, lowest first. Each layer is a rotation (people in order, handing over at a
local time every so many days, or every so many hours) and may be limited to some hours of some
weekdays; a higher layer covers the lower ones within its hours. Overrides cover every layer; the
one set last wins. A team whose schedule lives in a paging tool has no layers but the shifts read
from it. Hand-offs counted in days keep their local time across daylight-saving
changes; hand-offs counted in hours are that many real hours apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OVERRIDE = "override"


@dataclass(frozen=True)
class Window:
    """The hours a layer covers: from `start` to `end` local time on these weekdays (0 = Monday).
    An `end` at or before `start` runs past midnight into the next day."""

    weekdays: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True)
class Layer:
    name: str
    users: tuple[str, ...]
    first_day: date  # the first hand-off, at `handoff` local time
    handoff: time
    days: int = 0
    hours: int = 0
    window: Window | None = None


@dataclass(frozen=True)
class Override:
    user: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Shift:
    user: str
    start: datetime
    end: datetime
    layer: str


@dataclass(frozen=True)
class Team:
    name: str
    zone: ZoneInfo
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()
    shifts: tuple[Shift, ...] = ()  # read from a paging tool, for a team with no layers

    def with_overrides(self, overrides: Iterable[Override]) -> Team:
        return replace(self, overrides=(*self.overrides, *overrides))

    def with_shifts(self, shifts: Iterable[Shift]) -> Team:
        return replace(self, shifts=tuple(shifts))


def on_call(team: Team, at: datetime) -> Shift | None:
    """The shift covering `at` (its bounds are those of the layer's or override's turn)."""
    for override in reversed(team.overrides):
        if override.start <= at < override.end:
            return Shift(override.user, override.start, override.end, OVERRIDE)
    for layer in reversed(team.layers):
        if layer.users and covers(layer.window, team.zone, at):
            start, end, turn = _turn(layer, team.zone, at)
            return Shift(layer.users[turn % len(layer.users)], start, end, layer.name)
    return next((shift for shift in team.shifts if shift.start <= at < shift.end), None)


def shifts(team: Team, start: datetime, end: datetime) -> list[Shift]:
    """Who is on call from `start` to `end`, as consecutive shifts clipped to that span."""
    inside = {point for point in _boundaries(team, start, end) if start < point < end}
    points = sorted({start, end, *inside})
    found: list[Shift] = []
    for left, right in pairwise(points):
        current = on_call(team, left)
        if current is None:
            continue
        if found and found[-1].end == left and _same(found[-1], current):
            found[-1] = Shift(current.user, found[-1].start, right, current.layer)
        else:
            found.append(Shift(current.user, left, right, current.layer))
    return found


def upcoming(team: Team, at: datetime, *, count: int, horizon: timedelta) -> list[Shift]:
    """The shift covering `at` (with its true start) and the next ones, at most `count`."""
    found = shifts(team, at, at + horizon)[:count]
    current = on_call(team, at)
    if found and current and found[0].start == at:
        found[0] = Shift(found[0].user, min(current.start, at), found[0].end, found[0].layer)
    return found


def covers(window: Window | None, zone: ZoneInfo, at: datetime) -> bool:
    if window is None:
        return True
    local = at.astimezone(zone).date()
    return any(
        begin <= at < finish
        for day in (local - timedelta(days=1), local)
        for begin, finish in _window_on(window, zone, day)
    )


def local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """A local wall time as an aware UTC moment (a time skipped by DST lands just after it)."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def _same(a: Shift, b: Shift) -> bool:
    return a.user == b.user and a.layer == b.layer


def _handoff(layer: Layer, zone: ZoneInfo, turn: int) -> datetime:
    if layer.hours:
        first = local(layer.first_day, layer.handoff, zone)
        return first + timedelta(hours=layer.hours * turn)
    return local(layer.first_day + timedelta(days=layer.days * turn), layer.handoff, zone)


def _turn(layer: Layer, zone: ZoneInfo, at: datetime) -> tuple[datetime, datetime, int]:
    """The turn of the rotation covering `at`: its start, end and number (0 = the first)."""
    length = timedelta(hours=layer.hours) if layer.hours else timedelta(days=layer.days)
    turn = (at - _handoff(layer, zone, 0)) // length
    while _handoff(layer, zone, turn) > at:
        turn -= 1
    while _handoff(layer, zone, turn + 1) <= at:
        turn += 1
    return _handoff(layer, zone, turn), _handoff(layer, zone, turn + 1), turn


def _window_on(window: Window, zone: ZoneInfo, day: date) -> Sequence[tuple[datetime, datetime]]:
    if day.weekday() not in window.weekdays:
        return ()
    after = day + timedelta(days=1) if window.end <= window.start else day
    return ((local(day, window.start, zone), local(after, window.end, zone)),)


def _boundaries(team: Team, start: datetime, end: datetime) -> Iterable[datetime]:
    for override in team.overrides:
        yield from (override.start, override.end)
    for shift in team.shifts:
        yield from (shift.start, shift.end)
    for layer in team.layers:
        yield from _layer_boundaries(layer, team.zone, start, end)


def _layer_boundaries(
    layer: Layer, zone: ZoneInfo, start: datetime, end: datetime
) -> Iterable[datetime]:
    moment, finish, _ = _turn(layer, zone, start)
    while moment < end:
        yield moment
        moment, finish, _ = _turn(layer, zone, finish)
    if layer.window is not None:
        day = start.astimezone(zone).date() - timedelta(days=1)
        while local(day, time(0), zone) < end:
            for begin, close in _window_on(layer.window, zone, day):
                yield from (begin, close)
            day += timedelta(days=1)
