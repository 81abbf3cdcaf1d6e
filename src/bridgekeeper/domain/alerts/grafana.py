"""`POST /alerts/grafana`: Grafana unified alerting webhook contact point (version "1").

Alertmanager's body plus `orgId`, `state` (alerting|ok), templated `title`/`message` (ignored:
user-templated) and per alert `values`, `dashboardURL`, `panelURL`, `silenceURL`, `ruleUID`.
Grafana's legacy (dashboard) alerting, one rule a request (`ruleName`, `state`, `evalMatches`),
is read too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridgekeeper.domain.alerts import alertmanager, fields
from bridgekeeper.domain.alerts.model import Alert, AlertStatus

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
    if isinstance(payload, dict) and "alerts" not in payload and "ruleName" in payload:
        return [legacy(payload, received_at)]
    return alertmanager.parse_group(payload, received_at=received_at, flavour=GRAFANA)


def legacy(body: dict[str, Any], received_at: datetime) -> Alert:
    """Grafana's legacy (dashboard) alerting webhook: one rule's state, alerting or ok, with
    the series that matched (`evalMatches`) and the rule's tags."""
    rule = fields.text_at(body, "ruleName") or "Grafana alert"
    state = fields.text_at(body, "state").lower()
    key = fields.text_at(body, "ruleId") or rule
    tags = {str(k): fields.text(v) for k, v in fields.obj_at(body, "tags").items()}
    matches = fields.objects(fields.get(body, "evalMatches"))[:MAX_VALUES]
    severity_raw, severity = alertmanager.label_severity(tags)
    resolved = state == "ok"
    return Alert(
        source=SOURCE,
        external_id=fields.truncate(key, fields.TEXT_MAX),
        dedup_key=f"{SOURCE}:legacy:{fields.truncate(key, fields.TEXT_MAX)}",
        title=fields.one_line(rule),
        severity=severity,
        source_severity=severity_raw or state,
        status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
        description=fields.paragraph(_legacy_description(body, matches, state)),
        resource=fields.truncate(tags.get("host") or tags.get("instance") or "", 1000) or None,
        link=fields.first_url(fields.get(body, "ruleUrl")),
        started_at=received_at,
        ended_at=received_at if resolved else None,
        raw=body,
    )


def _legacy_description(body: dict[str, Any], matches: list[dict[str, Any]], state: str) -> str:
    values = (f"{fields.text_at(m, 'metric')}: {fields.text_at(m, 'value')}" for m in matches)
    state_line = f"State: {state}" if state else ""
    return fields.join_lines(fields.text_at(body, "message"), *values, state_line)
