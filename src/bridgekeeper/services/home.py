"""The App Home tab: a person's incidents (their roles, severity, stage, how long since each
last changed), their open tasks, the other open incidents they may see, and a Declare button.

Opening the tab queues one outbox effect for that person (kind "home", card key "home:<user>",
so one lane per person); the worker renders the tab from current state when it delivers it
(effects/deliver.py), so a burst of opens is one views.publish and Slack is never called while
the transaction that queued it is open. A change the tab shows (a role, severity, stage, task,
close or reopen) queues the same for the incident's people who have opened their tab before;
everyone else's tab is current the next time they open it.

What the tab lists goes through the one access check (`Access.visible`, as `/incident list`):
a private incident does not exist for anyone outside it, not even as a count, and its members
see its number, severity and stage, never its title.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridgekeeper.clock import Clock
from bridgekeeper.domain import consequences
from bridgekeeper.domain.effects import HomeView
from bridgekeeper.domain.incidents import Severity, Stage
from bridgekeeper.rendering import Renderer
from bridgekeeper.services.access import Access
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import members, outbox
from bridgekeeper.store import tasks as task_store
from bridgekeeper.store.db import Database, DbSession
from bridgekeeper.store.models import Incident

LIST_MAX = 20  # rows per list; the rest are counted ("and N more"), well within 100 blocks
TEMPLATE = "slack/home.md.j2"


@dataclass(frozen=True)
class Capped:
    shown: list[dict[str, Any]]
    more: int


def capped(rows: list[dict[str, Any]], limit: int = LIST_MAX) -> Capped:
    return Capped(rows[:limit], max(0, len(rows) - limit))


def home_key(user: str) -> str:
    """The tab's key: renders queued meanwhile are covered by the one delivered."""
    return f"home:{user}"


class HomeTab:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        renderer: Renderer,
        access: Access,
        common: Callable[[], dict[str, Any]],
        console_link: str | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.renderer = renderer
        self.access = access
        self.common = common
        self.console_link = console_link  # the web console, when it is served

    async def opened(self, *, user: str) -> None:
        """Queue a render of `user`'s tab (delivered by the outbox worker)."""
        async with self.db.transaction() as session:
            outbox.enqueue(
                session, HomeView(user=user), now=self.clock.now(), card_key=home_key(user)
            )

    async def changed(self, session: DbSession, incident: Incident, kind: str) -> None:
        """After a change (IncidentService.after_change, in its transaction): refresh the tabs
        of the incident's people who have opened theirs."""
        if consequences.HOME_TABS not in consequences.causes(kind):
            return
        keys = {home_key(user): user for user in await _people(session, incident.id)}
        now = self.clock.now()
        for key in sorted(await outbox.known_card_keys(session, kind="home", keys=keys)):
            outbox.enqueue(session, HomeView(user=keys[key]), now=now, card_key=key)

    async def markup(self, *, user: str) -> str:
        """The tab as rendered markup (slack/blocks.py turns it into blocks)."""
        facts = await self.gather(user=user)
        return self.renderer.slack(TEMPLATE, **self.common(), **facts, console=self.console_link)

    async def gather(self, *, user: str) -> dict[str, Any]:
        await self.access.prepare()  # who the incident managers are, as for `list`
        now = self.clock.now()
        async with self.db.sessions() as session:
            shown = await self.access.visible(
                session, user=user, incidents=await incident_store.list_open(session=session)
            )
            rows = await _rows(session, shown, user, now)
            joined = await members.incidents_of(session=session, user=user)
            tasks = await _tasks(session, shown, user)
        mine = [r for r in rows if r["roles"] or r["incident"].id in joined]
        others = [r for r in rows if not (r["roles"] or r["incident"].id in joined)]
        return {"mine": capped(mine), "others": capped(others), "tasks": capped(tasks), "now": now}


async def _rows(
    session: DbSession, incidents: list[Incident], user: str, now: datetime
) -> list[dict[str, Any]]:
    changed = await _last_changes(session, (i.id for i in incidents))
    rows = []
    for incident in sorted(incidents, key=lambda i: (Severity(i.severity).rank, i.number)):
        roles = await incident_store.current_roles(session=session, incident_id=incident.id)
        rows.append(
            {
                "incident": incident,
                "severity": Severity(incident.severity).label,
                "stage": Stage(incident.stage).label,
                "roles": sorted(role for role, holder in roles.items() if holder == user),
                "since": now - changed.get(incident.id, incident.declared_at),
            }
        )
    return rows


async def _last_changes(session: DbSession, incident_ids: Iterable[int]) -> dict[int, datetime]:
    """When each incident last changed: its latest timeline entry."""
    ids = list(incident_ids)
    if not ids:
        return {}
    return await incident_store.last_changed(session=session, incident_ids=ids)


async def _people(session: DbSession, incident_id: int) -> set[str]:
    """Whose tab shows this incident as theirs, or a task of it: members, role holders and
    owners of its tasks (one just done too)."""
    people = set(await members.of_incident(session=session, incident_id=incident_id))
    roles = await incident_store.current_roles(session=session, incident_id=incident_id)
    people.update(roles.values())
    owners = await task_store.owners(session=session, incident_id=incident_id)
    people.update(owner for owner in owners if owner)
    return people


async def _tasks(session: DbSession, incidents: list[Incident], user: str) -> list[dict[str, Any]]:
    """The user's open tasks, in the incidents they may see."""
    by_id = {i.id: i for i in incidents}
    if not by_id:
        return []
    found = await task_store.open_of_owner(session=session, incident_ids=by_id, owner=user)
    return [{"incident": by_id[t.incident_id], "task": t} for t in found]
