"""When reminders fall due: update cadence, missing commander, post-incident review, and the
deadlines of regulatory notification clocks.

Pure Python: no Slack, HTTP or database here. Every function takes the facts it needs and
answers with a time (or None: no reminder). The scheduler re-asks these functions when a job
fires, so a change in the meantime (an update posted, a commander named) means no reminder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bridgekeeper.domain.incidents import Severity

DEFAULT_CADENCE_MINUTES: Mapping[Severity, int | None] = {
    Severity.SEV1: 30,
    Severity.SEV2: 60,
    Severity.SEV3: 240,
    Severity.SEV4: None,
}
SNOOZE_MINUTES = (15, 60)
REMINDER_FRACTIONS = (0.5, 0.8)  # of the time from awareness to a deadline
LAST_CALL = timedelta(hours=1)  # and one hour before it


# -- update cadence, commander, review ---------------------------------------------------------
@dataclass(frozen=True)
class ReminderPolicy:
    cadence: Mapping[Severity, timedelta | None]
    no_commander: timedelta
    review_after: timedelta

    def cadence_for(self, severity: Severity) -> timedelta | None:
        return self.cadence.get(severity)


@dataclass(frozen=True)
class UpdateFacts:
    """What the update reminder depends on."""

    open: bool
    severity: Severity
    declared_at: datetime
    last_update_at: datetime | None = None
    promised_at: datetime | None = None  # "next update by", given with the last update
    promise_chosen: bool = True  # picked in the form (else the cadence's, when it was posted)
    reminded_at: datetime | None = None  # the last reminder
    snoozed_at: datetime | None = None
    snoozed_until: datetime | None = None


def update_due(facts: UpdateFacts, policy: ReminderPolicy) -> datetime | None:
    """When the commander is next reminded to post an update; None: never."""
    if not facts.open:
        return None
    cadence = policy.cadence_for(facts.severity)
    latest = max(t for t in (facts.declared_at, facts.last_update_at, facts.reminded_at) if t)
    if facts.snoozed_until and facts.snoozed_at and facts.snoozed_at >= latest:
        return facts.snoozed_until
    if facts.reminded_at and facts.reminded_at == latest:  # reminded, and still no update
        return facts.reminded_at + cadence if cadence else None
    if facts.last_update_at and facts.last_update_at == latest and facts.promised_at:
        if facts.promise_chosen or not cadence:
            return facts.promised_at
        return min(facts.promised_at, latest + cadence)  # kept, and sooner if the severity rose
    return latest + cadence if cadence else None


def commander_due(
    *,
    open: bool,
    declared_at: datetime,
    has_commander: bool,
    reminded_at: datetime | None,
    policy: ReminderPolicy,
) -> datetime | None:
    """One reminder when nobody is commander some minutes after the declaration."""
    if not open or has_commander or reminded_at is not None:
        return None
    return declared_at + policy.no_commander


def review_due(
    *, closed_at: datetime | None, reminded_at: datetime | None, policy: ReminderPolicy
) -> datetime | None:
    """One reminder to hold the review, some days after the (latest) close."""
    if closed_at is None or (reminded_at is not None and reminded_at >= closed_at):
        return None
    return closed_at + policy.review_after


# -- regulatory notification deadlines (the regimes themselves: domain/regimes.py) -------------
@dataclass(frozen=True)
class DueDeadline:
    label: str
    start_at: datetime  # when its clock started running
    due_at: datetime


def reminder_times(start_at: datetime, due_at: datetime) -> list[datetime]:
    """Half time, 80 % of the time, one hour before, and the deadline itself."""
    span = due_at - start_at
    points = {start_at + span * fraction for fraction in REMINDER_FRACTIONS}
    points |= {due_at - LAST_CALL, due_at}
    return sorted(p for p in points if p > start_at)


@dataclass(frozen=True)
class ClockReminder:
    deadline: DueDeadline
    at: datetime  # the reminder point that fell due


def due_reminder(
    open_deadlines: list[DueDeadline], after: datetime, now: datetime
) -> ClockReminder | None:
    """The reminder to send now: the most urgent deadline with a point in (after, now].

    Several points that fell due together (a process that was down) make one reminder.
    """
    for deadline in sorted(open_deadlines, key=lambda d: d.due_at):
        fallen = [p for p in reminder_times(deadline.start_at, deadline.due_at) if after < p <= now]
        if fallen:
            return ClockReminder(deadline, fallen[-1])
    return None


def next_reminder(open_deadlines: list[DueDeadline], after: datetime) -> datetime | None:
    """The first reminder point after `after` over the deadlines still open."""
    points = [
        p
        for deadline in open_deadlines
        for p in reminder_times(deadline.start_at, deadline.due_at)
        if p > after
    ]
    return min(points, default=None)
