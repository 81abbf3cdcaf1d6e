"""6. Footprint: how long `python -m bridgekeeper serve` takes from spawning to answering
/healthz with 200, and its resident memory (VmRSS) once idle.

A cold start is on a new SQLite file (the schema is created at start-up); a warm start is a
restart on that same, already migrated file.
"""

from __future__ import annotations

import asyncio

from bench import harness
from bench.harness import Options, Row

IDLE_SECONDS = 2.0


async def run(options: Options) -> list[Row]:
    cold = Row("footprint", "serve start-up, new SQLite database (to /healthz 200)", unit="ms")
    warm = Row("footprint", "serve start-up, existing database (to /healthz 200)", unit="ms")
    idle = f"resident memory, idle {IDLE_SECONDS:g} s after start (VmRSS)"
    rss = Row("footprint", idle, unit="MiB")
    async with harness.emulator() as slack:
        for round_no in range(options.repeats):
            db_url = harness.sqlite_url(options)
            env = harness.bridgekeeper_env(db_url=db_url, api_url=slack.api_url)
            for row in (cold,) if options.quick else (cold, warm):
                server = harness.bridgekeeper_server(options, env, f"footprint-{round_no}")
                async with harness.running(server):
                    row.samples.append(server.startup_seconds * 1000)
                    if row is warm or options.quick:
                        await asyncio.sleep(IDLE_SECONDS)
                        rss.samples.append(server.rss_kib() / 1024)
    return [cold, rss] if options.quick else [cold, warm, rss]
