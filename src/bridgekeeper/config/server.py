"""The tables about how a process serves: its HTTP connections ([http]), its database
connections ([database]) and its deliveries to Slack ([outbox])."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from bridgekeeper.config.types import LONGEST, Positive, Seconds, Shown, Table, problem

PARAMETER = re.compile(r"[a-z_][a-z0-9_.]{0,62}")  # a PostgreSQL run-time parameter's name
# Sent at connection start beside the URL's user and database, these would override them, or
# who the session acts as, or the encoding every text is sent in: the URL says who connects.
NOT_SETTABLE = frozenset(
    [
        "user",
        "database",
        "replication",
        "options",
        "client_encoding",
        "role",
        "session_authorization",
    ]
)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _parameters(value: dict[str, str]) -> dict[str, str]:
    for name, setting in value.items():
        if not PARAMETER.fullmatch(name) or name in NOT_SETTABLE or CONTROL.search(setting):
            raise problem("postgresql_parameter", parameter=name)
    return value


Parameters = Annotated[dict[str, str], AfterValidator(_parameters), Shown("table of strings")]
Overflow = Annotated[int, Field(ge=0, le=1000), Shown("0 or a positive integer")]
PoolSize = Annotated[int, Field(gt=0, le=1000), Shown("positive integer")]
IdleSeconds = Annotated[float, Field(ge=0, le=LONGEST, allow_inf_nan=False), Shown("seconds")]
# renewed every third of it by a worker that looks at its lanes about once a second: a shorter
# claim could run out in a live process whose database is slow to answer, and another would
# deliver the same message again
ClaimSeconds = Annotated[float, Field(ge=10, le=LONGEST, allow_inf_nan=False), Shown("seconds")]


class Http(Table):
    header_timeout_seconds: Seconds = Field(
        10.0, description="time for a new connection's request line and headers"
    )
    body_timeout_seconds: Seconds = Field(
        30.0, description="time for a request's body, once its headers are in"
    )
    keepalive_timeout_seconds: Seconds = Field(
        75.0, description="an idle kept-alive connection is closed after this long"
    )
    max_connections: Positive = Field(
        1000, description="connections per process; more are answered 503 and closed"
    )
    slack_max_body_bytes: Positive = Field(
        1024 * 1024, description="largest request accepted on /slack/events"
    )


class DatabaseTuning(Table):
    """PostgreSQL's connection pools (SQLite has a file, not a pool: these do not apply)."""

    pool_size: PoolSize = Field(
        10, description="PostgreSQL: connections each process keeps open for its transactions"
    )
    max_overflow: Overflow = Field(
        10,
        description="PostgreSQL: connections opened past pool_size when all are busy, closed "
        "once given back",
    )
    ping_after_idle_seconds: IdleSeconds = Field(
        1.0,
        description="PostgreSQL: a pooled connection unused this long is pinged before a "
        "transaction takes it, and replaced if the server has gone; one used more recently is "
        "not (a ping is a round trip); 0: always",
    )
    server_settings: Parameters = Field(
        {"plan_cache_mode": "force_custom_plan"},
        description="PostgreSQL: run-time parameters each connection sets (a table given "
        "replaces this one); the default plans each statement for its values, since a plan kept "
        "from when a table was nearly empty would scan it whole ever after",
    )
    hot_path_server_settings: Parameters = Field(
        {"enable_seqscan": "off"},
        description="PostgreSQL: the same, for the small pool of the hot paths' short "
        "transactions (an alert storm's repeats, the outbox's bookkeeping), which look rows "
        "up by key only: their plans are kept, and never scan a table",
    )


class Outbox(Table):
    max_attempts: Positive = Field(
        300,
        description="a failing delivery lane is parked after "
        "this many tries (about a day at the 5-minute backoff cap)",
    )
    claim_seconds: ClaimSeconds = Field(
        15.0,
        description="a delivery lane (a channel's messages) whose process stopped "
        "(killed, its host gone) is taken over by another after this long, at least 10; its "
        "holder renews it every third of this",
    )
