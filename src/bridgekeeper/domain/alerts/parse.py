"""Entry point: a webhook body from `POST /alerts/{source}` -> normalised alerts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from bridgekeeper.domain.alerts import (
    alertmanager,
    aws,
    azure_monitor,
    cloudevents,
    datadog,
    defender,
    gcp,
    generic,
    grafana,
    opsgenie,
    pagerduty,
    sentinel,
)
from bridgekeeper.domain.alerts import custom as custom_sources
from bridgekeeper.domain.alerts.model import Alert

Parser = Callable[..., list[Alert]]

PARSERS: dict[str, Parser] = {
    "generic": generic.parse,
    "azure-monitor": azure_monitor.parse,
    "defender": defender.parse,
    "sentinel": sentinel.parse,
    "alertmanager": alertmanager.parse,
    "grafana": grafana.parse,
    "pagerduty": pagerduty.parse,
    "datadog": datadog.parse,
    "gcp": gcp.parse,
    "cloudevents": cloudevents.parse,
    "opsgenie": opsgenie.parse,
    "aws-sns": aws.parse,
}
SOURCES: tuple[str, ...] = tuple(PARSERS)


class UnknownSource(LookupError):
    """The route names no alert source we know (HTTP 404)."""

    def __init__(self, source: str) -> None:
        super().__init__(f"unknown alert source {source[:80]!r}; known: {', '.join(SOURCES)}")
        self.source = source


def parse(
    source: str,
    payload: object,
    *,
    received_at: datetime,
    custom: Mapping[str, custom_sources.CustomSource] | None = None,
    event_types: Mapping[str, custom_sources.CustomSource] | None = None,
) -> list[Alert]:
    """Normalise one webhook body (already JSON-decoded).

    Returns zero or more alerts (zero: e.g. a PagerDuty note event or an empty Alertmanager
    group). Raises `PayloadError` for JSON of the wrong shape and `UnknownSource` for a source
    not in `SOURCES`; never anything else. `received_at` (aware) fills in missing start times
    and the end time of resolutions that carry none. `custom`: the sources the configuration
    defines; `event_types`: its mappings of CloudEvents types.
    """
    if source == "generic" and cloudevents.is_cloudevent(payload):
        source = "cloudevents"  # a CloudEvent sent as plain JSON: read as one, not guessed at
    if source == "cloudevents":
        return cloudevents.parse(payload, received_at=received_at, types=event_types or {})
    if custom and source in custom:
        return custom_sources.parse(custom[source], payload, received_at=received_at)
    parser = PARSERS.get(source)
    if parser is None:
        raise UnknownSource(source)
    return parser(payload, received_at=received_at)
