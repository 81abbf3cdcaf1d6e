"""`bridgekeeper serve` and `worker` processes forked from one that has imported bridgekeeper.

Starting Python and importing what `serve` runs costs about 1.5 s of CPU, and the crash, replica,
start-up and log tests start dozens of servers. Each test process keeps one parent process that
has imported it all and does nothing else: no thread, no event loop, no socket but the one it is
asked on. Asked for a command, it forks; the child takes the environment, working directory and
standard streams it was given and runs the console script's `main` as `python -m bridgekeeper`
does, then exits as that interpreter would (its atexit work, its finalisation). The parent
reaps it and says how it ended, so the test sees an exit status as `subprocess` gives it
(negative: the signal that killed it).

What the interpreter reads only as it starts cannot change in a fork: a command whose
environment sets `PYTHON*` variables, the locale or a library's import-time switch differently
from the parent's is started as a new interpreter instead (`start`). Two differences remain:
whatever an import prints goes to the test process's stderr (nothing does today), and the
children of one parent share its string-hash seed. What only a new interpreter shows (imports,
`python -m` itself) is left to the tests that start one: tests/faults/test_serve_edge.py,
tests/config/test_config_cli.py, tests/cli/test_cli_errors.py.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from tests.helpers import REPO

MESSAGE = 1 << 20  # bytes: a request (its environment) fits in one


# read once, as the interpreter or a library starts: a fork would keep the parent's
READ_AT_START = ("PYTHON", "LC_", "LANG", "PROMETHEUS_DISABLE_CREATED_SERIES")


def start(
    args: list[str], *, env: Mapping[str, str], stdout: int, stderr: int
) -> Forked | subprocess.Popen[bytes]:
    """`python -m bridgekeeper ARGS`: forked from the preloaded process, or a new interpreter
    when `env` changes what only a starting interpreter reads."""
    if _read_at_start(env) != _read_at_start(os.environ):
        command = [sys.executable, "-m", "bridgekeeper", *args]
        return subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)
    return Preloaded.get().start(args, env=env, stdout=stdout, stderr=stderr)


def _read_at_start(env: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in env.items() if name.startswith(READ_AT_START)}


class Forked:
    """The `subprocess.Popen` of a forked command, as far as the tests use one."""

    def __init__(self, pid: int, parent: Preloaded) -> None:
        self.pid = pid
        self._parent = parent
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._parent.returncode(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(["bridgekeeper"], timeout or 0.0)
            self._parent.ended(self.pid, 0.05)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Preloaded:
    """This test process's parent of forked commands, started on first use."""

    _lock = threading.Lock()
    _started: Preloaded | None = None

    @classmethod
    def get(cls) -> Preloaded:
        with cls._lock:
            if cls._started is None or cls._started._process.poll() is not None:
                cls._started = cls()
            return cls._started

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fd = theirs.fileno()
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from tests.preloaded import parent; parent()", str(fd)],
            cwd=REPO,
            pass_fds=[fd],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        theirs.close()
        self._socket = ours
        self._asking = threading.Lock()
        self._changed = threading.Condition()
        self._asked = 0  # requests sent; each answer names the one it answers
        self._forked: dict[int, int] = {}  # by request
        self._ended: dict[int, int] = {}  # exit status by pid
        threading.Thread(target=self._listen, name="preloaded", daemon=True).start()

    def start(self, args: list[str], *, env: Mapping[str, str], stdout: int, stderr: int) -> Forked:
        with self._asking, open(os.devnull, "rb") as stdin:
            self._asked += 1
            ask = self._asked
            request = {"ask": ask, "args": args, "env": dict(env), "cwd": os.getcwd()}
            message = json.dumps(request).encode()
            socket.send_fds(self._socket, [message], [stdin.fileno(), stdout, stderr])
        with self._changed:
            self._changed.wait_for(lambda: ask in self._forked, timeout=30)
            if ask not in self._forked:
                raise RuntimeError("the preloaded process did not fork")
            return Forked(self._forked.pop(ask), self)

    def returncode(self, pid: int) -> int | None:
        with self._changed:
            return self._ended.get(pid)

    def ended(self, pid: int, timeout: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: pid in self._ended, timeout=timeout)

    def _listen(self) -> None:
        while message := self._socket.recv(MESSAGE):
            said = json.loads(message)
            with self._changed:
                if "forked" in said:
                    self._forked[said["ask"]] = said["forked"]
                else:
                    self._ended[said["ended"]] = said["returncode"]
                self._changed.notify_all()


# -- the parent process -----------------------------------------------------------------------


def parent() -> None:
    """Import what `serve` and `worker` run, then fork a child for each request until the test
    process goes; the child runs the command (and never returns from here)."""
    preload()
    asked = socket.socket(fileno=int(sys.argv[1]))
    request = _fork_on_request(asked)
    if request is None:
        return
    from bridgekeeper.cli import main

    sys.argv = [str(Path(sys.modules["bridgekeeper"].__file__ or "").parent / "__main__.py")]
    sys.argv += request["args"]
    raise SystemExit(main())


# what `serve` and `worker` import, uvloop where it is installed
PRELOADED = (
    "bridgekeeper.app",
    "bridgekeeper.cli",
    "bridgekeeper.preflight",
    "bridgekeeper.slack.socket_mode",
    "bridgekeeper.startup",
    "bridgekeeper.web.connections",
    "bridgekeeper.web.health",
    "bridgekeeper.web.metrics",
    "uvloop",
)


def preload() -> None:
    for name in PRELOADED:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    _compile_slack_messages()


def _compile_slack_messages() -> None:
    """What `serve` compiles before it is ready (about 0.3 s of CPU), compiled once here: the
    process's compiled templates are its children's too (each still loads them)."""
    from bridgekeeper.rendering import Renderer
    from bridgekeeper.services.report_filters import add_report_filters

    renderer = Renderer()
    add_report_filters(renderer)  # as the app's services do: the templates that use them
    renderer.compile_slack_messages()


def _fork_on_request(asked: socket.socket) -> dict[str, object] | None:
    woken, wake = os.pipe()
    os.set_blocking(wake, False)
    signal.set_wakeup_fd(wake)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: set[int] = set()
    while True:
        ready = select.select([asked, woken], [], [])[0]
        if woken in ready:
            os.read(woken, 4096)
            _reap(children, asked)
        if asked not in ready:
            continue
        message, fds, _, _ = socket.recv_fds(asked, MESSAGE, 3)
        if not message:  # the test process is gone: so are its servers
            for pid in children:
                os.kill(pid, signal.SIGKILL)
            return None
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            _become(request, fds, closing=[asked.detach(), woken, wake])
            return dict(request)
        children.add(pid)
        for fd in fds:
            os.close(fd)
        asked.send(json.dumps({"forked": pid, "ask": request["ask"]}).encode())


def _reap(children: set[int], asked: socket.socket) -> None:
    for pid in list(children):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            children.discard(pid)
            code = os.waitstatus_to_exitcode(status)
            with contextlib.suppress(OSError):  # the test process is gone: nobody to tell
                asked.send(json.dumps({"ended": pid, "returncode": code}).encode())


def _become(request: dict[str, object], fds: list[int], *, closing: list[int]) -> None:
    """The child: the streams, environment and directory a new process would have been given."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in {*fds, *closing} - {0, 1, 2}:
        os.close(fd)
    env = request["env"]
    assert isinstance(env, dict)
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    os.chdir(str(request["cwd"]))
    if sys.path[0] == "":  # as `python -m` puts it: the working directory
        sys.path[0] = os.getcwd()
