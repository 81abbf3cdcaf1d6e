"""Prometheus metrics: the metric objects and the one-line hooks the edges call.

Every metric is named `bridgekeeper_...` and lives in prometheus-client's default registry, so
`/metrics` (web/metrics.py) also shows the process's CPU, memory and file descriptors. Counters
and histograms count what this process did; the outbox gauges are read from the database when
`/metrics` is scraped, so every replica reports the same, shared, outbox.

Labels take values from short, fixed sets only (alert sources, Slack method names, severities,
card kinds): never anything a request chose.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from prometheus_client import Counter, Gauge, Histogram

from bridgekeeper.domain.alerts.parse import PARSERS
from bridgekeeper.errors import SlackRetryable

if TYPE_CHECKING:
    from bridgekeeper.services.alert_rows import Outcome
    from bridgekeeper.store.db import Database, DbSession
    from bridgekeeper.store.models import Incident

T = TypeVar("T")
FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SLOW = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

ALERTS = Counter(
    "bridgekeeper_alerts_received",
    "Alerts received by webhook: new, duplicate (a "
    "repeat), attached (to an incident), resolved; refused counts refused requests",
    ["source", "outcome"],
)
CARDS = Counter(
    "bridgekeeper_cards_posted",
    "Cards posted to Slack (triage, status, announcement), not counting updates in place",
    ["card"],
)
DECLARED = Counter("bridgekeeper_incidents_declared", "Incidents declared", ["severity"])
CLOSED = Counter("bridgekeeper_incidents_closed", "Incidents closed", ["severity"])
ACK = Histogram(
    "bridgekeeper_slash_command_ack_seconds",
    "Time from a slash command's request to its acknowledgement",
    buckets=FAST,
)
SLACK_CALLS = Counter(
    "bridgekeeper_slack_api_calls",
    "Slack Web API calls (each attempt): ok, "
    "ratelimited (429), retryable (5xx, timeout, network) or error",
    ["method", "outcome"],
)
SLACK_SECONDS = Histogram(
    "bridgekeeper_slack_api_call_seconds", "Slack Web API call latency", ["method"], buckets=FAST
)
RATELIMITED = Counter("bridgekeeper_slack_ratelimited", "429 answers from Slack", ["method"])
RETRY_AFTER = Counter(
    "bridgekeeper_slack_retry_after_seconds",
    "Seconds Slack's 429s asked every caller of a method to wait (Retry-After)",
    ["method"],
)
LIMITER_WAIT = Histogram(
    "bridgekeeper_slack_limiter_wait_seconds",
    "Time a Slack call waited for its turn under the rate limiter",
    ["method"],
    buckets=FAST,
)
OUTBOX_PENDING = Gauge("bridgekeeper_outbox_pending", "Slack effects waiting to be delivered")
OUTBOX_PARKED = Gauge("bridgekeeper_outbox_parked", "Slack effects set aside for an operator")
OUTBOX_OLDEST = Gauge(
    "bridgekeeper_outbox_oldest_pending_seconds", "Age of the oldest pending Slack effect (0: none)"
)
REPORT_UNFINISHED = Gauge(
    "bridgekeeper_report_unfinished_seconds",
    "Time since the close of the oldest incident whose report is not compiled yet (0: none); "
    "past 10 minutes its compile keeps failing or the process compiling it stopped",
)
JOB_LAG = Histogram(
    "bridgekeeper_scheduled_job_lag_seconds",
    "How late a scheduled job (reminder, deadline) fired after it fell due",
    ["kind"],
    buckets=SLOW,
)
LOOP_LAG = Histogram(
    "bridgekeeper_event_loop_lag_seconds",
    "How late a timer set every 50 ms ran: the event loop busy with one step for that long "
    "(every request, ack and delivery waits behind it)",
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
LOOP_LAG_EVERY = 0.05  # seconds
DB_SECONDS = Histogram(
    "bridgekeeper_db_transaction_seconds",
    "Writing transaction time, waiting for the writer's turn included",
    ["kind"],
    buckets=FAST,
)


# -- alerts and incidents --------------------------------------------------------------------
def source_label(source: str) -> str:
    return source if source in PARSERS else "unknown"


def alerts_received(source: str, outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        ALERTS.labels(source_label(source), outcome.result.value).inc()


def alert_refused(source: str) -> None:
    ALERTS.labels(source_label(source), "refused").inc()


def card_posted(card: str) -> None:
    CARDS.labels(card).inc()


async def incident_changed(session: DbSession, incident: Incident, kind: str) -> None:
    """An IncidentService.after_change hook: count declarations and closes once committed."""
    counter = {"declared": DECLARED, "closed": CLOSED}.get(kind)
    if counter is None:
        return
    from bridgekeeper.store.db import (
        after_commit,  # store.db reports to metrics: no cycle at import
    )

    after_commit(session, counter.labels(str(incident.severity)).inc)


# -- Slack -----------------------------------------------------------------------------------
@contextmanager
def slash_ack(is_command: bool) -> Iterator[None]:
    """Time a request from Slack (over HTTP or the socket) until its ack, if it carries a slash
    command."""
    started = time.perf_counter()
    yield
    if is_command:
        ACK.observe(time.perf_counter() - started)


async def slack_call(method: str, call: Awaitable[T]) -> T:
    """Await one Slack API call, counted by method and outcome, and timed."""
    started, outcome = time.perf_counter(), "error"
    try:
        result = await call
        outcome = "ok"
        return result
    except SlackRetryable as exc:
        outcome = "ratelimited" if exc.retry_after is not None else "retryable"
        raise
    finally:
        SLACK_CALLS.labels(method, outcome).inc()
        SLACK_SECONDS.labels(method).observe(time.perf_counter() - started)


def limiter_waited(method: str, seconds: float) -> None:
    LIMITER_WAIT.labels(method).observe(seconds)


def ratelimited(method: str, retry_after: float) -> None:
    RATELIMITED.labels(method).inc()
    RETRY_AFTER.labels(method).inc(max(retry_after, 0.0))


# -- scheduler and database ------------------------------------------------------------------
def job_fired(kind: str, due_at: datetime, now: datetime) -> None:
    JOB_LAG.labels(kind).observe(max((_utc(now) - _utc(due_at)).total_seconds(), 0.0))


async def watch_event_loop(stop: asyncio.Event, every: float = LOOP_LAG_EVERY) -> None:
    """Time how late a timer runs, every `every` seconds, until `stop`."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + every
        await asyncio.sleep(every)
        LOOP_LAG.observe(max(loop.time() - due, 0.0))


@asynccontextmanager
async def transaction(kind: str) -> AsyncIterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        DB_SECONDS.labels(kind).observe(time.perf_counter() - started)


async def refresh_gauges(db: Database, now: datetime) -> None:
    """Set the outbox gauges from one grouped query (pending and parked rows, by status), and
    the unfinished reports' from another."""
    from bridgekeeper.store import outbox, reports  # store.db reports to metrics: no cycle

    async with db.sessions() as session:
        rows = await outbox.counts(session, statuses=("pending", "parked"))
        unfinished = await reports.oldest_unfinished(session=session)
    pending, oldest = rows.get("pending", (0, None))
    OUTBOX_PENDING.set(pending)
    OUTBOX_PARKED.set(rows.get("parked", (0, None))[0])
    OUTBOX_OLDEST.set(_age(oldest, now))
    REPORT_UNFINISHED.set(_age(unfinished, now))


def _age(since: datetime | None, now: datetime) -> float:
    return max((_utc(now) - _utc(since)).total_seconds(), 0.0) if since is not None else 0.0


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
