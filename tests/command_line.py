"""The `bridgekeeper` command run in this test process: the console script's own `main`, with
the environment, working directory and standard streams given to it, its warnings and log lines
in its stderr, and a status as the interpreter would exit with.

Starting Python and importing bridgekeeper costs about a second of CPU a command; the tests of
what a command prints and exits with run it here instead. What only a process of its own shows
(output written to file descriptor 2, what happens at exit, signals) is left to the tests that
start one: `serve`, `worker`, `sandbox`, start-up and crashes.

The environment, working directory, streams and root log handlers are the process's: while a
command runs (`run_bridgekeeper_beside` runs it on a thread beside the test's event loop), the
rest of the process sees them too, so one command runs at a time.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from bridgekeeper.cli import main

TIMEOUT = 60.0  # seconds a command run beside the event loop may take
_ONE_AT_A_TIME = threading.Lock()
# the filters a new interpreter starts with (python -W and PYTHONWARNINGS aside)
_QUIET_BY_DEFAULT = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


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
    if not _ONE_AT_A_TIME.acquire(blocking=False):
        raise RuntimeError("one bridgekeeper command at a time: they share the process's state")
    out, err = io.StringIO(), io.StringIO()
    try:
        with (
            _environment(env),
            _working_directory(cwd),
            redirect_stdout(out),
            redirect_stderr(err),
            _own_logging(),
            _own_warnings(err),
        ):
            status = _exit_status(list(args))
    finally:
        _ONE_AT_A_TIME.release()
    return Done(status, out.getvalue(), err.getvalue())


async def run_bridgekeeper_beside(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Done:
    """`run_bridgekeeper` on a thread of its own, for a command that calls a server this test's
    event loop runs (the Slack emulator) meanwhile."""
    command = asyncio.to_thread(run_bridgekeeper, *args, env=env, cwd=cwd)
    return await asyncio.wait_for(command, TIMEOUT)


def _exit_status(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exit:  # argparse's usage errors and --version
        if exit.code is None or isinstance(exit.code, int):
            return exit.code or 0
        print(exit.code, file=sys.stderr)
        return 1
    except BaseException:  # what the interpreter would print on its way out
        traceback.print_exc()
        return 1


@contextmanager
def _environment(env: Mapping[str, str] | None) -> Iterator[None]:
    """Only the variables that differ are changed (the environment is never seen empty)."""
    saved = dict(os.environ)
    if env is not None:
        _become(env)
    try:
        yield
    finally:
        _become(saved)


def _become(env: Mapping[str, str]) -> None:
    for name in [name for name in os.environ if name not in env]:
        del os.environ[name]
    for name, value in env.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


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
    """No root handler yet, as in a new process (so the command's own goes to its stderr), then
    this process's back as it was."""
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


@contextmanager
def _own_warnings(err: io.StringIO) -> Iterator[None]:
    """Warnings on the command's stderr, filtered as a new interpreter filters them, instead of
    caught by the test run's own warning capture."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("default")
        for category in _QUIET_BY_DEFAULT:
            warnings.simplefilter("ignore", category)
        try:
            yield
        finally:
            for w in caught:
                err.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno))
