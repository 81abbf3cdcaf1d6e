"""CloudEvents' HTTP binding (1.0), read with the CloudEvents SDK: structured mode
(`application/cloudevents+json`), binary mode (`ce-*` headers, the body is the data) and batch
mode (`application/cloudevents-batch+json`). Every mode becomes a list of events in their
structured JSON form, for domain/alerts/cloudevents.py to map."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import HTTPMessage, from_binary, from_structured
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat

from bridgekeeper.domain.alerts.model import PayloadError

BATCH = "application/cloudevents-batch+json"
STRUCTURED = "application/cloudevents+json"


class NotCloudEvents(Exception):
    """The body is not JSON (HTTP 400)."""


def is_binary(headers: Mapping[str, str]) -> bool:
    return any(name.lower() == "ce-specversion" for name in headers)


def read_events(headers: Mapping[str, str], body: bytes) -> list[dict[str, Any]]:
    """The events of one request; PayloadError names what is wrong with one."""
    content_type = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    try:
        if is_binary(headers):
            return [_plain(from_binary(HTTPMessage(dict(headers), body), JSONFormat()))]
        if content_type == BATCH:
            return [_structured(json.dumps(item).encode()) for item in _batch(body)]
        return [_structured(body)]
    except PayloadError:
        raise
    except (BaseCloudEventException, ValueError, TypeError, KeyError) as exc:
        raise PayloadError(f"not a valid CloudEvent: {str(exc)[:200]}") from None


def _batch(body: bytes) -> list[Any]:
    items = _json(body)
    if not isinstance(items, list):
        raise PayloadError("a CloudEvents batch must be a JSON array of events")
    return items


def _structured(body: bytes) -> dict[str, Any]:
    event = _json(body)
    if not isinstance(event, dict):
        raise PayloadError("a structured CloudEvent must be a JSON object")
    # The JSON format treats an attribute set to null as absent (the specification's own
    # examples send "subject": null); the SDK would refuse it.
    _check_base64(event.get("data_base64"))
    unset = [name for name, value in event.items() if value is None and name != "data"]
    if unset:
        body = json.dumps({k: v for k, v in event.items() if k not in unset}).encode()
    return _plain(from_structured(HTTPMessage({"content-type": STRUCTURED}, body), JSONFormat()))


def _check_base64(data: object) -> None:
    try:
        if data is not None:
            base64.b64decode(str(data), validate=True)
    except binascii.Error:
        raise PayloadError("data_base64 is not valid base64") from None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise NotCloudEvents(str(exc)) from None


def _plain(event: BaseCloudEvent) -> dict[str, Any]:
    """The event's attributes and data as JSON values (time as ISO 8601)."""
    attributes = dict(event.get_attributes())
    time = event.get_time()
    if time is not None:
        attributes["time"] = time.isoformat()
    data = event.get_data()
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    return {**attributes, "data": data}
