"""The Socket Mode side of the emulator: one WebSocket endpoint that speaks Slack's envelopes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from bridgekeeper.sandbox.state import JsonDict


class SocketModeServer:
    """Sends hello + envelopes to the connected client and collects acks by envelope_id."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.current: web.WebSocketResponse | None = None
        self.sockets: set[web.WebSocketResponse] = set()
        self.connections = 0
        self.acks: dict[str, JsonDict] = {}
        self.sent: list[JsonDict] = []
        self._connected = asyncio.Event()
        self._waiters: dict[str, asyncio.Future[JsonDict]] = {}

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self.current = socket
        self.sockets.add(socket)
        self.connections += 1
        self._connected.set()
        await socket.send_json(self._hello())
        try:
            async for frame in socket:
                if frame.type == WSMsgType.TEXT:
                    self._on_text(frame.data)
        finally:
            self.sockets.discard(socket)
            if self.current is socket:
                self.current = None
                self._connected.clear()
        return socket

    def _hello(self) -> JsonDict:
        return {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {"host": "applink-sandbox", "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }

    def _on_text(self, data: str) -> None:
        try:
            message: Any = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict) or "envelope_id" not in message:
            return
        envelope_id = str(message["envelope_id"])
        self.acks[envelope_id] = message
        waiter = self._waiters.pop(envelope_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(message)

    async def wait_connected(self, timeout: float) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def send(
        self,
        envelope_type: str,
        payload: JsonDict,
        retry_attempt: int,
        retry_reason: str,
        timeout: float,
    ) -> str:
        await self.wait_connected(timeout)
        assert self.current is not None
        envelope_id = str(uuid.uuid4())
        envelope: JsonDict = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "accepts_response_payload": envelope_type != "events_api",
            "payload": payload,
        }
        if envelope_type == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        self._waiters[envelope_id] = asyncio.get_running_loop().create_future()
        self.sent.append(envelope)
        await self.current.send_json(envelope)
        return envelope_id

    async def wait_ack(self, envelope_id: str, timeout: float) -> JsonDict:
        if envelope_id in self.acks:
            return self.acks[envelope_id]
        waiter = self._waiters.get(envelope_id)
        if waiter is None:
            raise KeyError(f"unknown envelope {envelope_id}")
        return await asyncio.wait_for(asyncio.shield(waiter), timeout)

    async def disconnect(self, *, graceful: bool) -> None:
        """Drop the connection; graceful sends Slack's disconnect message and lets the client go."""
        socket = self.current
        if socket is None:
            return
        self.current = None
        self._connected.clear()
        if graceful:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await socket.send_json({"type": "disconnect", "reason": "refresh_requested"})
            return
        await socket.close()

    async def close_all(self) -> None:
        self.current = None
        self._connected.clear()
        for socket in list(self.sockets):
            await socket.close()
        for waiter in self._waiters.values():
            waiter.cancel()
