"""`python -m bench --quick` runs every benchmark against the real server and prints the table.

No timing is asserted (this machine is shared); what is checked is that each benchmark ran and
measured something, and that the storm and declaration counts hold, since those are not timings.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

PG_URL = os.environ.get("BRIDGEKEEPER_TEST_DATABASE_URL", "")


def run_quick_bench(*names: str) -> str:
    if not (REPO / "bench" / "__main__.py").exists():
        pytest.skip("bench/ is not in this tree (installed without a checkout)")
    database = ["--pg-url", PG_URL] if PG_URL else ["--no-pg"]
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--repeats", "1", "--only", *names, *database],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def line(output: str, *words: str) -> str:
    found = [row for row in output.splitlines() if all(w in row for w in words)]
    assert found, f"no table row with {words} in:\n{output}"
    return found[0]


def cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


MEASUREMENTS = (
    ("ack latency", "bridgekeeper p99"),
    ("ack latency", "bare Bolt p99"),
    ("alert ingest", "bridgekeeper on SQLite"),
    ("alert ingest", "bare aiohttp 202"),
    ("declaration", "command to channel"),
    ("footprint", "serve start-up"),
    ("footprint", "resident memory"),
    ("mixed load", "ack p99, whole scenario (SQLite)"),
    ("mixed load", "bare Bolt ack p99, same commands"),
    ("mixed load", "alerts/s during the storm (all 202, stored) (SQLite)"),
    ("mixed load", "bare aiohttp alerts/s, same storm"),
    ("mixed load", "serve resident memory at the end"),
)


def check_each_benchmark_reports_a_measurement(quick_run: str, *benchmarks: str) -> None:
    for benchmark, metric in MEASUREMENTS:
        if benchmark in benchmarks:
            median = cells(line(quick_run, benchmark, metric))[2]
            assert median[0].isdigit(), f"{benchmark} {metric}: {median}"
    assert "cores" in quick_run.splitlines()[0] and "Python" in quick_run.splitlines()[0]


def check_a_storm_gets_a_bounded_number_of_triage_cards(quick_run: str) -> None:
    cards = cells(line(quick_run, "triage cards posted (SQLite)"))
    assert cards[2] == "6" and cards[5] == "yes"  # quick runs allow 5 a minute, then a digest
    assert cells(line(quick_run, "updates per card, most (SQLite)"))[5] == "yes"


def check_a_declaration_takes_a_few_web_api_calls(quick_run: str) -> None:
    calls = cells(line(quick_run, "Web API calls per incident"))
    assert 1 <= int(calls[2]) <= 8
    assert "conversations.create 1" in line(quick_run, "calls by method")


def check_the_report_is_rendered_or_said_to_be_missing(quick_run: str) -> None:
    row = cells(line(quick_run, "report", "render Markdown"))
    assert row[2][0].isdigit() or row[2].startswith("not available")


def check_the_mixed_load_counts_its_slack_calls_and_the_failing_channel(quick_run: str) -> None:
    cards = int(cells(line(quick_run, "mixed load", "triage cards posted (SQLite)"))[2])
    assert 1 <= cards <= 50  # at most one per dedup key, however often each repeats
    assert int(cells(line(quick_run, "mixed load", "messages the burst's notes took"))[2]) >= 1
    assert int(cells(line(quick_run, "failing channel: 503 answers (SQLite)"))[2]) >= 1
    assert int(cells(line(quick_run, "failing channel: pending effects at the start"))[2]) >= 1
    assert "chat.postMessage" in line(quick_run, "mixed load", "calls by method, last run (SQLite)")


# Three tests, each a part of the quick bench, so that parallel test processes share them
# (the whole bench in one takes a minute and a half).
@pytest.mark.slow(35)
def test_acks_declarations_reports_and_footprint_are_measured() -> None:
    output = run_quick_bench("ack", "declare", "report", "close", "footprint")
    check_each_benchmark_reports_a_measurement(output, "ack latency", "declaration", "footprint")
    check_a_declaration_takes_a_few_web_api_calls(output)
    check_the_report_is_rendered_or_said_to_be_missing(output)


@pytest.mark.slow(10)
def test_the_alert_storm_is_measured_with_bounded_triage_cards() -> None:
    output = run_quick_bench("ingest")
    check_each_benchmark_reports_a_measurement(output, "alert ingest")
    check_a_storm_gets_a_bounded_number_of_triage_cards(output)


@pytest.mark.slow(31)
def test_the_mixed_load_is_measured_and_counts_its_slack_calls() -> None:
    output = run_quick_bench("mixed")
    check_each_benchmark_reports_a_measurement(output, "mixed load")
    check_the_mixed_load_counts_its_slack_calls_and_the_failing_channel(output)


async def test_a_benchmark_server_whose_port_was_taken_starts_on_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between choosing a free port and binding it, another process can take it: the server
    stops, saying the address is in use, and is started again on another port."""
    if not (REPO / "bench" / "harness.py").exists():
        pytest.skip("bench/ is not in this tree (installed without a checkout)")
    from bench import harness

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = iter([taken.getsockname()[1]])
        chosen = harness.free_port
        monkeypatch.setattr(harness, "free_port", lambda: next(ports, None) or chosen())
        env = {"BRIDGEKEEPER_ALERT_TOKEN": "t"}
        server = harness.ServerProcess(
            [sys.executable, "-m", "bench.bare_alerts"], env, tmp_path / "bare.log", "/healthz"
        )
        try:
            await server.start(timeout=30)
            assert server.port != taken.getsockname()[1]
            assert "address already in use" in (tmp_path / "bare.log").read_text()
        finally:
            await server.stop()


def test_the_event_loop_rows_say_nothing_of_a_scenario_without_timings() -> None:
    if not (REPO / "bench" / "mixed_scenario.py").exists():
        pytest.skip("bench/ is not in this tree (installed without a checkout)")
    from bench.mixed_scenario import lag_during

    before = {0.005: 10.0, 0.025: 12.0, 0.1: 13.0, float("inf"): 13.0}
    assert lag_during(before, before) == {"lag samples": 0, "lag 25": 0, "lag worst": None}
    after = {0.005: 15.0, 0.025: 18.0, 0.1: 20.0, float("inf"): 20.0}
    assert lag_during(before, after) == {"lag samples": 7, "lag 25": 1, "lag worst": 100.0}
