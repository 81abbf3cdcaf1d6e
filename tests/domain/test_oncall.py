"""On-call rotas as pure values: hand-offs across DST, layers, overrides, shifts over a span."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bridgekeeper.domain.oncall import (
    OVERRIDE,
    Layer,
    Override,
    Shift,
    Team,
    Window,
    on_call,
    shifts,
    upcoming,
)
from bridgekeeper.domain.oncall_routing import Route, labels_of, team_for

PARIS = ZoneInfo("Europe/Paris")
DAILY = Layer("primary", ("UALICE", "UBOB", "UCAROL"), date(2026, 3, 1), time(9), days=1)
DAYTIME = Layer(
    "daytime",
    ("UDAN",),
    date(2026, 3, 2),
    time(9),
    days=7,
    window=Window(frozenset(range(5)), time(9), time(18)),
)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)  # type: ignore[misc]


def test_a_daily_handoff_stays_at_nine_local_across_the_dst_change() -> None:
    team = Team("payments", PARIS, (DAILY,))
    found = shifts(team, paris(2026, 3, 28, 12), paris(2026, 3, 31, 12))
    local_starts = [shift.start.astimezone(PARIS).time() for shift in found[1:]]
    assert local_starts == [time(9)] * 3
    saturday = on_call(team, paris(2026, 3, 28, 12))  # Paris moves to summer time that night
    assert saturday is not None
    assert saturday.end - saturday.start == timedelta(hours=23)


def test_the_rotation_goes_round_the_people_in_order() -> None:
    team = Team("payments", PARIS, (DAILY,))
    users = [on_call(team, paris(2026, 3, day, 10)) for day in range(1, 8)]
    assert [shift.user for shift in users if shift] == ["UALICE", "UBOB", "UCAROL"] * 2 + ["UALICE"]


def test_before_the_first_handoff_the_turns_count_backwards() -> None:
    team = Team("payments", PARIS, (DAILY,))
    shift = on_call(team, paris(2026, 2, 28, 10))
    assert shift is not None
    assert shift.user == "UCAROL"


def test_hourly_handoffs_are_real_hours_apart_across_dst() -> None:
    layer = Layer("nights", ("UALICE", "UBOB"), date(2026, 3, 29), time(0), hours=12)
    found = shifts(Team("ops", PARIS, (layer,)), paris(2026, 3, 29, 0), paris(2026, 3, 30, 13))
    assert {shift.end - shift.start for shift in found[:-1]} == {timedelta(hours=12)}
    assert found[1].start.astimezone(PARIS).time() == time(13)


def test_a_daytime_layer_covers_the_round_the_clock_one_within_its_hours() -> None:
    team = Team("payments", PARIS, (DAILY, DAYTIME))
    assert on_call(team, paris(2026, 3, 3, 10)).user == "UDAN"  # type: ignore[union-attr]
    assert on_call(team, paris(2026, 3, 3, 19)).user == "UCAROL"  # type: ignore[union-attr]
    assert on_call(team, paris(2026, 3, 7, 10)).user == "UALICE"  # type: ignore[union-attr]


def test_the_day_splits_into_the_layers_shifts() -> None:
    team = Team("payments", PARIS, (DAILY, DAYTIME))
    tuesday = shifts(team, paris(2026, 3, 3, 0), paris(2026, 3, 4, 0))
    assert [(s.user, s.start.astimezone(PARIS).hour, s.layer) for s in tuesday] == [
        ("UBOB", 0, "primary"),
        ("UDAN", 9, "daytime"),
        ("UCAROL", 18, "primary"),
    ]


def test_an_override_across_a_handoff_covers_both_turns() -> None:
    override = Override("UERIN", paris(2026, 3, 3, 20), paris(2026, 3, 4, 12))
    team = Team("payments", PARIS, (DAILY,), (override,))
    found = shifts(team, paris(2026, 3, 3, 12), paris(2026, 3, 4, 18))
    assert [(s.user, s.layer, s.start.astimezone(PARIS).hour) for s in found] == [
        ("UCAROL", "primary", 12),
        ("UERIN", OVERRIDE, 20),
        ("UALICE", "primary", 12),
    ]


def test_the_override_set_last_wins() -> None:
    first = Override("UERIN", paris(2026, 3, 3, 8), paris(2026, 3, 3, 20))
    second = Override("UFRANK", paris(2026, 3, 3, 10), paris(2026, 3, 3, 11))
    team = Team("payments", PARIS, (DAILY,), (first, second))
    assert on_call(team, paris(2026, 3, 3, 10, 30)).user == "UFRANK"  # type: ignore[union-attr]
    assert on_call(team, paris(2026, 3, 3, 11)).user == "UERIN"  # type: ignore[union-attr]


def test_upcoming_starts_with_the_current_shift_from_its_handoff() -> None:
    team = Team("payments", PARIS, (DAILY,))
    now, *following = upcoming(team, paris(2026, 3, 3, 15), count=3, horizon=timedelta(days=7))
    assert (now.user, now.start) == ("UCAROL", paris(2026, 3, 3, 9))
    assert [shift.user for shift in following] == ["UALICE", "UBOB"]


def test_a_team_with_only_a_window_layer_has_nobody_outside_it() -> None:
    team = Team("payments", PARIS, (DAYTIME,))
    assert on_call(team, paris(2026, 3, 7, 10)) is None
    assert shifts(team, paris(2026, 3, 7, 0), paris(2026, 3, 8, 0)) == []


moments = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001 (hypothesis takes naive bounds)
    max_value=datetime(2028, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@settings(max_examples=60, deadline=None)
@given(
    start=moments,
    hours=st.integers(1, 24 * 21),
    zone=st.sampled_from(["Europe/Paris", "America/New_York", "Australia/Sydney", "UTC"]),
)
def test_shifts_tile_the_span_and_agree_with_on_call(
    start: datetime, hours: int, zone: str
) -> None:
    team = Team("payments", ZoneInfo(zone), (DAILY, DAYTIME))
    end = start + timedelta(hours=hours)
    found = shifts(team, start, end)
    assert found[0].start == start
    assert found[-1].end == end
    for before, after in pairwise(found):
        assert before.end == after.start
        assert (before.user, before.layer) != (after.user, after.layer)
    for shift in found:
        middle = shift.start + (shift.end - shift.start) / 2
        assert on_call(team, middle).user == shift.user  # type: ignore[union-attr]


@settings(max_examples=60, deadline=None)
@given(at=moments, zone=st.sampled_from(["Europe/Paris", "America/New_York", "Asia/Kolkata"]))
def test_daily_handoffs_keep_their_local_time(at: datetime, zone: str) -> None:
    team = Team("payments", ZoneInfo(zone), (DAILY,))
    shift = on_call(team, at)
    assert shift is not None
    assert shift.start <= at < shift.end
    assert shift.start.astimezone(ZoneInfo(zone)).time() == time(9)
    assert shift.end.astimezone(ZoneInfo(zone)).time() == time(9)


ROUTES = (
    Route("payments", frozenset({"alertmanager"}), labels={"service": "pay*"}),
    Route("stores", resource="store-*"),
)


def test_a_team_read_from_a_paging_tool_has_its_shifts_and_gaps() -> None:
    """Shifts read from PagerDuty or GoAlert: on call within them, nobody between them."""
    bob = Shift("UBOB", paris(2026, 3, 2, 9), paris(2026, 3, 3, 9), "PagerDuty")
    carol = Shift("UCAROL", paris(2026, 3, 4, 9), paris(2026, 3, 5, 9), "PagerDuty")
    team = Team("platform", PARIS, ()).with_shifts([bob, carol])
    assert on_call(team, paris(2026, 3, 2, 20)) == bob
    assert on_call(team, paris(2026, 3, 3, 12)) is None
    assert shifts(team, paris(2026, 3, 2, 12), paris(2026, 3, 6)) == [
        Shift("UBOB", paris(2026, 3, 2, 12), paris(2026, 3, 3, 9), "PagerDuty"),
        carol,
    ]
    now = paris(2026, 3, 2, 12)
    assert upcoming(team, now, count=4, horizon=timedelta(days=7)) == [bob, carol]


def test_the_first_matching_route_names_the_team() -> None:
    assert (
        team_for(ROUTES, source="alertmanager", resource="store-1", labels={"service": "payments"})
        == "payments"
    )
    assert (
        team_for(ROUTES, source="grafana", resource="store-1", labels={"service": "payments"})
        == "stores"
    )
    assert team_for(ROUTES, source="alertmanager", resource=None, labels={}) is None


def test_labels_are_read_from_the_alert_the_source_sent() -> None:
    raw = {"receiver": "x", "alerts": [{"labels": {"service": "payments", "replicas": 3}}]}
    assert labels_of(raw) == {"service": "payments", "replicas": "3"}
    assert labels_of({"labels": "not a table"}) == {}
