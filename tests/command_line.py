"""The `bridgekeeper` command run in this test process: the console script's own `main`, with the
environment, working directory and standard streams it would have as a process of its own.

Starting Python and importing bridgekeeper costs about a second of CPU a command; the tests of
what a command prints and exits with run it here instead. The tests that are about the process
itself (start-up, signals, logs of a serving process, a crash) still start one.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from bridgekeeper.cli import main


@dataclass(frozen=True)
class Done:
    """What the command left: the fields of `subprocess.CompletedProcess` the tests read."""

    returncode: int
    stdout: str
    stderr: str


def run_bridgekeeper(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Done:
    """`bridgekeeper ARGS` with exactly `env` as its environment (this process's when None), in
    `cwd`. Not for `serve`, `worker` or `sandbox`, which run until stopped."""
    out, err = io.StringIO(), io.StringIO()
    with (
        _environment(env),
        _working_directory(cwd),
        redirect_stdout(out),
        redirect_stderr(err),
        _own_logging(),
    ):
        status = _exit_status(list(args))
    return Done(status, out.getvalue(), err.getvalue())


async def run_bridgekeeper_beside(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Done:
    """`run_bridgekeeper` on a thread of its own, for a command that calls a server this test's
    event loop runs (the Slack emulator) meanwhile."""
    return await asyncio.to_thread(run_bridgekeeper, *args, env=env, cwd=cwd)


def _exit_status(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exit:  # argparse's usage errors and --version
        code = exit.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except BaseException:  # what the interpreter would print on its way out
        traceback.print_exc()
        return 1


@contextmanager
def _environment(env: Mapping[str, str] | None) -> Iterator[None]:
    saved = dict(os.environ)
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _working_directory(cwd: Path | None) -> Iterator[None]:
    saved = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved)


@contextmanager
def _own_logging() -> Iterator[None]:
    """Logging as a new process has it (no handler yet, so the command's own goes to its
    stderr), then this process's back as it was."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logger.level for name, logger in _loggers()}
    root.handlers.clear()
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, logger in _loggers():
            logger.setLevel(levels.get(name, logging.NOTSET))


def _loggers() -> Iterator[tuple[str, logging.Logger]]:
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            yield name, logger
