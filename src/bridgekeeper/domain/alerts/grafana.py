"""`POST /alerts/grafana`: Grafana unified alerting webhook contact point (version "1").

Alertmanager's body plus `orgId`, `state` (alerting|ok), templated `title`/`message` (ignored:
user-templated) and per alert `values`, `dashboardURL`, `panelURL`, `silenceURL`, `ruleUID`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridgekeeper.domain.alerts import alertmanager, fields
from bridgekeeper.domain.alerts.model import Alert

SOURCE = "grafana"
MAX_VALUES = 10


def _values(item: dict[str, Any]) -> str:
    values = fields.get(item, "values")
    if isinstance(values, dict):
        pairs = [f"{key}={fields.text(value)}" for key, value in list(values.items())[:MAX_VALUES]]
        return f"Values: {', '.join(pairs)}" if pairs else ""
    legacy = fields.text_at(item, "valueString")
    return f"Values: {fields.one_line(legacy, 500)}" if legacy else ""


GRAFANA = alertmanager.Flavour(
    source=SOURCE,
    link_fields=("generatorURL", "panelURL", "dashboardURL"),
    extra_description=_values,
)


def parse(payload: object, *, received_at: datetime) -> list[Alert]:
    return alertmanager.parse_group(payload, received_at=received_at, flavour=GRAFANA)
