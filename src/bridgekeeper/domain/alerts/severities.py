"""Severity words of the tools that send alerts, and what each means here (matched
case-insensitively)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bridgekeeper.domain.incidents import Severity

AZURE_MONITOR_SEVERITY = {
    "sev0": Severity.SEV1,
    "sev1": Severity.SEV2,
    "sev2": Severity.SEV3,
    "sev3": Severity.SEV4,
    "sev4": Severity.SEV4,
}
SECURITY_SEVERITY = {  # Defender and Sentinel; High may be escalated to SEV1 by the caller
    "high": Severity.SEV2,
    "medium": Severity.SEV3,
    "low": Severity.SEV4,
    "informational": Severity.SEV4,
    "info": Severity.SEV4,
}
PRIORITY_SEVERITY = {  # PagerDuty, Datadog and Opsgenie P1..P5
    "p1": Severity.SEV1,
    "p2": Severity.SEV2,
    "p3": Severity.SEV3,
    "p4": Severity.SEV4,
    "p5": Severity.SEV4,
}
LABEL_SEVERITY = {  # Prometheus / Grafana `severity` label, free text by convention
    "critical": Severity.SEV2,
    "page": Severity.SEV2,
    "error": Severity.SEV2,
    "high": Severity.SEV2,
    "warning": Severity.SEV3,
    "warn": Severity.SEV3,
    "medium": Severity.SEV3,
    "info": Severity.SEV4,
    "informational": Severity.SEV4,
    "low": Severity.SEV4,
    "none": Severity.SEV4,
    # other tools' words, seen in labels and payloads
    "disaster": Severity.SEV1,
    "fatal": Severity.SEV1,
    "emergency": Severity.SEV1,
    "major": Severity.SEV2,
    "minor": Severity.SEV3,
    "average": Severity.SEV3,
    "moderate": Severity.SEV3,
    "notice": Severity.SEV4,
    "debug": Severity.SEV4,
    "alert": Severity.SEV1,  # syslog's level above critical
    "information": Severity.SEV4,  # Zabbix
    "not classified": Severity.SEV4,  # Zabbix
}
# Free text from a tool whose vocabulary is not known: bridgekeeper's own, P1..P5, label words.
OWN_SEVERITY = {s.value: s for s in Severity} | {f"sev-{s.rank}": s for s in Severity}
WORDS = (OWN_SEVERITY, PRIORITY_SEVERITY, LABEL_SEVERITY)
DEFAULT_SEVERITY = Severity.SEV3
# Tactics / intents that make a High security alert a SEV1.
ESCALATING_TACTICS = frozenset({"impact", "exfiltration", "lateralmovement"})


def lookup(raw: str, *tables: Mapping[str, Severity]) -> Severity | None:
    key = raw.strip().lower()
    for table in tables:
        if key in table:
            return table[key]
    return None


def tactics_escalate(values: Iterable[str]) -> bool:
    words = (w.strip().replace(" ", "").lower() for v in values for w in v.split(","))
    return any(word in ESCALATING_TACTICS for word in words)
