"""Verify the timeline's hash chains: find entries changed, inserted or deleted behind our back.

Every timeline entry stores the hash of its content and of the entry before it, and the incident
row stores how many entries its timeline has and the hash of the last one (its head). Recomputing
the chains shows:

- a *modified* entry: its content no longer gives its stored hash;
- an *inserted* entry: a repeated sequence number, a link that does not match the entry before,
  or more entries than the incident row counts;
- a *deleted* entry: a gap in the sequence numbers, or fewer entries than the incident row counts;
- a *moved* timeline: its first entry does not start this incident's chain (version 2 chains start
  from a hash of the incident's id and number: moved from another incident, or renumbered).

Then the timeline is replayed to the state it implies (services/audit_state.py) and compared with
what the report shows from other rows: the incident's title, severity, stage, status, impact and
close record, its role assignments, tasks, evidence register (services/audit_evidence.py),
decided indicators (services/audit_indicators.py), and each stored report against its sha256.
A row that says otherwise is *changed*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bridgekeeper.domain.timeline import entry_hash
from bridgekeeper.services import audit_evidence, audit_indicators, audit_state
from bridgekeeper.store import audit as audit_store
from bridgekeeper.store.db import Database, DbSession
from bridgekeeper.store.incidents import chain_start
from bridgekeeper.store.models import Incident, TimelineEntry


class Tampering(StrEnum):
    MODIFIED = "modified"
    INSERTED = "inserted"
    DELETED = "deleted"
    MOVED = "moved"
    CHANGED = "changed"


@dataclass(frozen=True)
class Finding:
    """One thing wrong with an incident's timeline; `detail` names what and `seq` where."""

    incident: int
    kind: Tampering
    detail: str
    seq: int | None = None


@dataclass
class ChainReport:
    incident: int
    entries: int
    head: str
    findings: list[Finding] = field(default_factory=list)


@dataclass
class AuditReport:
    chains: list[ChainReport]

    @property
    def findings(self) -> list[Finding]:
        return [f for chain in self.chains for f in chain.findings]

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def entries(self) -> int:
        return sum(chain.entries for chain in self.chains)


class NoSuchIncident(LookupError):
    def __init__(self, number: int) -> None:
        super().__init__(f"no incident {number}")
        self.number = number


async def verify(db: Database, number: int | None = None) -> AuditReport:
    """Recompute every incident's chain (or one incident's) against the stored hashes."""
    async with db.sessions() as session:
        incidents = await audit_store.incidents(session=session, number=number)
        if number is not None and not incidents:
            raise NoSuchIncident(number)
        chains = [await check_incident(session, incident) for incident in incidents]
    return AuditReport(chains)


async def check_incident(session: DbSession, incident: Incident) -> ChainReport:
    """The chain, then the rows the report shows against the state the timeline implies."""
    rows = await audit_store.rows_of(session=session, incident_id=incident.id)
    entries = rows.entries
    report = check_chain(incident, entries)
    implied = audit_state.replay(entries)
    strict = incident.chain_version >= 2
    problems = [
        *audit_state.differences(implied, incident, rows.roles, rows.tasks, strict=strict),
        *audit_state.report_differences(rows.reports, {e.hash for e in entries}),
        *audit_evidence.differences(entries, rows.evidence),
        *audit_indicators.differences(entries, rows.indicators),
    ]
    report.findings.extend(Finding(incident.number, Tampering.CHANGED, p) for p in problems)
    return report


def check_chain(incident: Incident, entries: Sequence[TimelineEntry]) -> ChainReport:
    report = ChainReport(incident.number, len(entries), incident.timeline_head)
    found = report.findings.append
    previous: TimelineEntry | None = None
    for entry in entries:
        if _recomputed(entry) != entry.hash:
            found(_finding(incident, Tampering.MODIFIED, "content does not match its hash", entry))
        for problem in _link_problems(incident, previous, entry):
            found(problem)
        previous = entry
    for problem in _end_problems(incident, previous, len(entries)):
        found(problem)
    return report


def _link_problems(
    incident: Incident, previous: TimelineEntry | None, entry: TimelineEntry
) -> list[Finding]:
    expected_seq = previous.seq + 1 if previous is not None else 1
    expected_prev = previous.hash if previous is not None else chain_start(incident)
    if entry.seq < expected_seq:
        detail = f"sequence number {entry.seq} repeats or goes back (expected {expected_seq})"
        return [_finding(incident, Tampering.INSERTED, detail, entry)]
    if entry.seq > expected_seq:
        missing = _span(expected_seq, entry.seq - 1)
        return [
            Finding(incident.number, Tampering.DELETED, f"{missing} missing before it", entry.seq)
        ]
    if entry.prev_hash != expected_prev and previous is None:
        detail = "does not start this incident's chain (moved from another incident, or renumbered)"
        return [_finding(incident, Tampering.MOVED, detail, entry)]
    if entry.prev_hash != expected_prev:
        detail = "does not link to the entry before it (inserted or replaced)"
        return [_finding(incident, Tampering.INSERTED, detail, entry)]
    return []


def _end_problems(incident: Incident, last: TimelineEntry | None, count: int) -> list[Finding]:
    """The incident row records the length and head hash; compare the chain's end with them."""
    last_seq = last.seq if last is not None else 0
    head = last.hash if last is not None else ""
    recorded = incident.timeline_length
    if last_seq < recorded:
        detail = (
            f"the incident records {recorded} entries but the timeline ends at "
            f"{last_seq}: {_span(last_seq + 1, recorded)} missing at the end"
        )
        return [Finding(incident.number, Tampering.DELETED, detail)]
    if last_seq > recorded:
        detail = (
            f"the incident records {recorded} entries but the timeline goes on to "
            f"{last_seq}: {_span(recorded + 1, last_seq)} added at the end"
        )
        return [Finding(incident.number, Tampering.INSERTED, detail)]
    if head != (incident.timeline_head or ""):
        detail = "the last entry is not the one the incident records as its head (replaced)"
        return [Finding(incident.number, Tampering.MODIFIED, detail, last_seq or None)]
    if count != recorded:
        detail = f"the incident records {recorded} entries, the timeline holds {count}"
        return [Finding(incident.number, Tampering.INSERTED, detail)]
    return []


def _recomputed(entry: TimelineEntry) -> str:
    return entry_hash(
        prev_hash=entry.prev_hash,
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        kind=entry.kind,
        text=entry.text,
        data=entry.data,
    )


def _finding(incident: Incident, kind: Tampering, detail: str, entry: TimelineEntry) -> Finding:
    return Finding(incident.number, kind, detail, entry.seq)


def _span(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first}-{last}"
