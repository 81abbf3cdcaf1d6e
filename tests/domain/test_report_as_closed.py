"""A close's report, compiled after a reopen changed the incident, shows it as that close left
it (domain/report_as_closed.py): what changed after the close's last entry is left out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridgekeeper.domain.evidence import ADDED, TRANSFERRED, CustodyStep, EvidenceFacts
from bridgekeeper.domain.report import (
    AlertFacts,
    IncidentFacts,
    RegulatoryClock,
    ReportInput,
    RoleSpell,
    TaskFacts,
)
from bridgekeeper.domain.report_as_closed import as_closed

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CLOSED = START + timedelta(hours=2)
BEFORE, AFTER = CLOSED - timedelta(minutes=5), CLOSED + timedelta(minutes=5)
AT_THE_CLOSE = CLOSED + timedelta(microseconds=40)  # the close form's follow-up tasks
LAST_ENTRY = CLOSED + timedelta(microseconds=50)  # the closing transaction's last entry


def incident() -> IncidentFacts:
    """The incident as its close left it (the facts a report version keeps)."""
    return IncidentFacts(
        number=7,
        title="Leaked key",
        severity="sev2",
        initial_severity="sev2",
        stage="close",
        status="closed",
        private=True,
        declared_by="U0ALICE",
        declared_at=START,
        detected_at=START,
        closed_at=CLOSED,
    )


def spell(role: str, user: str, at: datetime, ended: datetime | None = None) -> RoleSpell:
    return RoleSpell(role=role, user=user, assigned_by="U0ALICE", assigned_at=at, ended_at=ended)


def task(number: int, at: datetime, done: datetime | None = None) -> TaskFacts:
    return TaskFacts(
        number=number,
        text=f"task {number}",
        owner="U0BOB",
        created_by="U0ALICE",
        created_at=at,
        done_by="U0BOB" if done else None,
        done_at=done,
    )


def alert(title: str, first_seen: datetime, **changes: object) -> AlertFacts:
    facts = AlertFacts(source="generic", title=title, severity="sev2", first_seen=first_seen)
    names = {"acked_by": "acknowledged_by", "acked_at": "acknowledged_at"}
    return AlertFacts(**{**facts.__dict__, **{names.get(k, k): v for k, v in changes.items()}})


def evidence(number: int, at: datetime, *handovers: tuple[datetime, str]) -> EvidenceFacts:
    steps = [CustodyStep(at=at, actor="U0ALICE", kind=ADDED)]
    steps += [CustodyStep(at=t, actor="U0ALICE", kind=TRANSFERRED, to=to) for t, to in handovers]
    last = handovers[-1][1] if handovers else "U0ALICE"
    return EvidenceFacts(
        number=number,
        description=f"item {number}",
        collected_by="U0ALICE",
        collected_at=at,
        custodian=last,
        history=tuple(steps),
    )


def indicator(number: int, confirmed_at: datetime | None) -> dict[str, object]:
    at = confirmed_at.isoformat() if confirmed_at else None
    return {"number": number, "type": "ipv4", "value": "198.51.100.7", "confirmed_at": at}


def clock(
    regime: str, started: datetime, decided: datetime | None, *met: datetime
) -> RegulatoryClock:
    deadlines = [
        {"label": "a deadline", "done_at": at.isoformat(), "done_by": "U0CAROL"} for at in met
    ]
    return RegulatoryClock(
        regime=regime,
        status="not_required" if decided else "open",
        aware_at=START,  # the declaration's, however late the clock was started
        started_at=started,
        deadlines=deadlines,
        decided_by="U0CAROL" if decided else None,
        decided_at=decided,
        rationale="no personal data" if decided else None,
    )


def reopened_and_changed() -> ReportInput:
    """What a report reads once the incident was reopened and worked on after its close."""
    return ReportInput(
        incident=incident(),
        entries=(),
        roles=[
            spell("commander", "U0ALICE", START, ended=AFTER),
            spell("commander", "U0BOB", AFTER),
            spell("scribe", "U0CAROL", START, ended=BEFORE),
        ],
        tasks=[
            task(1, START, done=BEFORE),
            task(2, START, done=AFTER),
            task(3, AT_THE_CLOSE),
            task(4, AFTER),
        ],
        alerts=[
            alert("joined before", START, last_seen=AFTER, acked_by="U0BOB", acked_at=AFTER),
            alert(
                "acknowledged after", START, acked_by="U0BOB", acked_at=AFTER, triage="acknowledged"
            ),
            alert("fired after the reopen", AFTER),
        ],
        evidence=[
            evidence(1, START, (BEFORE, "U0BOB"), (AFTER, "U0CAROL")),
            evidence(2, START, (AFTER, "U0DAVE")),
            evidence(3, AFTER),
        ],
        indicators=[indicator(1, BEFORE), indicator(2, AFTER)],
        clocks=[
            clock("gdpr", START, AFTER, BEFORE, AFTER),
            clock("nis2", START, BEFORE),
            clock("sec", AFTER, None),
        ],
    )


def test_what_changed_after_the_close_is_left_out() -> None:
    closed = as_closed(reopened_and_changed(), LAST_ENTRY)

    assert [(s.role, s.user, s.ended_at) for s in closed.roles] == [
        ("commander", "U0ALICE", None),  # handed on after the close: still hers at it
        ("scribe", "U0CAROL", BEFORE),
    ]
    assert [(t.number, t.done_at) for t in closed.tasks] == [(1, BEFORE), (2, None), (3, None)]
    assert [t.done_by for t in closed.tasks] == ["U0BOB", None, None]

    joined, acknowledged = closed.alerts
    assert (joined.title, joined.last_seen, joined.acknowledged_by) == (
        "joined before",
        LAST_ENTRY,
        None,
    )
    assert (acknowledged.acknowledged_at, acknowledged.triage) == (None, "new")

    assert [(e.number, e.custodian, len(e.history)) for e in closed.evidence] == [
        (1, "U0BOB", 2),
        (2, "U0ALICE", 1),  # handed over only after the close: still with its collector
    ]
    assert [i["number"] for i in closed.indicators] == [1]

    gdpr, nis2 = closed.clocks  # the SEC's clock was started after the close
    assert (gdpr.status, gdpr.decided_by, gdpr.rationale) == ("open", None, None)
    assert [d["done_by"] for d in gdpr.deadlines] == ["U0CAROL", None]
    assert (nis2.status, nis2.decided_at) == ("not_required", BEFORE)


def test_without_the_close_s_last_entry_it_is_left_as_it_is() -> None:
    closed = reopened_and_changed()
    assert as_closed(closed, None) is closed


def test_a_close_after_every_change_leaves_everything() -> None:
    source = reopened_and_changed()
    closed = as_closed(source, AFTER + timedelta(minutes=1))
    assert closed.roles == source.roles and closed.tasks == source.tasks
    assert closed.alerts == source.alerts and closed.evidence == source.evidence
    assert closed.indicators == source.indicators and closed.clocks == source.clocks
