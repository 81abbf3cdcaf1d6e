"""The `bridgekeeper` command: serve, worker, doctor, db upgrade, audit verify, outbox, report,
iocs export, demo, sandbox."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import traceback
from collections.abc import Coroutine, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from bridgekeeper import cli_records as records
from bridgekeeper import logs
from bridgekeeper.config import Settings, load_settings, require_slack
from bridgekeeper.config.commands import add_parser as add_config_parser
from bridgekeeper.config.commands import config_command
from bridgekeeper.config.environment import port_or_off
from bridgekeeper.config.loading import read_log_settings
from bridgekeeper.domain.text import is_digits
from bridgekeeper.errors import BridgekeeperError, ConfigError, SchemaOutOfDate, SlackRejected

if TYPE_CHECKING:
    from bridgekeeper.app import Bridgekeeper
    from bridgekeeper.slack.socket_mode import SocketModeConnection

log = logging.getLogger("bridgekeeper")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bridgekeeper", description="A Slack incident bot for security and operations teams."
    )
    parser.add_argument("--version", action="version", version=f"bridgekeeper {_version()}")
    parser.add_argument(
        "--debug", action="store_true", help="on an error, print its traceback after its line"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="run the HTTP server and the background worker",
        description="Serve Slack and alert webhooks; deliver Slack effects.",
    )
    serve.add_argument("--host", default="0.0.0.0", help="interface to listen on (0.0.0.0)")
    serve.add_argument(
        "--port",
        type=port_number,
        default=None,
        help="port to listen on (default: $PORT, else 3000; 0: any free port, named in the log)",
    )
    serve.add_argument(
        "--no-worker", action="store_true", help="do not run the background worker in this process"
    )
    worker = sub.add_parser(
        "worker",
        help="run the background worker alone",
        description="Deliver Slack effects and run scheduled jobs, without Slack's HTTP "
        "endpoints; /healthz and /readyz on --health-port.",
    )
    worker.add_argument(
        "--health-port",
        type=port_number,
        default=None,
        help="port of /healthz and /readyz (default: $WORKER_HEALTH_PORT, else none; 0: none)",
    )
    sub.add_parser(
        "doctor",
        help="check configuration, database, Slack tokens, scopes and channels",
        description="Check the configuration, the database and its schema, the Slack tokens and "
        "scopes, and that the bot is in the channels it posts to: one line per check, exit "
        "status 0 when all pass, 1 otherwise.",
    )
    db = sub.add_parser("db", help="database commands", description="Database commands.")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    db_sub.add_parser(
        "upgrade",
        help="create or upgrade the schema to this version",
        description="Create or upgrade the database schema (Alembic).",
    )
    audit = sub.add_parser(
        "audit", help="audit trail commands", description="Audit trail commands."
    )
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="AUDIT_COMMAND")
    verify = audit_sub.add_parser(
        "verify",
        help="check that no timeline entry was changed, inserted or deleted",
        description="Recompute every incident timeline's hash chain (or one incident's), "
        "list entries modified, inserted, deleted or moved outside bridgekeeper, and compare "
        "what the report shows from other rows (title, severity, stage, roles, tasks, the close "
        "record, stored reports) with what the timeline implies. Exit status 0 when intact, "
        "1 when tampering was found, 2 when the check could not be made.",
    )
    verify.add_argument("number", type=counting_number, nargs="?", help="only this incident")
    outbox = sub.add_parser(
        "outbox", help="Slack deliveries set aside", description="Slack deliveries set aside."
    )
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True, metavar="COMMAND")
    outbox_sub.add_parser(
        "list",
        help="list parked deliveries, lane by lane, and what is still pending",
        description="List the Slack deliveries parked after their attempts ran out (or that "
        "Slack refused for good), lane by lane with the error, and count those still pending.",
    )
    retry = outbox_sub.add_parser(
        "retry",
        help="put parked deliveries back in their lanes",
        description="Put parked deliveries back in their lanes with fresh attempts: the ones "
        "named by id, those of one lane, or all of them. A running worker delivers them.",
    )
    retry.add_argument(
        "ids", type=counting_number, nargs="*", metavar="ID", help="parked deliveries by id"
    )
    retry.add_argument("--lane", default=None, help="every parked delivery of this lane")
    retry.add_argument("--all", action="store_true", help="every parked delivery")
    report = sub.add_parser(
        "report",
        help="print an incident's report",
        description="Print the latest stored report of an incident (a draft if it is still "
        "open and was never closed).",
    )
    report.add_argument("number", type=counting_number, help="the incident number")
    report.add_argument(
        "--format",
        choices=("md", "html", "json"),
        default="md",
        help="Markdown (default), HTML or JSON",
    )
    report.add_argument(
        "--version",
        type=counting_number,
        default=None,
        dest="report_version",
        help="an earlier version (default: the latest)",
    )
    iocs = sub.add_parser(
        "iocs", help="indicators of compromise", description="Indicators of compromise."
    )
    iocs_sub = iocs.add_subparsers(dest="iocs_command", required=True, metavar="ACTION")
    export = iocs_sub.add_parser(
        "export",
        help="print an incident's confirmed indicators",
        description="Print the confirmed indicators of compromise of an incident, to share "
        "with a threat intelligence platform.",
    )
    export.add_argument("number", type=counting_number, help="the incident number")
    export.add_argument(
        "--format",
        choices=("stix", "csv"),
        default="stix",
        help="a STIX 2.1 bundle (default) or CSV",
    )
    demo = sub.add_parser(
        "demo",
        help="run a scripted incident against a built-in fake Slack",
        description="Play a scripted incident on the built-in Slack emulator "
        "and a temporary SQLite database; print the transcript.",
    )
    demo.add_argument(
        "--output-dir",
        default=None,
        help="where to write the incident report (default: a new folder under the system temp dir)",
    )
    sandbox = sub.add_parser(
        "sandbox",
        help="try bridgekeeper in a browser against a built-in fake Slack",
        description="Run bridgekeeper on the built-in Slack emulator and a temporary SQLite "
        "database, with a Slack-like web client at the printed address. Ctrl-C stops it.",
    )
    sandbox.add_argument(
        "--port",
        type=port_number,
        default=8000,
        help="the web client's port (default 8000; 0: any free)",
    )
    add_config_parser(sub)
    return parser


def run(main: Coroutine[Any, Any, int]) -> int:
    """Run on uvloop's event loop where it is installed (not on Windows), else asyncio's:
    uvloop's is about a quarter quicker per request here (BENCHMARKS.md)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def port_number(text: str) -> int:
    """A port on the command line, by the rule of the port settings (0: see each option)."""
    try:
        return port_or_off(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}") from None


def counting_number(text: str) -> int:
    """An incident number, a report version or a delivery id: a whole number from 1."""
    if not is_digits(text) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1, got {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet = "INFO"
    if args.command in ("demo", "sandbox", "audit", "outbox", "config", "report", "iocs"):
        quiet = "WARNING"
    try:
        if args.command == "config":
            return config_command(args)
        if args.command == "doctor":
            from bridgekeeper.doctor import doctor

            logs.configure("ERROR")  # its findings are its output
            return run(doctor())
        settings = None if args.command in ("demo", "sandbox") else load_settings()
        level, fmt = (settings.log_level, settings.log_format) if settings else read_log_settings()
        logs.configure(level or quiet, fmt)
        return run(_dispatch(args, settings))
    except ConfigError as exc:
        print("\n".join(f"bridgekeeper: {line}" for line in exc.lines()), file=sys.stderr)
        return _failed(args, 2)
    except BridgekeeperError as exc:  # a database behind the code is a runtime problem
        print(f"bridgekeeper: {exc}", file=sys.stderr)
        return _failed(args, 1 if isinstance(exc, SchemaOutOfDate) else 2)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # anything else is one line too; its traceback with --debug
        print(_unexpected(exc), file=sys.stderr)
        return _failed(args, 1)


def _failed(args: argparse.Namespace, status: int) -> int:
    if args.debug:
        traceback.print_exc()
    return status


def _unexpected(exc: BaseException) -> str:
    from bridgekeeper.rendering import Renderer
    from bridgekeeper.store.db import failure_reason

    line = Renderer().text(
        "cli/unexpected.txt.j2", kind=type(exc).__name__, reason=failure_reason(exc)
    )
    return line.strip()


async def _dispatch(args: argparse.Namespace, settings: Settings | None) -> int:
    if args.command == "sandbox":
        from bridgekeeper.sandbox.client import run_sandbox

        return await run_sandbox(port=args.port, out=sys.stdout)
    if args.command == "demo" or settings is None:
        from bridgekeeper.demo import run_demo

        return await run_demo(output_dir=args.output_dir)
    if args.command == "db":
        return await _db_upgrade(settings)
    if args.command == "audit":
        return await records.audit_verify(settings, args.number)
    if args.command == "outbox":
        from bridgekeeper.outbox_cli import outbox_command

        return await outbox_command(settings, args)
    if args.command == "report":
        return await records.report(settings, args.number, args.format, args.report_version)
    if args.command == "iocs":
        return await records.iocs_export(settings, args.number, args.format)
    require_slack(settings, signed_requests=args.command == "serve")
    from bridgekeeper.preflight import database_reachable

    if not await database_reachable(settings.database_url, settings.database):
        return 1
    if args.command == "worker":
        health_port = settings.worker_health_port if args.health_port is None else args.health_port
        return await _worker(settings, health_port)
    port = settings.port if args.port is None else args.port
    return await _serve(settings, host=args.host, port=port, worker=not args.no_worker)


async def _db_upgrade(settings: Settings) -> int:
    from bridgekeeper.store.db import Database

    db = Database(settings.database_url, settings.database)
    try:
        await db.upgrade()
    finally:
        await db.dispose()
    print(f"database is at the current schema ({db!r})")
    return 0


async def _serve(settings: Settings, *, host: str, port: int, worker: bool) -> int:
    """Serve /healthz at once; start the worker and Socket Mode once Slack's self-check passes."""
    from bridgekeeper.app import Bridgekeeper
    from bridgekeeper.startup import (
        freeze_startup_heap,
        say_rejected,
        slack_ready,
        stop_on_signal,
    )
    from bridgekeeper.web.connections import start_http

    bk = Bridgekeeper(settings)
    await bk.prepare_database()
    bk.watch_event_loop()
    http = await start_http(bk.web_app(), settings.http, host, port)
    log.info("bridgekeeper listening on http://%s:%s", host, http.port)
    stop, status, socket_mode = stop_on_signal(), 0, None
    # before readiness, and off the event loop: /healthz and early requests are answered meanwhile
    compiled = await asyncio.to_thread(bk.renderer.compile_slack_messages)
    log.info("bridgekeeper compiled %d Slack messages", compiled)
    try:
        slack = await slack_ready(bk, stop, socket_mode=settings.socket_mode)
        if slack is not None:
            if worker:
                bk.start_worker()
            if settings.socket_mode:
                socket_mode = await _start_socket_mode(bk, slack.socket_url, stop)
            freeze_startup_heap()
            log.info("bridgekeeper ready")
            await stop.wait()
            if socket_mode is not None and socket_mode.refused is not None:
                raise socket_mode.refused
    except SlackRejected as exc:
        status = say_rejected(exc)
    if socket_mode is not None:
        await socket_mode.close()
    await http.close()
    await bk.stop()
    return status


async def _start_socket_mode(
    bk: Bridgekeeper, url: str | None, stop: asyncio.Event
) -> SocketModeConnection:
    from bridgekeeper.slack.socket_mode import start_socket_mode

    return await start_socket_mode(
        bk.bolt,
        bk.gateway,
        answers=bk.pending_answers,
        app_token=bk.settings.slack_app_token,
        url=url,
        stop=stop,
    )


async def _worker(settings: Settings, health_port: int) -> int:
    from bridgekeeper.app import Bridgekeeper
    from bridgekeeper.startup import (
        freeze_startup_heap,
        say_rejected,
        slack_ready,
        stop_on_signal,
    )
    from bridgekeeper.web.health import HealthServer
    from bridgekeeper.web.metrics import MetricsEndpoint

    bk = Bridgekeeper(settings)
    await bk.db.check_schema()
    bk.watch_event_loop()
    health = None
    if health_port:
        scraped = MetricsEndpoint(token=settings.metrics_token, db=bk.db, clock=bk.clock)
        health = await HealthServer.start(bk.health, "0.0.0.0", health_port, scraped)
        log.info("worker health on http://0.0.0.0:%s (/healthz, /readyz, /metrics)", health.port)
    stop, status = stop_on_signal(), 0
    try:
        if await slack_ready(bk, stop) is not None:
            bk.start_worker()
            freeze_startup_heap()
            log.info("bridgekeeper worker running")
            await stop.wait()
    except SlackRejected as exc:
        status = say_rejected(exc)
    if health is not None:
        await health.close()
    await bk.stop()
    return status


def _version() -> str:
    try:
        return version("bridgekeeper")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"
