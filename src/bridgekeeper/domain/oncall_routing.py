"""Which team an alert belongs to, for the on-call name on its triage card (and, for a rule with
`page`, the team to page when the alert is declared an incident): the first routing rule that
matches the alert's source, resource and labels (shell-style patterns, `*` and `?`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any


@dataclass(frozen=True)
class Route:
    team: str
    sources: frozenset[str] = frozenset()  # empty: any source
    resource: str | None = None  # a pattern; None: any resource
    labels: Mapping[str, str] = field(default_factory=dict)  # label name: pattern
    page: bool = False  # page the team when such an alert is declared an incident


def team_for(
    routes: Sequence[Route], *, source: str, resource: str | None, labels: Mapping[str, str]
) -> str | None:
    route = route_for(routes, source=source, resource=resource, labels=labels)
    return route.team if route else None


def route_for(
    routes: Sequence[Route], *, source: str, resource: str | None, labels: Mapping[str, str]
) -> Route | None:
    return next((r for r in routes if _matches(r, source, resource, labels)), None)


def _matches(route: Route, source: str, resource: str | None, labels: Mapping[str, str]) -> bool:
    if route.sources and source not in route.sources:
        return False
    if route.resource is not None and not fnmatchcase(resource or "", route.resource):
        return False
    return all(fnmatchcase(labels.get(name, ""), pattern) for name, pattern in route.labels.items())


def labels_of(raw: Mapping[str, Any]) -> dict[str, str]:
    """The labels of an alert as its source sent them (Alertmanager and Grafana: the alert's
    `labels`; a source with `labels` at the top of its body: those)."""
    alerts = raw.get("alerts")
    own = alerts[0] if isinstance(alerts, list) and len(alerts) == 1 else raw
    found = own.get("labels") if isinstance(own, Mapping) else None
    if not isinstance(found, Mapping):
        return {}
    return {str(k): str(v) for k, v in found.items() if isinstance(v, str | int | float)}
