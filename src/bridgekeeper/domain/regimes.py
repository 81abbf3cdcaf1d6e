"""Notification regimes as data: each deadline's start event, its length, and when it falls due.

Pure Python. A deadline runs from an event ("awareness", "classification", "materiality", or
"previous": the deadline before it in the same regime) for some hours, days, US business days
or calendar months. A deadline may also name an `earlier_of` bound (DORA's initial notification:
4 h after classification, and no later than 24 h after awareness). A clock whose start event
has not happened yet is waiting for it (`due_at` is None).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

START_EVENTS = ("awareness", "classification", "materiality", "corrective_measure", "previous")
UNITS = ("hours", "days", "business_days", "months")
EVENT_WORDS = {  # what people type after `notify <regime>`: the event it records
    "classified": "classification",
    "material": "materiality",
    "fixed": "corrective_measure",
}
NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True)
class Span:
    amount: int
    unit: str = "hours"  # one of UNITS
    start: str = "awareness"  # one of START_EVENTS


@dataclass(frozen=True)
class RegimeDeadline:
    label: str
    span: Span
    earlier_of: Span | None = None  # the deadline is the earlier of the two


@dataclass(frozen=True)
class RegimeRule:
    name: str
    title: str
    authority: str
    applies_to: str  # a settings flag or incident fact: personal_data, financial_entity, ...
    deadlines: tuple[RegimeDeadline, ...]
    remind: tuple[str, ...] = ()  # user or user-group ids reminded besides the commander


@dataclass(frozen=True)
class Clock:
    label: str
    due_at: datetime | None  # None: waiting for `waiting_for`
    waiting_for: str | None = None
    start_at: datetime | None = None  # when it started running (reminders count from here)


def add_business_days(start: datetime, days: int) -> datetime:
    """`days` US business days after `start`: weekends and US federal holidays skipped.

    Counted on the New York calendar; the time of day is kept.
    """
    import holidays  # imported when a deadline is counted: several MiB a process would hold idle

    local = start.astimezone(NEW_YORK)
    federal = holidays.country_holidays("US")
    day: date = local.date()
    left = days
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in federal:
            left -= 1
    moved = datetime.combine(day, local.timetz())
    return moved.astimezone(start.tzinfo)


def add_span(start: datetime, span: Span) -> datetime:
    if span.unit == "hours":
        return start + timedelta(hours=span.amount)
    if span.unit == "days":
        return start + timedelta(days=span.amount)
    if span.unit == "business_days":
        return add_business_days(start, span.amount)
    if span.unit == "months":  # 31 January + 1 month = 28 (or 29) February
        return start + relativedelta(months=span.amount)
    raise ValueError(f"unknown unit: {span.unit}")


def _start(
    span: Span, events: Mapping[str, datetime], previous: datetime | None
) -> datetime | None:
    return previous if span.start == "previous" else events.get(span.start)


def _due(span: Span, events: Mapping[str, datetime], previous: datetime | None) -> datetime | None:
    start = _start(span, events, previous)
    return add_span(start, span) if start is not None else None


def clocks(rule: RegimeRule, events: Mapping[str, datetime]) -> list[Clock]:
    """Every deadline of `rule` given the events that happened so far.

    "previous" counts from when the deadline before was met (`events["sent:<label>"]`), or
    else from when it fell due.
    """
    result: list[Clock] = []
    previous: datetime | None = None
    for deadline in rule.deadlines:
        due = _due(deadline.span, events, previous)
        start = _start(deadline.span, events, previous)
        if deadline.earlier_of is not None:
            bound = _due(deadline.earlier_of, events, previous)
            due = min(d for d in (due, bound) if d) if (due or bound) else None
            starts = (start, _start(deadline.earlier_of, events, previous))
            start = min((s for s in starts if s), default=None)
        waiting = None if due else deadline.span.start
        result.append(Clock(deadline.label, due, waiting, start if due else None))
        previous = events.get(f"sent:{deadline.label}", due)
    return result


def _d(label: str, amount: int, unit: str = "hours", start: str = "awareness") -> RegimeDeadline:
    return RegimeDeadline(label, Span(amount, unit, start))


BUILTIN_RULES: tuple[RegimeRule, ...] = (
    RegimeRule(
        "gdpr",
        "GDPR",
        "the supervisory authority",
        "personal_data",
        (_d("notify the supervisory authority", 72),),
    ),
    RegimeRule(
        "nis2",
        "NIS2",
        "the CSIRT or competent authority",
        "essential_entity",
        (
            _d("early warning", 24),
            _d("incident notification", 72),
            _d("final report", 1, "months", "previous"),
        ),
    ),
    RegimeRule(
        "dora",
        "DORA",
        "the competent authority",
        "financial_entity",
        (
            RegimeDeadline(
                "initial notification",
                Span(4, "hours", "classification"),
                earlier_of=Span(24, "hours", "awareness"),
            ),
            _d("intermediate report", 72, "hours", "previous"),
            _d("final report", 1, "months", "previous"),
        ),
    ),
    RegimeRule(
        "cra",
        "EU CRA",
        "the CSIRT coordinator and ENISA",
        "exploited_vulnerability",
        (
            _d("early warning", 24),
            _d("vulnerability notification", 72),
            _d("final report", 14, "days", "corrective_measure"),
        ),
    ),
    RegimeRule(
        "cra-incident",
        "EU CRA (severe incident)",
        "the CSIRT coordinator and ENISA",
        "severe_product_incident",
        (
            _d("early warning", 24),
            _d("incident notification", 72),
            _d("final report", 1, "months", "previous"),
        ),
    ),
    RegimeRule(
        "sec",
        "SEC Form 8-K Item 1.05",
        "the SEC (Form 8-K)",
        "listed_company",
        (_d("file Form 8-K Item 1.05", 4, "business_days", "materiality"),),
    ),
)


NOT_REQUIRED = "not_required"  # a clock's status once the team decided nobody needs notifying


def outcome(
    due_at: datetime | None, done_at: datetime | None, now: datetime | None, *, required: bool
) -> str:
    """met (sent by the deadline), missed (sent late, or past due and not sent), pending,
    waiting (for the event it counts from), or not_required (not sent, and the team decided no
    notification is required)."""
    if done_at is None and not required:
        return "not_required"
    if due_at is None:
        return "met" if done_at else "waiting"
    if done_at is not None:
        return "met" if done_at <= due_at else "missed"
    return "missed" if now is not None and due_at < now else "pending"


def events_used(rule: RegimeRule) -> set[str]:
    """The events other than awareness that `rule`'s deadlines count from."""
    spans = [d.span for d in rule.deadlines] + [
        d.earlier_of for d in rule.deadlines if d.earlier_of
    ]
    return {span.start for span in spans} - {"awareness", "previous"}


def suggestions(rules: tuple[RegimeRule, ...], facts: Mapping[str, bool]) -> list[RegimeRule]:
    """The regimes that may apply, from the team's settings and the incident's impact.

    Only a suggestion: a human starts the clock (`notify <regime>`) or records `notify none`.
    """
    return [rule for rule in rules if facts.get(rule.applies_to)]
