"""The CLI's commands about an incident's records: its report, its indicators' export, and the
audit of its timeline."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from bridgekeeper.config import Settings

if TYPE_CHECKING:
    from bridgekeeper.store.db import Database


async def report(settings: Settings, number: int, fmt: str, version: int | None) -> int:
    from bridgekeeper.clock import SystemClock
    from bridgekeeper.rendering import Renderer
    from bridgekeeper.services.closing import RETRY_MINUTES
    from bridgekeeper.services.reports import ReportService
    from bridgekeeper.store.db import Database

    folders = [settings.reports.template_dir] if settings.reports.template_dir else []
    renderer = Renderer(folders)
    db = Database(settings.database_url, settings.database)
    try:
        await db.check_schema()
        reports = ReportService(db=db, clock=SystemClock(), renderer=renderer)
        compiling = await reports.compiling(number)
        if compiling is not None and version not in (None, compiling):
            compiling = None  # an earlier version was asked for
        earlier = max(await reports.versions(number), default=None) if compiling else None
        stored = await reports.stored(number, fmt, version) if compiling is None else None
        body = stored.body if stored else None
        if body is None and version is None and compiling is None:
            body = await reports.draft(number, fmt)
        found = body is not None or await incident_found(db, number)
    finally:
        await db.dispose()
    if body is None:
        problem = renderer.text(
            "cli/no_report.txt.j2",
            number=number,
            found=found,
            version=version,
            compiling=compiling,
            earlier=earlier,
            retry_minutes=RETRY_MINUTES,
        )
        print(problem.strip(), file=sys.stderr)
        return 1
    sys.stdout.write(body if body.endswith("\n") else body + "\n")
    return 0


async def incident_found(db: Database, number: int) -> bool:
    from bridgekeeper.store import incidents as incident_store

    async with db.sessions() as session:
        return await incident_store.find(session=session, number=number) is not None


async def iocs_export(settings: Settings, number: int, fmt: str) -> int:
    from bridgekeeper.clock import SystemClock
    from bridgekeeper.rendering import Renderer
    from bridgekeeper.services.indicators import confirmed, export_file
    from bridgekeeper.store import incidents as incident_store
    from bridgekeeper.store.db import Database

    renderer = Renderer()
    db = Database(settings.database_url, settings.database)
    try:
        await db.check_schema()
        async with db.sessions() as session:
            incident = await incident_store.find(session=session, number=number)
            rows = await confirmed(session, incident.id) if incident else []
    finally:
        await db.dispose()
    if incident is None or not rows:
        problem = renderer.text("cli/no_indicators.txt.j2", number=number, found=incident)
        print(problem.strip(), file=sys.stderr)
        return 1
    _, content = export_file(renderer, incident, rows, fmt, SystemClock().now())
    sys.stdout.write(content if content.endswith("\n") else content + "\n")
    return 0


async def audit_verify(settings: Settings, number: int | None) -> int:
    """Exit status 0: intact; 1: tampering found; 2: not checked (one line on stderr)."""
    from bridgekeeper.config import redact_url
    from bridgekeeper.errors import SchemaOutOfDate
    from bridgekeeper.rendering import Renderer
    from bridgekeeper.services.audit import NoSuchIncident, verify
    from bridgekeeper.store.db import Database, DatabaseError, failure_reason

    renderer = Renderer()
    db = Database(settings.database_url, settings.database)
    try:
        await db.check_schema()
        report = await verify(db, number)
    except NoSuchIncident:
        print(renderer.text("cli/no_such_incident.txt.j2", number=number), file=sys.stderr)
        return 2
    except SchemaOutOfDate as exc:  # not checked: 2, as for an unreachable database
        print(f"bridgekeeper: {exc}", file=sys.stderr)
        return 2
    except (DatabaseError, OSError) as exc:
        print(
            renderer.text(
                "cli/audit_unreachable.txt.j2",
                database=redact_url(db.url),
                reason=failure_reason(exc),
            ).strip(),
            file=sys.stderr,
        )
        return 2
    finally:
        await db.dispose()
    print(renderer.text("cli/audit.txt.j2", report=report))
    return 0 if report.intact else 1
