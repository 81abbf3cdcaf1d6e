"""Readiness, check by check (bridgekeeper/health.py), and the two endpoints in process."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text as sql

from bridgekeeper.health import WORKER_STALL, Health, ready
from bridgekeeper.store.db import Database
from bridgekeeper.web.health import add_health_routes
from tests.conftest import Running


@dataclass
class FakeWorker:
    idle_poll: float = 1.0
    last_tick: float | None = None


async def checks_of(url: str, worker: FakeWorker | None = None) -> dict[str, str]:
    db = Database(url)
    health = Health(db)
    health.slack_ok()
    if worker is not None:
        health.watch_worker(worker)
    try:
        return await health.checks()
    finally:
        await db.dispose()


async def test_a_current_database_and_a_ticking_worker_are_ready(db_url: str) -> None:
    now = asyncio.get_running_loop().time()
    checks = await checks_of(db_url, FakeWorker(last_tick=now))
    assert checks == {"database": "ok", "schema": "ok", "slack": "ok", "worker": "ok"}
    assert ready(checks)


async def test_a_worker_loop_silent_past_its_interval_is_not_ready(db_url: str) -> None:
    long_ago = asyncio.get_running_loop().time() - 120
    assert (await checks_of(db_url, FakeWorker()))["worker"] == "not started yet"
    checks = await checks_of(db_url, FakeWorker(last_tick=long_ago))
    assert checks["worker"].startswith("stuck: no pass for 1")
    assert not ready(checks)


async def test_an_out_of_date_schema_and_an_unreachable_database_are_named(
    empty_db_url: str,
) -> None:
    checks = await checks_of(empty_db_url)
    assert checks["database"] == "ok"
    assert checks["schema"].startswith("out of date: the database has no schema yet")
    assert checks["schema"].endswith("run `bridgekeeper db upgrade`")
    checks = await checks_of("postgresql+asyncpg://bk:secret@127.0.0.1:9/bk")
    assert checks["database"].startswith("unreachable") and checks["schema"] == "unknown"


async def test_a_replica_stays_ready_while_a_newer_version_migrates(db_url: str) -> None:
    """The next version's migration commits before its replicas replace this one's (the
    chart's pre-upgrade job, serve's own upgrade): this one keeps serving meanwhile."""
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            await session.execute(sql("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        await db.dispose()
    checks = await checks_of(db_url)
    assert (checks["database"], checks["schema"]) == ("ok", "ok")


async def test_healthz_asks_nothing_and_readyz_names_what_is_missing(running: Running) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{running.url}/healthz") as response:
            assert (response.status, await response.json()) == (200, {"status": "ok"})
        async with session.get(f"{running.url}/readyz") as response:
            body = await response.json()
    assert response.status == 503  # started in process, without the start-up self-check
    assert body["failing"] == ["slack"] and body["status"] == "not ready"
    running.bk.health.slack_ok()
    async with aiohttp.ClientSession() as session, session.get(f"{running.url}/readyz") as r:
        assert r.status == 200
        assert (await r.json())["checks"]["worker"] == "ok"


async def test_a_worker_loop_stuck_for_minutes_fails_liveness(db_url: str) -> None:
    """No orchestrator restarts a pod for readiness (a worker pod is in no Service): a loop
    stuck for good fails /healthz, and only that."""
    now = asyncio.get_running_loop().time()
    worker = FakeWorker(last_tick=now)
    db = Database(db_url)
    health = Health(db)
    health.watch_worker(worker)
    app = web.Application()
    add_health_routes(app, health)
    try:
        async with TestClient(TestServer(app)) as client:
            assert (await client.get("/healthz")).status == 200
            worker.last_tick = now - worker.idle_poll - WORKER_STALL - 1
            answer = await client.get("/healthz")
            assert answer.status == 503
            assert (await answer.json())["problem"].startswith("worker stuck: no pass for")
    finally:
        await db.dispose()
