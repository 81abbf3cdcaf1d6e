"""Correlation keys: how alerts from different sources find the same incident.

Key formats (all lower-case except where the source's value is case-sensitive):

- `resource:<ARM id lower-cased>`         any Azure resource id
- `host:<short host name>`                 VM name from an ARM id, host entities, Prometheus
                                           `instance` without port, Datadog host, ...
- `fqdn:<full host name>`                  beside `host:` when the name is qualified: two
                                           alerts whose host has the same first label but whose
                                           full names differ are not the same host
- `azure-alert:<alert GUID, 32 hex>`       Azure Monitor alertId; PagerDuty incident_key when it
                                           carries that GUID (forwarded Azure alerts)
- `defender-alert:<SystemAlertId>`         Defender SystemAlertId = Sentinel alert providerAlertId
- `defender-correlation:<CorrelationKey>`  Defender's own correlation (case kept: it is base64)
- `resource:<name>`                        the generic source's non-ARM resource, lower-cased
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from datetime import datetime, timedelta

from bridgekeeper.domain.alerts import fields
from bridgekeeper.domain.alerts.model import Alert

KEY_MAX = 600
# Names every machine has: a key on them would merge unrelated alerts.
NOT_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "unknown", "none", "n/a"})


def resource_key(resource: str) -> str:
    return f"resource:{fields.normalise_resource(resource).lower()}"


def host_key(host: str) -> str:
    return f"host:{fields.short_host(host)}"


def correlation_keys(
    *, resources: Iterable[str] = (), hosts: Iterable[str] = (), other: Iterable[str] = ()
) -> frozenset[str]:
    """Keys for the given resources (ARM ids also give their VM as a host), hosts and extras."""
    keys: set[str] = set()
    host_names = list(hosts)
    for resource in resources:
        if resource.strip() and _groupable(resource):
            keys.add(resource_key(resource))
            host_names.append(fields.arm_host(resource) or "")
    for host in filter(_is_host, host_names):
        keys.add(host_key(host))
        if full := _fqdn(host):
            keys.add(f"fqdn:{full}")
    keys.update(key for key in other if key.split(":", 1)[-1])
    return frozenset(key for key in keys if len(key) <= KEY_MAX)


def _fqdn(host: str) -> str:
    """The full host name when it is qualified (`web-01.corp.example.com`); "" for a bare name
    or an address."""
    name = fields.host_name(host)
    return name if fields.short_host(name) != name else ""


def _is_host(host: str) -> bool:
    short = fields.short_host(host)
    return bool(short) and short not in NOT_HOSTS


def _groupable(resource: str) -> bool:
    """Containers (subscriptions, resource groups, Log Analytics workspaces) would merge
    everything they hold, and so would a name every machine has (localhost): no key."""
    if fields.is_arm_id(resource):
        return fields.is_specific_resource(resource)
    return resource.strip().lower() not in NOT_HOSTS


def arm_resources(values: Iterable[str]) -> list[str]:
    """Only the ARM ids among `values` (display names are not resources to correlate on)."""
    return [value for value in values if fields.is_arm_id(value)]


def related(a: Alert, b_keys: frozenset[str]) -> bool:
    """Whether the alert shares a correlation key with an incident's keys (`shared`)."""
    return shared(a.correlation_keys, b_keys)


def pick_incident(
    alert_keys: Set[str],
    open_incidents: list[tuple[int, frozenset[str], datetime]],
    *,
    now: datetime,
    window: timedelta,
) -> int | None:
    """The open incident to merge an alert into, or None to open a new one.

    Candidates are (number, keys, last activity). An incident qualifies when its keys intersect
    the alert's and its last activity is within `window` of `now`; the most recently active one
    wins (ties: the higher, i.e. newer, number).
    """
    if not alert_keys:
        return None
    candidates = [
        (last_activity, number)
        for number, keys, last_activity in open_incidents
        if now - last_activity <= window and shared(alert_keys, keys)
    ]
    return max(candidates)[1] if candidates else None


def shared(a: Set[str], b: Set[str]) -> bool:
    """Whether two sets of keys name the same thing: a key in common, not counting a host's
    first label where both know its full name and those differ (`web-01.corp.example.com` is
    not `web-01.staging.example.net`; a bare `web-01` is either)."""
    return any(not _other_domains(key, a, b) for key in a & b if not key.startswith("fqdn:"))


def _other_domains(key: str, a: Set[str], b: Set[str]) -> bool:
    if not key.startswith("host:"):
        return False
    prefix = f"fqdn:{key.removeprefix('host:')}."
    full_a = {k for k in a if k.startswith(prefix)}
    full_b = {k for k in b if k.startswith(prefix)}
    return bool(full_a and full_b and full_a.isdisjoint(full_b))
