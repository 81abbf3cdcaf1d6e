"""Jira Data Center (self-hosted) over the REST API v2
(https://docs.atlassian.com/software/jira/docs/api/REST/latest/).

What differs from Cloud (trackers/jira.py): the `/rest/api/2/` paths, a personal access token
sent as `Authorization: Bearer <PAT>`, the description as wiki markup text rather than an
Atlassian Document Format document, and the assignee by user `name` rather than `accountId`.
The issue itself reads the same (`read_issue`): done is the status category "done". The body
comes from messages/trackers/issue_body.wiki.j2, users' text escaped there (`wiki` filter).
"""

from __future__ import annotations

import json
from typing import Any

from bridgekeeper.trackers import Draft, Issue
from bridgekeeper.trackers.connect import Connection
from bridgekeeper.trackers.http import call
from bridgekeeper.trackers.jira import read_issue


class JiraDataCenter:
    kind = "jira-dc"
    markup = "wiki"

    def __init__(
        self, http: Connection, *, url: str, project: str, token: str, issue_type: str
    ) -> None:
        self.http = http
        self.url = url
        self.project = project
        self.issue_type = issue_type
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    async def find(self, marker: str) -> Issue | None:
        jql = f"labels = {json.dumps(marker)}"
        found = await self._call("GET", "/rest/api/2/search", params={"jql": jql})
        issues = found.get("issues") or []
        return read_issue(issues[0], self.url) if issues else None

    async def create(self, draft: Draft) -> Issue:
        fields: dict[str, Any] = {
            "project": {"key": self.project},
            "summary": draft.title,
            "description": draft.body,
            "issuetype": {"name": self.issue_type},
            "labels": [*draft.labels, draft.marker],
        }
        if draft.assignee:
            fields["assignee"] = {"name": draft.assignee}
        made = await self._call("POST", "/rest/api/2/issue", json={"fields": fields})
        return await self.get(str(made["key"]))

    async def get(self, key: str) -> Issue:
        return read_issue(await self._call("GET", f"/rest/api/2/issue/{key}"), self.url)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return await call(
            self.http.session(),
            method,
            self.url + path,
            kind=self.kind,
            headers=self.headers,
            **kwargs,
        )
