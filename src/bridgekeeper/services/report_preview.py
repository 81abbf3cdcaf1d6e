"""`/incident report`: the first sections of an incident's report in Slack. An open incident's
read as a draft; a closed one's as its latest version stored, or as the version its close
reserved while that is not compiled yet (services/closing.py)."""

from __future__ import annotations

from bridgekeeper.domain import commands as c
from bridgekeeper.domain.incidents import Status
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.services.reports import ReportService, version_compiling
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply


class ReportPreview:
    def __init__(self, *, incidents: IncidentService, reports: ReportService) -> None:
        self.incidents = incidents
        self.reports = reports

    def register(self, runner: CommandRunner) -> None:
        runner.on(c.ShowReport, self.show)

    async def show(self, command: c.ShowReport, inv: Invocation) -> Reply:
        async with self.incidents.db.sessions() as session:
            incident = await self.incidents.locate(
                session,
                user=inv.user,
                action="read",
                number=command.incident,
                channel=inv.channel,
                subcommand="report",
                open_only=False,
            )
            stored = None
            compiling = await version_compiling(session, incident)
            if incident.status == Status.CLOSED and compiling is None:
                stored = await self.reports.stored(incident.number, "md", whole=False)
            version = compiling or (stored.version if stored else 0)
            users = await self.reports.names(await self.reports.people(session, incident))
            # The sections the preview shows, as the stored version has them: only a close
            # changes them, and that makes a new version.
            context = await self.reports.outline(session, incident, version=version, users=users)
        return Reply(
            "slack/report_preview.md.j2",
            {
                "report": context,
                "sha256": stored.sha256 if stored else None,
                "compiling": compiling is not None,
            },
        )
