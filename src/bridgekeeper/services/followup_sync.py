"""Follow-ups and their issues: created once, their state brought back.

Creating (the `tracker_issue` effect, in a lane of its own per incident so Slack never waits
behind a slow tracker): the `followups` row was stored with the effect. Before the tracker is
called the row is marked `called`; a later attempt of a called row (the answer was lost, or the
process stopped) first searches the tracker for the row's marker label and adopts what it
finds, so an issue is never created twice. The key and link are then stored and go on the
timeline.

State: the tracker's webhook (web/trackers.py) or the poll of open issues report it; a change
is stored and goes on the timeline; the report shows each follow-up's state.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from bridgekeeper.clock import Clock
from bridgekeeper.config import Settings
from bridgekeeper.rendering import Renderer
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.store import followups as followup_store
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import tasks as task_store
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Effect, Followup, Incident, Task
from bridgekeeper.trackers import Draft, Issue, Tracker, TrackerError

ACTOR = "bridgekeeper"


log = logging.getLogger(__name__)


class FollowupSync:
    def __init__(self, incidents: IncidentService, *, tracker: Tracker | None) -> None:
        self.incidents = incidents
        self.db: Database = incidents.db
        self.clock: Clock = incidents.clock
        self.settings: Settings = incidents.settings
        self.renderer: Renderer = incidents.renderer
        self.tracker = tracker

    # -- creating -------------------------------------------------------------------------------
    async def deliver(self, effect: Effect) -> None:
        """Carry out a `tracker_issue` effect: its follow-up's issue exists once, stored."""
        draft, called = await self._prepare(int(effect.payload["task"]))
        if draft is None or self.tracker is None:
            return
        issue = await self.tracker.find(draft.marker) if called else None
        if issue is None:
            issue = await self.tracker.create(draft)
        await self._store(draft.marker, issue)

    async def _prepare(self, task_id: int) -> tuple[Draft | None, bool]:
        """The issue to create (None: created already), whether it may exist; marks the row
        called before the tracker is."""
        async with self.db.transaction() as session:
            row = await followup_store.of_task(session=session, task_id=task_id, lock=True)
            if row is None or row.key is not None:
                return None, False
            task = await task_store.get(session=session, task_id=task_id)
            incident = await incident_store.get_by_id(session=session, incident_id=row.incident_id)
            assert task is not None
            called, row.called = row.called, True
            return self._draft(incident, task, row.marker), called

    def _draft(self, incident: Incident, task: Task, marker: str) -> Draft:
        trackers = self.settings.trackers
        context = {
            "incident": incident,
            "task": task,
            "marker": marker,
            "channel_url": _channel_url(incident),
            "report_url": self._report_url(incident),
        }
        return Draft(
            title=self.renderer.text("trackers/issue_title.txt.j2", **context).strip(),
            body=self.renderer.text(self._body_template(), **context),
            labels=trackers.labels,
            marker=marker,
            assignee=trackers.users.get(task.owner) if task.owner else None,
        )

    def _body_template(self) -> str:
        markup = self.tracker.markup if self.tracker else "md"
        return f"trackers/issue_body.{markup}.j2"

    def _report_url(self, incident: Incident) -> str | None:
        link = self.settings.console.link
        return f"{link}incidents/{incident.number}" if link else None

    async def _store(self, marker: str, issue: Issue) -> None:
        now = self.clock.now()
        async with self.db.transaction() as session:
            row = await followup_store.by_marker(session=session, marker=marker, lock=True)
            if row is None or row.key is not None:
                return
            row.key, row.url = issue.key, issue.url
            self._set_state(row, issue, now)
            incident = await incident_store.get_by_id(
                session=session, incident_id=row.incident_id, lock=True
            )
            await self.incidents.record(
                session,
                incident=incident,
                actor=ACTOR,
                kind="followup_created",
                data={"marker": marker, "tracker": row.tracker, "key": issue.key, "url": issue.url},
                announce=False,
            )

    # -- state ----------------------------------------------------------------------------------
    async def update(self, issue: Issue) -> bool:
        """The tracker says an issue is in `issue.state`: store it (once) and put it on the
        timeline; False when the issue is not one of ours."""
        if self.tracker is None:
            return False
        now = self.clock.now()
        async with self.db.transaction() as session:
            row = await followup_store.by_key(
                session=session, tracker=self._kind(), key=issue.key, lock=True
            )
            if row is None:
                return False
            if (row.state, row.done) == (issue.state, issue.done):
                return True
            self._set_state(row, issue, now)
            incident = await incident_store.get_by_id(
                session=session, incident_id=row.incident_id, lock=True
            )
            await self.incidents.record(
                session,
                incident=incident,
                actor=ACTOR,
                kind="followup_state",
                data={
                    "marker": row.marker,
                    "tracker": row.tracker,
                    "key": row.key,
                    "state": issue.state,
                    "done": issue.done,
                },
                announce=False,
            )
        return True

    async def poll(self) -> int:
        """Read the state of every issue not done yet: how many changed."""
        if self.tracker is None:
            return 0
        async with self.db.sessions() as session:
            keys = await followup_store.open_keys(session=session, tracker=self.tracker.kind)
        changed = 0
        for key in keys:
            try:
                issue = await self.tracker.get(key)
            except TrackerError as exc:  # deleted, or no longer readable: the others go on
                log.warning("follow-up issue %s could not be read: %s", key, exc)
                continue
            before = await self._state_of(key)
            await self.update(replace(issue, key=key))  # a moved issue answers with a new key
            changed += before != (issue.state, issue.done)
        return changed

    async def _state_of(self, key: str) -> tuple[str | None, bool]:
        async with self.db.sessions() as session:
            row = await followup_store.by_key(session=session, tracker=self._kind(), key=key)
            return (row.state, row.done) if row else (None, False)

    def _kind(self) -> str:
        """The tracker configured now: a follow-up's issue is looked for in it."""
        return self.tracker.kind if self.tracker else ""

    @staticmethod
    def _set_state(row: Followup, issue: Issue, now: datetime) -> None:
        row.state, row.done, row.state_at = issue.state, issue.done, now


def _channel_url(incident: Incident) -> str | None:
    if not incident.channel_id:
        return None
    return f"https://slack.com/app_redirect?channel={incident.channel_id}"
