"""The test servers forked from a preloaded process (tests/preloaded.py) end as a new process
would, in its own streams; an environment that only a starting interpreter reads gets one."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests import preloaded
from tests.faults.servers import wait_for


def forked(
    tmp_path: Path, *args: str, **env: str
) -> tuple[preloaded.Forked | subprocess.Popen[bytes], Path]:
    log = tmp_path / "out.log"
    with log.open("ab") as out:
        process = preloaded.start(
            list(args), env={**os.environ, **env}, stdout=out.fileno(), stderr=out.fileno()
        )
    return process, log


def test_a_forked_command_writes_to_its_own_streams_and_exits_with_its_status(
    tmp_path: Path,
) -> None:
    process, log = forked(tmp_path, "--version")
    assert isinstance(process, preloaded.Forked)
    assert process.wait(timeout=30) == 0
    assert log.read_text().startswith("bridgekeeper ")
    process, log = forked(tmp_path, "no-such-command")
    assert process.wait(timeout=30) == 2 and "invalid choice" in log.read_text()


async def test_a_forked_server_killed_reports_the_signal(tmp_path: Path) -> None:
    process, log = forked(tmp_path, "sandbox", "--port", "0")
    assert isinstance(process, preloaded.Forked)
    await wait_for(lambda: "http://" in log.read_text())
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    assert process.poll() == -signal.SIGKILL


def test_what_only_a_starting_interpreter_reads_gets_a_new_one(tmp_path: Path) -> None:
    process, _ = forked(tmp_path, "--version", PYTHONDEVMODE="1")
    assert isinstance(process, subprocess.Popen)
    assert process.wait(timeout=30) == 0
