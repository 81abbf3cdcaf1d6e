"""The report's timeline picture: stages as bands, severity as steps, alerts, notes, pins and
updates as marks on one time axis, drawn from domain objects; escaped; small at any length."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest

from bridgekeeper.domain.report import IncidentFacts
from bridgekeeper.domain.report_timeline import Entry
from bridgekeeper.rendering import Renderer
from bridgekeeper.services.report_html import timeline_svg

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def facts(title: str = "Database down", *, minutes: float = 60, **changes: object) -> IncidentFacts:
    fields: dict[str, object] = {
        "number": 7,
        "title": title,
        "severity": "sev1",
        "initial_severity": "sev3",
        "stage": "stabilize",
        "status": "closed",
        "private": False,
        "declared_by": "U0ALICE",
        "declared_at": START,
        "detected_at": START - timedelta(minutes=2),
        "closed_at": START + timedelta(minutes=minutes),
        **changes,
    }
    return IncidentFacts(**fields)


def entry(seq: int, minute: float, kind: str, text: str = "", **data: object) -> Entry:
    return Entry(
        seq=seq,
        at=START + timedelta(minutes=minute),
        actor="U0ALICE",
        kind=kind,
        text=text,
        data=data,
    )


def small_timeline(note: str = "isolated the host") -> list[Entry]:
    return [
        entry(1, 0, "declared", title="Database down"),
        entry(2, 1, "alert_attached", title="Disk full on db-1", source="datadog"),
        entry(3, 5, "stage_changed", **{"from": "detect", "to": "assess"}),
        entry(4, 9, "severity_changed", "it spread", **{"from": "sev3", "to": "sev1"}),
        entry(5, 12, "note", note),
        entry(6, 20, "pinned", "failover started"),
        entry(7, 25, "update_posted", "We are failing over", channels=["C0STAKE"]),
        entry(8, 40, "stage_changed", **{"from": "assess", "to": "stabilize"}),
        entry(9, 60, "closed", "failed over"),
    ]


def draw(incident: IncidentFacts, entries: list[Entry] | Iterator[Entry]) -> str:
    end = incident.closed_at or START
    return str(timeline_svg(Renderer(), incident, entries, now=end))


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # well-formed XML, or this raises


def titles(root: ElementTree.Element, group: str) -> list[str]:
    [found] = [g for g in root.iter(f"{SVG}g") if g.get("class") == group]
    return [t.text or "" for t in found.iter(f"{SVG}title")]


def tick_labels(root: ElementTree.Element) -> list[str]:
    [axis] = [g for g in root.iter(f"{SVG}g") if g.get("class") == "axis"]
    return [t.text or "" for t in axis.iter(f"{SVG}text")][:-1]  # the last one says "UTC"


def test_a_small_incident_shows_its_stages_severity_and_marks() -> None:
    root = parse(draw(facts(), small_timeline()))
    assert root.findtext(f"{SVG}title") == "Timeline of incident 7: Database down"
    desc = root.findtext(f"{SVG}desc") or ""
    assert "From 2026-03-02 08:58 UTC to 2026-03-02 10:00 UTC" in desc
    assert "Detect from 2026-03-02 09:00 UTC, Assess from 2026-03-02 09:05 UTC" in desc
    assert "Alerts: 1, notes: 1, pins: 1, updates: 1." in desc
    assert titles(root, "stages") == [
        "Detect: 2026-03-02 09:00 UTC to 2026-03-02 09:05 UTC",
        "Assess: 2026-03-02 09:05 UTC to 2026-03-02 09:40 UTC",
        "Stabilize: 2026-03-02 09:40 UTC to 2026-03-02 10:00 UTC",
    ]
    assert titles(root, "marks") == [
        "2026-03-02 09:01 UTC, alert attached: Disk full on db-1",
        "2026-03-02 09:12 UTC, note: isolated the host",
        "2026-03-02 09:20 UTC, pinned message: failover started",
        "2026-03-02 09:25 UTC, update posted: We are failing over",
    ]
    [path] = [p for p in root.iter(f"{SVG}path")]
    assert re.fullmatch(r"M[\d.]+ 68H[\d.]+V44H[\d.]+", path.get("d") or ""), path.get("d")
    [severity] = [g for g in root.iter(f"{SVG}g") if g.get("class") == "severity"]
    labels = [t.text for t in severity.iter(f"{SVG}text")]
    assert labels == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert titles(root, "moments") == [
        "Declared 2026-03-02 09:00 UTC",
        "Closed 2026-03-02 10:00 UTC",
    ]


def test_a_hostile_title_and_note_stay_text() -> None:
    hostile = '</title><script>alert(1)</script><foreignObject>"&'
    note = "<img src=x onerror=alert(2)> ]]> & </svg>"
    svg = draw(facts(hostile), small_timeline(note))
    root = parse(svg)
    assert not [e for e in root.iter() if e.tag in (f"{SVG}script", f"{SVG}foreignObject")]
    assert "<script" not in svg and "<img" not in svg
    assert root.findtext(f"{SVG}title") == f"Timeline of incident 7: {hostile}"
    assert f"2026-03-02 09:12 UTC, note: {note}" in titles(root, "marks")


def test_ten_thousand_entries_draw_a_bounded_picture() -> None:
    notes = (entry(n + 10, n * 0.1, "note", f"note {n} " + "x" * 300) for n in range(10_000))
    pins = (entry(n + 20_000, n * 0.5, "pinned", f"pin {n}") for n in range(2_000))
    svg = draw(facts(minutes=1_000), [*small_timeline(), *notes, *pins])
    root = parse(svg)
    elements = sum(1 for _ in root.iter())
    assert elements < 1_500, elements
    assert len(svg.encode()) < 120_000, len(svg.encode())
    assert "notes: 10001, pins: 2001" in (root.findtext(f"{SVG}desc") or "")
    counted = [t for t in titles(root, "marks") if re.match(r"\d+ notes, ", t)]
    assert sum(int(t.split()[0]) for t in counted) == 10_001  # every note, in counts
    assert len(counted) <= 140  # one mark per 6 pixels at most


@pytest.mark.parametrize(
    ("minutes", "pattern", "fewest"),
    [(10, r"\d\d:\d\d", 4), (6 * 60, r"\d\d:\d\d", 4), (14 * 24 * 60, r"\d\d [A-Z][a-z]{2}", 4)],
)
def test_ticks_suit_the_incident_s_length(minutes: int, pattern: str, fewest: int) -> None:
    root = parse(draw(facts(minutes=minutes), small_timeline()))
    labels = tick_labels(root)
    assert fewest <= len(labels) <= 9, labels
    assert all(re.fullmatch(pattern, label) for label in labels), labels


def test_a_two_week_incident_is_ticked_in_days() -> None:
    root = parse(draw(facts(minutes=14 * 24 * 60), small_timeline()))
    labels = tick_labels(root)
    assert labels == ["04 Mar", "06 Mar", "08 Mar", "10 Mar", "12 Mar", "14 Mar", "16 Mar"]


def test_an_open_incident_runs_until_now() -> None:
    incident = facts(status="open", closed_at=None)
    svg = timeline_svg(Renderer(), incident, small_timeline()[:-1], now=START + timedelta(hours=3))
    root = parse(str(svg))
    assert "to 2026-03-02 12:00 UTC" in (root.findtext(f"{SVG}desc") or "")
    assert titles(root, "moments") == ["Declared 2026-03-02 09:00 UTC"]
