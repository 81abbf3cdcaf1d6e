"""GitHub Issues over its REST API (https://docs.github.com/en/rest/issues/issues)."""

from __future__ import annotations

from typing import Any

from bridgekeeper.domain.text import clean_line
from bridgekeeper.trackers import Draft, Issue
from bridgekeeper.trackers.connect import Connection
from bridgekeeper.trackers.http import call


class GitHub:
    kind = "github"
    markup = "md"

    def __init__(self, http: Connection, *, url: str, repo: str, token: str) -> None:
        self.http = http
        self.base = f"{url}/repos/{repo}/issues"
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    async def find(self, marker: str) -> Issue | None:
        found = await self._call("GET", self.base, params={"labels": marker, "state": "all"})
        return read_issue(found[0]) if found else None

    async def create(self, draft: Draft) -> Issue:
        body = {
            "title": draft.title,
            "body": draft.body,
            "labels": [*draft.labels, draft.marker],
            "assignees": [draft.assignee] if draft.assignee else [],
        }
        return read_issue(await self._call("POST", self.base, json=body))

    async def get(self, key: str) -> Issue:
        return read_issue(await self._call("GET", f"{self.base}/{key}"))

    async def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        return await call(
            self.http.session(), method, url, kind=self.kind, headers=self.headers, **kwargs
        )


def read_issue(data: dict[str, Any]) -> Issue:
    """An issue as GitHub gives it (its API, and its `issues` webhook); KeyError when it has
    no number, address or state."""
    return Issue(
        key=clean_line(str(data["number"])),
        url=clean_line(str(data["html_url"])),
        state=clean_line(_state_word(data)),
        done=data["state"] == "closed",
    )


def _state_word(issue: dict[str, Any]) -> str:
    """The issue's state as GitHub shows it: an issue closed as not planned says so (it is
    closed, so no longer followed, though what it asked for was not done)."""
    state = str(issue["state"])
    if state == "closed" and issue.get("state_reason") == "not_planned":
        return "closed as not planned"
    return state
