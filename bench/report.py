"""5. Report: an incident with many timeline entries and alerts; the time to load and compile it,
to render it as Markdown, HTML and JSON, and the peak memory of doing so (tracemalloc).

The data is written straight into a migrated SQLite database through bridgekeeper's own store
(the timeline is hash-chained as in production). The renderer is bridgekeeper's ReportService;
the two text formats share one pass that renders the timeline's sentences, which is counted in
both. Runs in this process (no server: a report is rendered where it is asked for).
"""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import harness
from bench.harness import Options, Row
from bridgekeeper.clock import FrozenClock
from bridgekeeper.config import database_url
from bridgekeeper.rendering import Renderer
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Alert, Incident

GOAL_MS = 500.0
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
USERS = ["U0ALICE", "U0BOB", "U0CAROL"]
STAGES = ["detect", "assess", "diagnose", "stabilize"]
SEVERITIES = ["sev3", "sev2", "sev1", "sev2"]


def sizes(options: Options) -> tuple[int, int]:
    """(timeline entries, alerts)"""
    return (500, 50) if options.quick else (10_000, 1000)


async def run(options: Options) -> list[Row]:
    entries, alerts = sizes(options)
    label = f"{entries:,} entries, {alerts:,} alerts"
    try:
        from bridgekeeper.services.reports import ReportService
    except ImportError:
        return [Row("report", f"render Markdown, HTML, JSON ({label})", note="not available")]
    rows = {
        name: Row("report", f"{name} ({label})", unit="ms")
        for name in ("load + compile", "render Markdown", "render HTML", "render JSON")
    }
    memory = Row("report", f"peak memory, compile + render ({label})", unit="MiB")
    db = Database(database_url(harness.sqlite_url(options)))
    try:
        await db.upgrade()
        number = await build_incident(db, entries, alerts)
        service = ReportService(db=db, clock=FrozenClock(START + timedelta(days=2)),
                                renderer=Renderer())  # fmt: skip
        await measure(service, db, number)  # templates compiled, caches warm: not counted
        for _ in range(options.repeats):
            for name, ms in (await measure(service, db, number)).items():
                rows[name].samples.append(ms)
            memory.samples.append(await peak_memory(service, db, number) / 2**20)
    finally:
        await db.dispose()
    for name in ("render Markdown", "render HTML", "render JSON"):
        rows[name].goal, rows[name].met = f"< {GOAL_MS:.0f} ms", rows[name].median < GOAL_MS
    return [*rows.values(), memory]


async def _compile(service: Any, db: Database, number: int) -> dict[str, Any]:
    async with db.sessions() as session:
        incident = await incident_store.get(session=session, number=number)
        assert incident is not None
        users = await service.names(await service.people(session, incident))
        context: dict[str, Any] = await service.compile(session, incident, version=1, users=users)
    return context


async def measure(service: Any, db: Database, number: int) -> dict[str, float]:
    """Milliseconds for each step: the renderer's template calls are timed as they happen."""
    started = time.perf_counter()
    context = await _compile(service, db, number)
    compiled = time.perf_counter() - started
    spent: dict[str, float] = {}
    renderer = service.renderer
    with _timed(renderer, "text", spent), _timed(renderer, "html", spent):
        bodies = service.render(context)
    started = time.perf_counter()
    json.dumps(context, ensure_ascii=False, sort_keys=True)
    as_json = time.perf_counter() - started
    if set(bodies) != {"md", "html", "json"}:
        raise RuntimeError(f"the report renderer gave {sorted(bodies)}")
    shared = sum(s for name, s in spent.items() if name.endswith(".txt.j2"))
    markdown = sum(s for name, s in spent.items() if name.endswith(".md.j2"))
    html = sum(s for name, s in spent.items() if name.endswith(".html.j2"))
    return {
        "load + compile": compiled * 1000,
        "render Markdown": (shared + markdown) * 1000,
        "render HTML": (shared + html) * 1000,
        "render JSON": as_json * 1000,
    }


class _timed:
    """Replace renderer.<method> for a while with one that adds its time per template."""

    def __init__(self, renderer: Renderer, method: str, spent: dict[str, float]) -> None:
        self.renderer, self.method, self.spent = renderer, method, spent
        self.original: Callable[..., str] = getattr(renderer, method)

    def __enter__(self) -> None:
        def timed(template: str, **context: Any) -> str:
            started = time.perf_counter()
            try:
                return self.original(template, **context)
            finally:
                self.spent[template] = self.spent.get(template, 0.0) + (
                    time.perf_counter() - started
                )

        setattr(self.renderer, self.method, timed)

    def __exit__(self, *exc: object) -> None:
        delattr(self.renderer, self.method)  # back to the class's method


async def peak_memory(service: Any, db: Database, number: int) -> int:
    """Bytes at the peak of compiling and rendering, beyond what was allocated before."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        service.render(await _compile(service, db, number))
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
        for seq in range(entries):
            kind, text, data = _entry(seq)
            at = START + timedelta(seconds=seq * 7)
            await incident_store.append(
                session=session, incident=incident, at=at, recorded_at=at,
                actor=USERS[seq % len(USERS)], kind=kind, text=text, data=data,
            )  # fmt: skip
            if seq % 500 == 499:
                await session.flush()
        session.add_all(_alert(incident, i) for i in range(alerts))
    return number


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
