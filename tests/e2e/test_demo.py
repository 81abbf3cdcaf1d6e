"""`bridgekeeper demo`: the whole flow, from an alert webhook to the report, as users see it."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from bridgekeeper.demo import run_demo
from bridgekeeper.errors import BridgekeeperError


async def test_demo_shows_the_whole_flow_by_name_and_writes_the_report(tmp_path: Path) -> None:
    out = io.StringIO()
    assert await run_demo(output_dir=str(tmp_path), out=out) == 0
    transcript = out.getvalue()

    # the alert arrives over HTTP and its triage card appears in the triage channel
    assert re.search(r"POST http://127\.0\.0\.1:\d+/alerts/defender", transcript)
    assert "bridgekeeper answers HTTP 202" in transcript
    card = transcript.index("#alert-triage · bridgekeeper:")
    assert "[Declare incident] [Acknowledge]" in transcript[card:]
    # a responder clicks Declare on the card; the bridge channel opens, shown by name
    declare = transcript.index("@alice clicks [Declare incident] on the card in #alert-triage")
    bridge = transcript.index("[Slack] channel #inc-1-suspicious-process-detected created")
    assert card < declare < bridge
    # roles, a severity change with its reason, a stakeholder update, the close form
    assert "@alice made @bob *analyst*" in transcript
    assert (
        "changed the severity from *SEV2* to *SEV1*: attacker reached customer data" in transcript
    )
    update = transcript.index("#stakeholders · bridgekeeper:\n    Incident 1: Suspicious process")
    assert "status update" in transcript[update : update + 200]
    assert "fills in the form “Close incident 1” and submits it" in transcript
    assert "@alice closed *Suspicious process detected* as resolved." in transcript
    assert "#inc-1-suspicious-process-detected is archived" in transcript
    # people and channels by name, never by ID
    assert "@bob" in transcript and "#stakeholders" in transcript
    assert not re.findall(r"\b[CUWG]0[A-Z0-9]{4,}\b", transcript)

    # the report is where the transcript says, with durations measured on the demo's clock
    reports, metrics = written(tmp_path)
    assert [p.suffix for p in reports] == [".html", ".json", ".md"]
    for path in reports:
        assert f"The incident report is in {path}" in transcript
    assert set(metrics) >= {"Time to acknowledge", "Time to declare", "Time to close"}
    assert metrics["Time to acknowledge"] == "6m" and metrics["Time to declare"] == "11m"
    assert "<1m" not in metrics.values()


def written(folder: Path) -> tuple[list[Path], dict[str, str]]:
    """The report files in `folder`, and the Markdown report's metrics (name: duration)."""
    reports = sorted(folder.glob("incident-1-report-v1.*"))
    markdown = (folder / "incident-1-report-v1.md").read_text(encoding="utf-8")
    return reports, dict(re.findall(r"^- (Time to \w+): (.+)$", markdown, re.MULTILINE))


async def test_a_report_folder_it_cannot_write_to_is_said_before_the_scenario() -> None:
    """It ran the whole incident first, then failed writing the report."""
    out = io.StringIO()
    with pytest.raises(BridgekeeperError) as refused:
        await run_demo(output_dir="/proc/self", out=out)
    assert str(refused.value).startswith("--output-dir /proc/self: the report cannot be written")
    assert out.getvalue() == ""
