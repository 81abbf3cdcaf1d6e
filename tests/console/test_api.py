"""/api/v1/: what a signed-in person reads, every answer checked against the OpenAPI
description the API serves; a private incident is 404 to outsiders and not counted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Running
from tests.console.conftest import Visitor, Visitors, alert_incident, bridge, declare

SECRET = "Payroll exfiltration by contractor"


class Described:
    """Checks each answer against the schema openapi.json gives its path and status."""

    def __init__(self, document: dict[str, Any]) -> None:
        from jsonschema import Draft202012Validator  # imported by the tests that use it

        Draft202012Validator.check_schema({"components": document["components"]})
        self.document = document

    def check(self, template: str, status: int, body: Any) -> None:
        answers = self.document["paths"][template]["get"]["responses"]
        assert str(status) in answers, f"{template} is not described answering {status}"
        schema = answers[str(status)]["content"]["application/json"]["schema"]
        from jsonschema import Draft202012Validator

        Draft202012Validator(
            {**schema, "components": self.document["components"]},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        ).validate(body)


async def described(visitor: Visitor) -> Described:
    status, document = await visitor.api("/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.1")
    return Described(document)


async def read(visitor: Visitor, spec: Described, path: str, template: str) -> tuple[int, Any]:
    status, body = await visitor.api(path)
    spec.check(template, status, body)
    return status, body


async def test_the_api_answers_as_described(console: Running, visitors: Visitors) -> None:
    await declare(console, "Website slow sev2")
    await alert_incident(console, "CPU on fire")
    reply = await console.command("note looking at it", channel=bridge(console.slack, 1))
    assert reply.status == 200
    await console.settle()
    alice = visitors()
    spec = await described(alice)
    status, _ = await read(alice, spec, "/incidents", "/incidents")
    assert status == 401
    await alice.sign_in()
    _, listed = await read(alice, spec, "/incidents?per_page=1", "/incidents")
    assert listed["total"] == 2 and listed["pages"] == 2
    assert [i["title"] for i in listed["incidents"]] == ["CPU on fire"]
    _, by_source = await read(alice, spec, "/incidents?source=generic", "/incidents")
    assert [i["number"] for i in by_source["incidents"]] == [2]
    status, wrong = await read(alice, spec, "/incidents?status=maybe&page=0", "/incidents")
    assert status == 400 and wrong == {"error": "bad_query", "fields": ["status", "page"]}
    _, one = await read(alice, spec, "/incidents/1", "/incidents/{number}")
    assert one["title"] == "Website slow" and one["commander_name"] == "alice"
    assert {"role": "commander", "user": "U0ALICE", "name": "alice"} in one["roles"]
    _, timeline = await read(alice, spec, "/incidents/1/timeline", "/incidents/{number}/timeline")
    assert [e["kind"] for e in timeline["entries"]] == ["declared", "note"]
    assert timeline["entries"][1]["said"] == "noted: looking at it"
    _, alerts = await read(alice, spec, "/incidents/2/alerts", "/incidents/{number}/alerts")
    assert [(a["source"], a["title"]) for a in alerts["alerts"]] == [("generic", "CPU on fire")]
    _, stats = await read(alice, spec, "/stats?days=7", "/stats")
    assert stats["incidents"] == 2 and stats["by_severity"]["sev1"] == 1
    status, _ = await read(alice, spec, "/stats?days=lots", "/stats")
    assert status == 400
    status, _ = await read(alice, spec, "/incidents/99", "/incidents/{number}")
    assert status == 404


@pytest.mark.parametrize("path", ["", "/timeline", "/alerts"])
async def test_a_private_incident_is_not_found_through_the_api(
    console: Running, visitors: Visitors, path: str
) -> None:
    await declare(console, f"{SECRET} sev1 private")
    await declare(console, "Website slow sev3")
    dave = visitors()
    spec = await described(dave)
    await dave.sign_in("U0DAVE")
    template = "/incidents/{number}" + path
    hidden = await read(dave, spec, f"/incidents/1{path}", template)
    missing = await read(dave, spec, f"/incidents/99{path}", template)
    assert hidden == missing == (404, {"error": "not_found"})
    _, listed = await read(dave, spec, "/incidents", "/incidents")
    assert listed["total"] == 1 and SECRET not in str(listed)
    _, stats = await read(dave, spec, "/stats", "/stats")
    assert stats["incidents"] == 1 and stats["by_severity"]["sev1"] == 0
    alice = visitors()
    await alice.sign_in("U0ALICE")
    assert (await read(alice, spec, f"/incidents/1{path}", template))[0] == 200
    _, stats = await read(alice, spec, "/stats", "/stats")
    assert stats["incidents"] == 2


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/console/incidents/\u00b2", 404),
        ("/api/v1/incidents/\u00b2", 404),
        ("/console/incidents/1/report?version=\u00b2", 404),
        ("/api/v1/stats?days=\u00b2", 400),
        ("/api/v1/incidents?page=\u00b3", 400),
    ],
)
async def test_a_number_in_other_digits_is_as_malformed_as_any(
    console: Running, visitors: Visitors, path: str, status: int
) -> None:
    """str.isdigit takes ² and ³, which int() cannot read: they were a 500."""
    await declare(console, "Website slow sev3")
    alice = visitors()
    await alice.sign_in()
    assert (await alice.get(path))[0] == status


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/console/incidents?to=9999-12-31", 200),  # the calendar's last day: no bound
        ("/api/v1/incidents?to=9999-12-31", 200),
        ("/api/v1/stats?days=000011000000000", 400),  # read whole, not by its first digits
        ("/api/v1/stats?days=0000100000", 400),
    ],
)
async def test_days_at_the_edges_are_an_answer_or_a_400(
    console: Running, visitors: Visitors, path: str, status: int
) -> None:
    await declare(console, "Website slow sev3")
    alice = visitors()
    await alice.sign_in()
    answer, body = await alice.get(path)
    assert answer == status
    if status == 200:
        assert "Website slow" in body
