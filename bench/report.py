"""5. Report: an incident with many timeline entries and alerts; the time to compile its
outline (one pass over the timeline) and to build each format (Markdown, HTML, JSON: the
entries read again page by page, rendered, hashed), and the peak memory of doing so
(tracemalloc). The closing of a long incident, in a server process, is in bench/long_close.py.

The data is written straight into a migrated SQLite database (the timeline hash-chained as in
production). The builder is bridgekeeper's ReportService, as a close runs it: in a worker
thread, reading through the event loop. Runs in this process.
"""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from bench import harness
from bench.harness import Options, Row
from bridgekeeper.clock import FrozenClock
from bridgekeeper.config import database_url
from bridgekeeper.domain.timeline import entry_hash
from bridgekeeper.rendering import Renderer
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Alert, Incident, TimelineEntry

GOAL_MS = 2000.0
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
USERS = ["U0ALICE", "U0BOB", "U0CAROL"]
STAGES = ["detect", "assess", "diagnose", "stabilize"]
SEVERITIES = ["sev3", "sev2", "sev1", "sev2"]
FORMAT_NAMES = {"md": "Markdown", "html": "HTML", "json": "JSON"}


def sizes(options: Options) -> tuple[int, int]:
    """(timeline entries, alerts)"""
    return (500, 50) if options.quick else (20_000, 1000)


async def run(options: Options) -> list[Row]:
    entries, alerts = sizes(options)
    label = f"{entries:,} entries, {alerts:,} alerts"
    from bridgekeeper.services.reports import ReportService

    rows = {"outline": Row("report", f"outline, one pass ({label})", unit="ms")} | {
        fmt: Row("report", f"render {name} ({label})", unit="ms")
        for fmt, name in FORMAT_NAMES.items()
    }
    memory = Row("report", f"peak memory, outline + 3 formats ({label})", unit="MiB")
    db = Database(database_url(harness.sqlite_url(options)))
    try:
        await db.upgrade()
        number = await build_incident(db, entries, alerts)
        service = ReportService(db=db, clock=FrozenClock(START + timedelta(days=2)),
                                renderer=Renderer())  # fmt: skip
        await measure(service, db, number)  # templates compiled, caches warm: not counted
        for _ in range(options.repeats):
            for name, seconds in (await measure(service, db, number)).items():
                rows[name].samples.append(seconds * 1000)
            memory.samples.append(await peak_memory(service, db, number) / 2**20)
    finally:
        await db.dispose()
    for fmt in FORMAT_NAMES:  # a format is its share of the outline plus its own pass
        total = rows["outline"].median + rows[fmt].median
        rows[fmt].goal, rows[fmt].met = f"< {GOAL_MS:.0f} ms with the outline", total < GOAL_MS
    return [*rows.values(), memory]


async def measure(service: Any, db: Database, number: int) -> dict[str, float]:
    """Seconds for the outline and for each format, timed in the worker thread."""
    from bridgekeeper.services.report_build import Build, Sink

    def job(build: Build) -> dict[str, float]:
        started = time.perf_counter()
        report = build.outline()
        spent = {"outline": time.perf_counter() - started}
        for fmt in FORMAT_NAMES:
            started = time.perf_counter()
            build.write(fmt, report, Sink(lambda number, part: None, service.part_bytes))
            spent[fmt] = time.perf_counter() - started
        return spent

    async with db.sessions() as session:
        incident = await incident_store.get(session=session, number=number)
        assert incident is not None
        users = await service.names(await service.people(session, incident))
        source = await service.source(session, incident, version=1, users=users)
        spent: dict[str, float] = await service.in_thread(session, incident, source, job)
    return spent


async def peak_memory(service: Any, db: Database, number: int) -> int:
    """Bytes at the peak of the outline and the three formats, beyond what was allocated."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        await measure(service, db, number)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- the data ------------------------------------------------------------------------------------
async def build_incident(db: Database, entries: int, alerts: int) -> int:
    """An incident with `entries` timeline entries (a mix of kinds) and `alerts` alerts."""
    async with db.transaction() as session:
        number = await incident_store.next_number(session=session)
        incident = Incident(
            number=number, title="Credential stuffing against the customer portal",
            severity="sev2", initial_severity="sev3", stage="detect", status="open",
            private=False, declared_by=USERS[0], declared_at=START, detected_at=START,
            channel_id="C0BENCH", channel_name=f"inc-{number}-credential-stuffing", impact={},
            timeline_head="", timeline_length=0, version=0,
        )  # fmt: skip
        session.add(incident)
        await session.flush()
        await add_entries(session, incident, entries)
        session.add_all(_alert(incident, i) for i in range(alerts))
    return number


async def add_entries(session: Any, incident: Incident, count: int, batch: int = 5000) -> None:
    """`count` hash-chained entries after the incident's last, inserted in batches."""
    prev = incident.timeline_head or incident_store.chain_start(incident)
    rows: list[dict[str, Any]] = []
    first = incident.timeline_length
    for seq in range(first + 1, first + count + 1):
        kind, text, data = _entry(seq - 1)
        at, actor = START + timedelta(seconds=seq * 7), USERS[seq % len(USERS)]
        digest = entry_hash(prev_hash=prev, seq=seq, at=at, actor=actor, kind=kind, text=text,
                            data=data)  # fmt: skip
        rows.append({"incident_id": incident.id, "seq": seq, "at": at, "recorded_at": at,
                     "actor": actor, "kind": kind, "text": text, "data": data,
                     "prev_hash": prev, "hash": digest})  # fmt: skip
        prev = digest
        if len(rows) == batch or seq == first + count:
            await session.execute(insert(TimelineEntry), rows)
            rows = []
    incident.timeline_head, incident.timeline_length = prev, first + count


def _entry(seq: int) -> tuple[str, str, dict[str, Any]]:
    """A plausible mix: mostly notes, with role, severity and stage changes and tasks."""
    user = USERS[(seq + 1) % len(USERS)]
    if seq == 0:
        return "declared", "", {"title": "Credential stuffing", "severity": "sev3"}
    match seq % 20:
        case 1:
            return "role_assigned", "", {"role": "commander", "user": user, "previous": None}
        case 2:
            i = (seq // 20) % len(SEVERITIES)
            return "severity_changed", f"reason {seq} <b>&", {
                "from": SEVERITIES[i - 1], "to": SEVERITIES[i]}  # fmt: skip
        case 3:
            i = (seq // 20) % len(STAGES)
            return "stage_changed", "", {"from": STAGES[i - 1], "to": STAGES[i]}
        case 4:
            return "task_added", f"Rotate the keys of service {seq}", {"number": seq, "owner": user}
        case 5:
            return "task_done", f"Rotate the keys of service {seq - 1}", {"number": seq - 1}
        case _:
            return "note", f"Observation {seq}: blocked 1.2.3.{seq % 255} after *many* failures", {}


def _alert(incident: Incident, i: int) -> Alert:
    seen = START + timedelta(seconds=i * 11)
    fields: dict[str, Any] = dict(
        source="alertmanager", external_id=f"fp{i:012d}", dedup_key=f"alertmanager:fp{i:012d}",
        title=f"Failed logins above threshold on web-{i % 40:02d}", description="",
        severity="sev2", source_severity="critical", status="firing", resource=f"web-{i % 40:02d}",
        entities={}, correlation_keys=[f"host:web-{i % 40:02d}"], link="https://example.com/a",
        first_seen=seen, last_seen=seen + timedelta(minutes=5), occurrences=1 + i % 7, raw={},
        incident_id=incident.id, incident_number=incident.number, triage="linked",
        triaged_by=USERS[i % len(USERS)], triaged_at=seen + timedelta(minutes=1),
    )  # fmt: skip
    known = set(Alert.__mapper__.attrs.keys())  # the model is still growing; set what it has
    return Alert(**{key: value for key, value in fields.items() if key in known})
