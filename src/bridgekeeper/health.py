"""Is this process ready to take work? What /readyz answers (web/health.py).

Liveness (/healthz) asks nothing of the database or Slack: the event loop answering is the
proof, unless this process's worker loop has been silent for five minutes (stuck for good: only
a restart helps, and no orchestrator restarts a pod for readiness). Readiness names each
check: the database reachable, its schema current (or a newer version's, while an upgrade rolls
out), Slack's self-check passed (slack/auth.py), and, where this process runs the worker, its
loop ticked lately. A check that fails says what is wrong instead of "ok".
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from bridgekeeper.errors import SchemaOutOfDate
from bridgekeeper.store.db import Database

log = logging.getLogger(__name__)
OK = "ok"
CHECK_TIMEOUT = 2.0  # seconds for the database checks (probes time out at 3 s)
WORKER_GRACE = 30.0  # seconds past its poll interval before a silent worker loop counts as stuck
WORKER_STALL = 300.0  # seconds past it before liveness fails: the loop is not coming back


class Ticking(Protocol):
    """The worker, as readiness sees it (effects/worker.py OutboxWorker)."""

    idle_poll: float
    last_tick: float | None


class Health:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.slack = "not checked yet"
        self.worker: Ticking | None = None

    def slack_ok(self) -> None:
        self.slack = OK

    def slack_waiting(self, problem: str) -> None:
        self.slack = problem

    def watch_worker(self, worker: Ticking) -> None:
        self.worker = worker

    async def checks(self) -> dict[str, str]:
        found = await self._database()
        found["slack"] = self.slack
        if self.worker is not None:
            found["worker"] = self._worker(self.worker)
        return found

    async def _database(self) -> dict[str, str]:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                await self.db.check_schema()
        except SchemaOutOfDate as exc:  # what to do: upgrade, or run the newer version
            if exc.newer:  # an upgrade rolling out: served until this replica is replaced
                return {"database": OK, "schema": OK}
            return {"database": OK, "schema": f"out of date: {exc}"}
        except Exception as exc:  # any driver error or a timeout: not reachable
            log.warning("readiness: database check failed: %s", type(exc).__name__)
            return {"database": f"unreachable ({type(exc).__name__})", "schema": "unknown"}
        return {"database": OK, "schema": OK}

    def stuck(self) -> str | None:
        """Why this process should be restarted, if it should: its worker loop silent past
        WORKER_STALL. A database or Slack outage does not stop the loop's passes."""
        worker = self.worker
        if worker is None or worker.last_tick is None:
            return None
        silent = asyncio.get_running_loop().time() - worker.last_tick
        if silent <= worker.idle_poll + WORKER_STALL:
            return None
        return f"worker stuck: no pass for {silent:.0f}s"

    @staticmethod
    def _worker(worker: Ticking) -> str:
        if worker.last_tick is None:
            return "not started yet"
        silent = asyncio.get_running_loop().time() - worker.last_tick
        if silent > worker.idle_poll + WORKER_GRACE:
            return f"stuck: no pass for {silent:.0f}s"
        return OK


def ready(checks: dict[str, str]) -> bool:
    return all(value == OK for value in checks.values())
