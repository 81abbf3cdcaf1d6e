"""`python -m bench [--quick] [--only NAME ...] [--pg-url URL | --no-pg]`: run the benchmarks
against the real server and print a Markdown table of medians and spreads."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import ack_latency, alert_ingest, declaration, footprint, long_close, mixed_load, report
from bench.harness import DEFAULT_PG_URL, Options, Row, pg_reachable, table, workdir

Benchmark = Callable[[Options], Awaitable[list[Row]]]
BENCHMARKS: dict[str, Benchmark] = {
    "ack": ack_latency.run,
    "ingest": alert_ingest.run,  # also the storm economy
    "declare": declaration.run,
    "report": report.run,
    "close": long_close.run,
    "footprint": footprint.run,
    "mixed": mixed_load.run,  # commands, an alert storm and a SEV1 at once, rate-limited
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument(
        "--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these benchmarks"
    )
    parser.add_argument("--repeats", type=int, default=None, help="runs per benchmark (3; quick 2)")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BRIDGEKEEPER_BENCH_PG_URL"),
        help=f"PostgreSQL server for the ingest benchmark (default: $BRIDGEKEEPER_BENCH_PG_URL, "
        f"else {DEFAULT_PG_URL} if reachable)",
    )
    parser.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL runs")
    parser.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    return parser


async def _pg_url(args: argparse.Namespace) -> str | None:
    if args.no_pg:
        return None
    if args.pg_url:
        if not await pg_reachable(args.pg_url):
            raise SystemExit(f"PostgreSQL is not reachable at {args.pg_url}")
        return str(args.pg_url)
    return DEFAULT_PG_URL if await pg_reachable(DEFAULT_PG_URL) else None


async def run(args: argparse.Namespace, folder: Path) -> list[Row]:
    options = Options(
        quick=args.quick,
        repeats=args.repeats or (2 if args.quick else 3),
        pg_url=await _pg_url(args),
        workdir=folder,
        verbose=args.verbose,
    )
    rows: list[Row] = []
    for name in args.only or list(BENCHMARKS):
        started = time.perf_counter()
        options.log(f"{name} ...")
        rows += await BENCHMARKS[name](options)
        options.log(f"{name} took {time.perf_counter() - started:.1f} s")
    return rows


def machine() -> str:
    database = "SQLite " + __import__("sqlite3").sqlite_version
    return (
        f"{os.cpu_count()} cores ({platform.machine()}), Python {platform.python_version()}, "
        f"{database}, {platform.system()} {platform.release()}"
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    with workdir() as folder:
        rows = asyncio.run(run(args, Path(folder)))
    print(f"bridgekeeper benchmarks{' (quick)' if args.quick else ''}: {machine()}")
    print()
    print(table(rows))
    print()
    print(f"took {time.perf_counter() - started:.0f} s")
    missed = [r for r in rows if r.met is False]
    if missed:
        print("goals missed: " + "; ".join(f"{r.benchmark}: {r.metric}" for r in missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
