"""The incident's facts a report version keeps as closed: stored as JSON and read back."""

from __future__ import annotations

from datetime import UTC, datetime

from bridgekeeper.domain import report as r
from bridgekeeper.services.report_facts import facts_from_record, facts_record

CLOSED = r.IncidentFacts(
    number=7,
    title="Payroll export leaked",
    severity="sev1",
    initial_severity="sev2",
    stage="close",
    status="closed",
    private=True,
    declared_by="U0ALICE",
    declared_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    detected_at=datetime(2026, 12, 1, 8, 55, tzinfo=UTC),
    closed_at=datetime(2026, 12, 2, 17, 30, tzinfo=UTC),
    closed_by="U0BOB",
    impact={"confidentiality": "high"},
    resolution_summary="Bucket made private",
    follow_ups=[{"owner": "U0BOB", "text": "Scan buckets daily"}],
    timeline_head="ab" * 32,
    timeline_length=42,
)


def test_the_facts_as_closed_read_back_the_same() -> None:
    assert facts_from_record(facts_record(CLOSED)) == CLOSED


def test_facts_kept_by_another_version_are_read_if_they_fit_else_left_out() -> None:
    record = {**facts_record(CLOSED), "severity_reason": "kept by a later version"}
    assert facts_from_record(record) == CLOSED  # a field this version does not know is left
    del record["title"]
    assert facts_from_record(record) is None  # one it needs is missing: the incident as it is
