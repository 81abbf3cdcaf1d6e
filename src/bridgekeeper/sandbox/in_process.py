"""The emulator's Web API answered in the caller's process, without HTTP.

`InProcessClient` is slack_sdk's `AsyncWebClient` with its one HTTP request replaced: the
SDK still builds each call (which arguments go in the query, the form or a JSON body) and
reads each answer (ok, error, status, headers), but the request is handed to the emulator as
its HTTP handler would hand it over, and the answer comes back as the handler would have sent
it. Arguments and answers are encoded and decoded on the way, so neither side shares an
object with the other. A stopped emulator refuses the connection.

What only HTTP shows (the wire itself, sessions, multipart uploads) is left to the clients
that talk to the emulator over HTTP.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
from multidict import CIMultiDict
from slack_sdk.web.async_client import AsyncWebClient

from bridgekeeper.sandbox.state import JsonDict
from bridgekeeper.sandbox.wire import bearer_token

if TYPE_CHECKING:
    from bridgekeeper.sandbox.emulator import SlackEmulator


class InProcessClient(AsyncWebClient):
    def __init__(self, emulator: SlackEmulator, *, token: str, timeout: int = 30) -> None:
        super().__init__(token=token, base_url=emulator.api_url, timeout=timeout, retry_handlers=[])
        self._emulator = emulator

    async def _request(self, *, http_verb: str, api_url: str, req_args: dict[str, Any]) -> Any:
        if not self._emulator.serving:
            raise aiohttp.ClientConnectionError(f"connection refused: {api_url}")
        if req_args.get("files"):
            raise ValueError("a multipart upload is sent over HTTP, not in process")
        method = api_url.rsplit("/", 1)[1]
        token = bearer_token(str((req_args.get("headers") or {}).get("Authorization", "")))
        call = self._emulator.answer_call(method, sent_args(req_args), token)
        answer = await asyncio.wait_for(call, timeout=self.timeout)
        return {
            "data": _over_the_wire(answer.body),
            "headers": CIMultiDict(answer.headers),
            "status_code": answer.status,
        }


def sent_args(req_args: dict[str, Any]) -> JsonDict:
    """The arguments as the emulator reads them from an HTTP request (`wire.read_args`): the
    query's and the form's as text, a JSON body's as JSON."""
    args: JsonDict = dict(_as_text(req_args.get("params") or {}))
    if req_args.get("json") is not None:
        args.update(_over_the_wire(req_args["json"]))
    elif req_args.get("data"):
        args.update(_as_text(req_args["data"]))
    return args


def _over_the_wire(body: Any) -> Any:
    """A JSON body as the other side reads it: encoded and decoded, sharing no object."""
    return json.loads(json.dumps(body))


def _as_text(fields: dict[str, Any]) -> list[tuple[str, str]]:
    return parse_qsl(urlencode(fields, doseq=True), keep_blank_values=True)
