"""What a close tells Slack: its summary in the bridge channel and a message to the stakeholder
channels (once for each report version), then the report file once it is compiled. Reopening
tells the stakeholders too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridgekeeper.domain.effects import Post, UploadFile
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.services import stakeholders
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.store import outbox
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import Incident


@dataclass(frozen=True)
class Closed:
    """A close as its closer and the bridge channel are told of it."""

    number: int
    version: int
    sha256: str
    archive_due_at: datetime | None
    channel_id: str | None = None
    report_pending: bool = False  # the compile failed: compiled again by `publish_stopped`

    @classmethod
    def of(
        cls, incident: Incident, version: int, sha256: str = "", *, report_pending: bool = False
    ) -> Closed:
        """The incident's close, with its report version (and sha256 once compiled)."""
        return cls(
            number=incident.number,
            version=version,
            sha256=sha256,
            archive_due_at=incident.archive_due_at,
            channel_id=incident.channel_id,
            report_pending=report_pending,
        )


class CloseAnnouncer:
    def __init__(self, incidents: IncidentService) -> None:
        self.settings = incidents.settings
        self.renderer = incidents.renderer
        self.clock = incidents.clock

    async def close(
        self, session: DbSession, incident: Incident, closed: Closed, report_id: int | None
    ) -> None:
        """The close in the bridge channel and to stakeholders (once per version: a report
        that failed to compile was announced as following), and the report file."""
        now = self.clock.now()
        context = {
            "incident": incident,
            "closed": closed,
            "follow_ups": incident.follow_ups,
            "disposition": incident.disposition,
        }
        if not await self.told(session, incident, closed.version):
            summary = self.renderer.slack("slack/close_summary.md.j2", **context)
            outbox.enqueue(
                session,
                Post(target="bridge", text=summary),
                now=now,
                incident_id=incident.id,
                dedup_key=_told(incident, closed.version),
            )
            self.stakeholders(session, incident, "slack/close_stakeholders.md.j2", context)
        if report_id is not None:
            self.report_file(session, incident, closed, report_id)

    async def told(self, session: DbSession, incident: Incident, version: int) -> bool:
        """Whether the close that made this report version was announced in the bridge channel
        (then its report file is posted there once compiled, even if reopened meanwhile)."""
        return await outbox.queued(session, dedup_key=_told(incident, version))

    def report_file(
        self, session: DbSession, incident: Incident, closed: Closed, report_id: int
    ) -> None:
        """The report file, shared in the bridge channel."""
        now = self.clock.now()
        context = {"incident": incident, "closed": closed}
        comment = self.renderer.slack("slack/close_report_file.md.j2", **context)
        outbox.enqueue(
            session,
            UploadFile(
                target="bridge",
                report_id=report_id,
                comment=comment,
                filename=f"incident-{incident.number}-report-v{closed.version}.md",
                title=self.renderer.text("slack/close_report_title.txt.j2", **context).strip(),
            ),
            now=now,
            incident_id=incident.id,
            dedup_key=f"report-file:{incident.id}:{closed.version}",
        )

    def stakeholders(
        self, session: DbSession, incident: Incident, template: str, context: dict[str, Any]
    ) -> None:
        """A message in the stakeholder channel(s) for the incident's severity (the announcement
        there is edited by `record`); a private incident shows only what the policy allows."""
        severity = Severity(incident.severity)
        channels = self.settings.updates.channels_for(severity, self.settings.stakeholder_channel)
        shown = {**context, "disclosure": stakeholders.disclosure(self.settings, incident)}
        for channel in channels:
            outbox.enqueue(
                session,
                Post(target=channel, text=self.renderer.slack(template, **shown)),
                now=self.clock.now(),
                incident_id=incident.id,
            )


def _told(incident: Incident, version: int) -> str:
    return f"close-summary:{incident.id}:{version}"
