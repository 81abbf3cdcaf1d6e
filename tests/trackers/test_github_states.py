"""A GitHub issue's state, read the same from its webhook and from the API: closed as not
planned says so, and is closed (no longer followed) either way."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridgekeeper.trackers import Issue
from bridgekeeper.trackers.github import read_issue
from bridgekeeper.trackers.webhooks import read_webhook

ISSUE = {"number": 7, "html_url": "https://github.example/acme/ops/issues/7"}


def by_webhook(issue: dict[str, Any]) -> Issue | None:
    body = json.dumps({"action": "closed", "issue": issue}).encode()
    return read_webhook("github", {"X-GitHub-Event": "issues"}, body)


@pytest.mark.parametrize("read", [read_issue, by_webhook], ids=["poll", "webhook"])
@pytest.mark.parametrize(
    ("state", "reason", "shown", "done"),
    [
        ("open", None, "open", False),
        ("open", "reopened", "open", False),
        ("closed", "completed", "closed", True),
        ("closed", "not_planned", "closed as not planned", True),
        ("closed", None, "closed", True),  # GitHub Enterprise before state_reason
    ],
)
def test_the_state_people_see_in_github(
    read: Any, state: str, reason: str | None, shown: str, done: bool
) -> None:
    issue = read({**ISSUE, "state": state, "state_reason": reason})
    assert issue is not None
    assert (issue.key, issue.state, issue.done) == ("7", shown, done)
