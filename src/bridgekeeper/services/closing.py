"""Closing and reopening an incident, and its report on the way out.

A close applies the form, records a `closed` timeline entry and reserves the next version of
the report, in one transaction. The report is then compiled and stored part by part, with no
write lock held (on SQLite a close of 200,000 entries would hold every other writer for
seconds), and one more transaction marks it finished and queues what Slack should show (a
summary in the bridge channel, the report as a file, a note to stakeholders:
services/close_announcements.py). A close whose compile failed is announced without its
report, which follows. Either way, failed or stopped (its process gone before the report was
done), the report is compiled again by `publish_stopped`, which the worker calls periodically,
from the incident's fields and timeline as that close left them. A configurable gate refuses
first, naming what is missing. The bridge channel is archived `archive_after_hours` later, once
its report is in it (services/archiving.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from bridgekeeper.domain import commands as c
from bridgekeeper.domain.closing import (
    DECIDED_CLOCKS,
    FOLLOW_UP_SLOTS,
    CloseForm,
    Gate,
    has_details,
)
from bridgekeeper.domain.effects import Post, Unarchive
from bridgekeeper.domain.incidents import Status
from bridgekeeper.domain.report import DISPOSITIONS
from bridgekeeper.errors import CommandRefused
from bridgekeeper.rendering import template_failure
from bridgekeeper.services.close_announcements import CloseAnnouncer, Closed
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.services.report_facts import regulatory_clocks
from bridgekeeper.services.reports import ReportService, Reserved
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import outbox
from bridgekeeper.store import reports as report_store
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import Incident

log = logging.getLogger(__name__)
TAKEOVER_AFTER = timedelta(minutes=10)  # a report unfinished this long: stopped or failed
RETRY_MINUTES = int(TAKEOVER_AFTER.total_seconds() // 60)  # as users are told
TAKEOVERS_AT_ONCE = 10  # stopped closes' reports compiled in one periodic pass, at most
OpenView = Callable[[str, dict[str, Any]], Awaitable[str]]
OnClose = Callable[..., Awaitable[object]]  # (session, *, incident, actor, form)


class CloseRefused(CommandRefused):
    def __init__(self, number: int, gate: Gate, short_form: bool) -> None:
        super().__init__(
            "refused/close_gate.md.j2",
            number=number,
            missing=list(gate.missing),
            undecided=list(gate.undecided),
            short_form=short_form,
        )
        self.gate = gate


class ClosingService:
    def __init__(
        self, *, incidents: IncidentService, reports: ReportService, open_view: OpenView
    ) -> None:
        self.incidents = incidents
        self.reports = reports
        self.on_close: list[OnClose] = []  # more work committed with the close (follow-ups)
        self.open_view = open_view
        self.db = incidents.db
        self.clock = incidents.clock
        self.settings = incidents.settings
        self.renderer = incidents.renderer
        self.announce = CloseAnnouncer(incidents)

    def register(self, runner: CommandRunner) -> None:
        runner.on(c.Close, self.close_command)
        runner.on(c.Reopen, self.reopen_command)

    # -- /incident close ----------------------------------------------------------------------
    async def close_command(self, command: c.Close, inv: Invocation) -> Reply | None:
        if command.summary is None:
            await self.open_form(command.incident, inv)
            return None
        closed = await self.close(
            number=command.incident,
            channel=inv.channel,
            user=inv.user,
            form=CloseForm(summary=command.summary),
        )
        return closed_reply(closed)

    async def open_form(self, number: int | None, inv: Invocation) -> None:
        async with self.db.transaction() as session:
            incident = await self.incidents.locate(
                session,
                user=inv.user,
                action="close",
                number=number,
                channel=inv.channel,
                subcommand="close",
            )
        view = json.loads(
            self.renderer.text(
                "modals/close_incident.json.j2",
                incident=incident,
                dispositions=DISPOSITIONS,
                required=self.settings.close.required,
                slots=range(1, FOLLOW_UP_SLOTS + 1),
                metadata=json.dumps({"number": incident.number, "channel": inv.channel}),
                tracker=self.settings.trackers.kind,
            )
        )
        await self.open_view(str(inv.trigger_id), view)

    async def precheck(self, *, number: int, channel: str, user: str, form: CloseForm) -> Gate:
        """The gate as it stands (the modal shows it inline before accepting); raises a refusal
        for a closed incident or a user without permission."""
        await self.incidents.access.prepare()
        async with self.db.transaction() as session:
            incident = await self.incidents.locate(
                session,
                user=user,
                action="close",
                number=number,
                channel=channel,
                subcommand="close",
            )
            return await self.gate(session, incident, form)

    async def gate(self, session: DbSession, incident: Incident, form: CloseForm) -> Gate:
        missing = tuple(name for name in self.settings.close.required if not form.value(name))
        undecided: tuple[str, ...] = ()
        if self.settings.close.require_regulatory_decisions:
            undecided = await undecided_clocks(session, incident.id)
        return Gate(missing=missing, undecided=undecided)

    async def close(
        self, *, number: int | None, channel: str, user: str, form: CloseForm
    ) -> Closed:
        """Close, reserving the report's next version, then compile it (no write lock held
        while a long one is built) and announce the close with it."""
        await self.incidents.access.prepare()
        async with self.db.transaction() as session:
            incident = await self.incidents.locate(
                session,
                user=user,
                action="close",
                number=number,
                channel=channel,
                subcommand="close",
            )
            gate = await self.gate(session, incident, form)
            if gate:
                raise CloseRefused(incident.number, gate, short_form=not has_details(form))
            await self._apply(session, incident, user, form)
            reserved = await self.reports.reserve(session, incident)
            closed = Closed.of(incident, reserved.version)  # its sha256 known once compiled
        try:
            published = await self._publish(reserved)
        except Exception as exc:  # the close stands, announced; its report is compiled again later
            await self._report_failed(reserved, exc)
            return replace(closed, report_pending=True)
        return published or closed  # None: another process took its report over

    async def publish_stopped(self) -> int:
        """The reports of closes whose process stopped while compiling them (or whose compile
        failed), one at a time: compiled, and announced if still the incident's latest close
        (the worker calls this periodically); how many were compiled."""
        compiled = 0
        for _ in range(TAKEOVERS_AT_ONCE):
            reserved = await self.reports.take_over(before=self.clock.now() - TAKEOVER_AFTER)
            if reserved is None:
                break
            log.warning(
                "compiling version %s of incident id %s's report again: its close stopped or "
                "failed before it was done",
                reserved.version,
                reserved.incident_id,
            )
            try:
                await self._publish(reserved)
            except Exception as exc:  # one failing report holds up no other
                await self._report_failed(reserved, exc)
            else:
                compiled += 1
        return compiled

    async def _report_failed(self, reserved: Reserved, exc: Exception) -> None:
        """A compile failed: logged (a template's mistake, from a team's `template_dir`, in
        one line), and the close announced without its report, which follows."""
        failed = f"version {reserved.version} of incident id {reserved.incident_id}'s report"
        again = f"trying again in {RETRY_MINUTES} minutes"
        if (where := template_failure(exc)) is not None:
            log.error("compiling %s failed: %s; %s", failed, where, again)
        else:
            log.exception("compiling %s failed; %s", failed, again)
        try:
            await self._announce_without_report(reserved)
        except Exception:  # announced with the report, once it compiles
            log.exception("announcing the close before its report failed (%s)", failed)

    async def _publish(self, reserved: Reserved) -> Closed | None:
        """Compile a reserved report, mark it finished and announce the close; None when
        another process took it over meanwhile."""
        try:
            digests = await self.reports.compile(reserved)
        except report_store.TakenOver:
            log.warning("report version %s was taken over by another process", reserved.version)
            return None
        async with self.db.transaction() as session:
            incident = await incident_store.get_by_id(
                session=session, incident_id=reserved.incident_id, lock=True
            )
            if not await self.reports.finish(session, reserved, digests):
                return None
            closed = Closed.of(incident, reserved.version, digests["md"])
            if await self._still_closed_by(session, incident, reserved):
                await self.announce.close(session, incident, closed, reserved.ids["md"])
            elif await self.announce.told(session, incident, reserved.version):
                # reopened (or closed again) after its close said this report would follow
                self.announce.report_file(session, incident, closed, reserved.ids["md"])
        return closed

    async def _announce_without_report(self, reserved: Reserved) -> None:
        """The close announced while its report could not be compiled (it follows)."""
        async with self.db.transaction() as session:
            incident = await incident_store.get_by_id(
                session=session, incident_id=reserved.incident_id, lock=True
            )
            if await self._still_closed_by(session, incident, reserved):
                closed = Closed.of(incident, reserved.version, report_pending=True)
                await self.announce.close(session, incident, closed, report_id=None)

    @staticmethod
    async def _still_closed_by(session: DbSession, incident: Incident, reserved: Reserved) -> bool:
        """Whether the incident is still closed, and by the close that reserved this version."""
        latest = await report_store.last_version(session=session, incident_id=incident.id)
        return incident.status == Status.CLOSED and reserved.version == latest

    async def _apply(
        self, session: DbSession, incident: Incident, user: str, form: CloseForm
    ) -> None:
        now = self.clock.now()
        incident.resolution_summary = form.summary
        incident.root_cause = form.root_cause
        incident.went_well = form.went_well
        incident.to_improve = form.to_improve
        incident.disposition = form.disposition
        incident.follow_ups = [{"owner": f.owner, "text": f.text} for f in form.follow_ups]
        incident.status = Status.CLOSED  # the stage stays: where the work ended
        incident.closed_at = now
        incident.closed_by = user
        hours = self.settings.close.archive_after_hours
        incident.archive_due_at = now + timedelta(hours=hours) if hours > 0 else None
        await self.incidents.record(
            session,
            incident=incident,
            actor=user,
            kind="closed",
            text=form.summary or "",
            data=close_record(incident),
            at=now,
            announce=False,
        )
        for hook in self.on_close:
            await hook(session, incident=incident, actor=user, form=form)

    # -- /incident reopen ---------------------------------------------------------------------
    async def reopen_command(self, command: c.Reopen, inv: Invocation) -> Reply:
        number = await self.reopen(
            number=command.incident, channel=inv.channel, user=inv.user, reason=command.reason
        )
        return Reply("slack/reopened.md.j2", {"number": number})

    async def reopen(self, *, number: int | None, channel: str, user: str, reason: str) -> int:
        async with self.db.transaction() as session:
            incident = await self.incidents.locate(
                session,
                user=user,
                action="reopen",
                number=number,
                channel=channel,
                subcommand="reopen",
                open_only=False,
                by_number_anywhere=True,
            )  # an archived channel takes no commands: members reopen from anywhere
            if incident.status == Status.OPEN:
                raise CommandRefused("refused/not_closed.md.j2", number=incident.number)
            now = self.clock.now()
            if incident.archived_at is not None:
                outbox.enqueue(session, Unarchive(), now=now, incident_id=incident.id)
                await self.incidents.invite(session, incident=incident, users=[user])
            incident.status = Status.OPEN
            incident.closed_at = incident.closed_by = None
            incident.archive_due_at = incident.archived_at = None
            await self.incidents.record(
                session, incident=incident, actor=user, kind="reopened", text=reason, announce=False
            )
            context = {"incident": incident, "user": user, "reason": reason}
            outbox.enqueue(
                session,
                Post(
                    target="bridge",
                    text=self.renderer.slack("slack/reopen_announce.md.j2", **context),
                ),
                now=now,
                incident_id=incident.id,
            )
            self.announce.stakeholders(
                session, incident, "slack/reopen_stakeholders.md.j2", context
            )
            return incident.number


async def undecided_clocks(session: DbSession, incident_id: int) -> tuple[str, ...]:
    """The regimes whose notification decision is still open (none before services/regulatory
    exists)."""
    clocks = await regulatory_clocks(session, incident_id)
    return tuple(clock.regime for clock in clocks if clock.status not in DECIDED_CLOCKS)


def closed_reply(closed: Closed) -> Reply:
    """What the closer is told (also after the close form)."""
    return Reply("slack/closed.md.j2", {"closed": closed, "retry_minutes": RETRY_MINUTES})


def close_record(incident: Incident) -> dict[str, Any]:
    """What the close recorded, in full, for the timeline (the audit compares it with the row)."""
    return {
        "summary": incident.resolution_summary,
        "root_cause": incident.root_cause,
        "went_well": incident.went_well,
        "to_improve": incident.to_improve,
        "disposition": incident.disposition,
        "follow_ups": list(incident.follow_ups),
    }
