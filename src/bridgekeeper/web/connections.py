"""Serving HTTP with bounds on what a client can hold before it has sent a request.

aiohttp closes idle kept-alive connections (keepalive_timeout) but otherwise lets a connection
wait that long for its first request, and takes any number of connections. Here a connection must
deliver its first request line and headers within `header_timeout_seconds`, and a process holds at
most `max_connections`: beyond that a new connection is answered 503 at once and closed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from bridgekeeper.config import HttpSettings

log = logging.getLogger(__name__)
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
    b"Connection: close\r\n\r\nbusy\n"
)
WARN_EVERY = 60.0  # seconds between two "at the connection limit" warnings


class Guard:
    """The open connections of one server process."""

    def __init__(self, limits: HttpSettings) -> None:
        self.limits = limits
        self.open = 0
        self.refused = 0
        self._warned_at: float | None = None

    def admit(self) -> bool:
        if self.open < self.limits.max_connections:
            self.open += 1
            return True
        self.refused += 1
        now = asyncio.get_running_loop().time()
        if self._warned_at is None or now - self._warned_at > WARN_EVERY:
            self._warned_at = now
            log.warning(
                "at the connection limit (%d): new connections get 503 ([http] max_connections)",
                self.limits.max_connections,
            )
        return False


class GuardedHandler(RequestHandler):
    """aiohttp's connection handler, counted by a Guard and given a deadline for its first
    request's headers."""

    def __init__(self, manager: web.Server, *, guard: Guard, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = guard
        self._admitted = False
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._guard.admit():
            cast(asyncio.Transport, transport).write(BUSY)
            transport.close()
            return
        self._admitted = True
        super().connection_made(transport)
        self._head_deadline = asyncio.get_running_loop().call_later(
            self._guard.limits.header_timeout_seconds, self.force_close
        )

    def head_received(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self._admitted:
            return
        self._admitted = False
        self._guard.open -= 1
        self.head_received()
        super().connection_lost(exc)


class GuardedServer(web.Server):
    """aiohttp's Server, making GuardedHandlers and telling each when its first request came."""

    def __init__(self, base: web.Server, *, guard: Guard, **handler_args: Any) -> None:
        super().__init__(
            base.request_handler, handler_cancellation=base.handler_cancellation, **handler_args
        )
        self._guard = guard
        self._handler_args = handler_args
        make_request = base.request_factory

        def request_factory(*args: Any) -> web.BaseRequest:
            protocol = args[2]  # (message, payload, protocol, writer, task)
            if isinstance(protocol, GuardedHandler):
                protocol.head_received()
            return make_request(*args)

        self.request_factory = request_factory

    def __call__(self) -> RequestHandler:
        loop = asyncio.get_running_loop()
        return GuardedHandler(self, loop=loop, guard=self._guard, **self._handler_args)


class GuardedRunner(web.AppRunner):
    def __init__(self, app: web.Application, *, guard: Guard, **handler_args: Any) -> None:
        super().__init__(app, **handler_args)
        self._guard = guard
        self._handler_args = handler_args

    async def _make_server(self) -> web.Server:
        base = await super()._make_server()
        return GuardedServer(base, guard=self._guard, **self._handler_args)


@dataclass
class HttpServer:
    runner: GuardedRunner
    guard: Guard
    port: int

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_http(
    app: web.Application, limits: HttpSettings, host: str, port: int
) -> HttpServer:
    """Serve `app` on host:port within `limits` (what `bridgekeeper serve` runs)."""
    guard = Guard(limits)
    runner = GuardedRunner(
        app, guard=guard, access_log=None, keepalive_timeout=limits.keepalive_timeout_seconds
    )
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return HttpServer(runner, guard, int(runner.addresses[0][1]))
