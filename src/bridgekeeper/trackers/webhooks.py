"""Reading a tracker's webhook into the issue state it reports: bytes in, values out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bridgekeeper.domain.text import clean_line
from bridgekeeper.trackers import Issue, github, jira


class WebhookError(ValueError):
    """A webhook body of the wrong shape; the message names what was wrong."""


def read_webhook(
    kind: str, headers: Mapping[str, str], body: bytes, *, base_url: str = ""
) -> Issue | None:
    """The issue and its state; None for an event that says nothing about one (a ping)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python reads
        raise WebhookError("body is not JSON") from None
    if not isinstance(data, dict):
        raise WebhookError("body is not a JSON object")
    if kind == "github":
        return _github(headers, data)
    if kind == "gitlab":
        return _gitlab(headers, data)
    if kind in ("jira", "jira-dc"):  # the same events and issue on Cloud and Data Center
        return _jira(data, base_url)
    return None


def _github(headers: Mapping[str, str], data: dict[str, Any]) -> Issue | None:
    if headers.get("X-GitHub-Event") != "issues":
        return None
    issue = data.get("issue")
    if not isinstance(issue, dict) or "number" not in issue or "state" not in issue:
        raise WebhookError("issue.number and issue.state are required")
    return github.read_issue({"html_url": "", **issue})


def _gitlab(headers: Mapping[str, str], data: dict[str, Any]) -> Issue | None:
    if headers.get("X-Gitlab-Event") != "Issue Hook":
        return None
    issue = data.get("object_attributes")
    if not isinstance(issue, dict) or "iid" not in issue or "state" not in issue:
        raise WebhookError("object_attributes.iid and object_attributes.state are required")
    state = clean_line(str(issue["state"]))
    return Issue(
        key=clean_line(str(issue["iid"])),
        url=clean_line(str(issue.get("url", ""))),
        state=state,
        done=state == "closed",
    )


def _jira(data: dict[str, Any], base_url: str) -> Issue | None:
    if data.get("webhookEvent") not in ("jira:issue_updated", "jira:issue_created"):
        return None
    try:
        return jira.read_issue(data["issue"], base_url)
    except (KeyError, TypeError, AttributeError):
        raise WebhookError("issue.key and issue.fields.status are required") from None
