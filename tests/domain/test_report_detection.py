"""The report's detection and triage: who acknowledged the incident goes with when."""

from __future__ import annotations

from datetime import timedelta

from bridgekeeper.domain.report import AlertFacts, ReportInput, compile_report, iso
from tests.domain.test_report_as_closed import START, alert, incident


def detection(*alerts: AlertFacts) -> tuple[str, str]:
    compiled = compile_report(ReportInput(incident=incident(), entries=(), alerts=alerts))
    found = compiled["detection"]
    return found["acknowledged_at"], found["acknowledged_by"]


def test_a_declaration_before_any_acknowledgement_is_the_acknowledgement() -> None:
    """Declared by hand at 09:00; an alert came at 09:30 and bob linked it at 09:35: it was
    acknowledged at 09:00, by alice (the report said 09:00 by bob)."""
    minutes = timedelta(minutes=1)
    later = alert(
        "joined later", START + 30 * minutes, acked_by="U0BOB", acked_at=START + 35 * minutes
    )
    assert detection(later) == (iso(START), "U0ALICE")


def test_an_alert_acknowledged_before_the_declaration_names_who_did() -> None:
    minutes = timedelta(minutes=1)
    first = alert("first", START - 10 * minutes, acked_by="U0BOB", acked_at=START - 5 * minutes)
    second = alert("second", START - 9 * minutes, acked_by="U0CAROL", acked_at=START - 2 * minutes)
    assert detection(second, first) == (iso(START - 5 * minutes), "U0BOB")
