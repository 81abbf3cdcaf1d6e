"""Jira Cloud over the REST API v3
(https://developer.atlassian.com/cloud/jira/platform/rest/v3/)."""

from __future__ import annotations

import base64
import json
from typing import Any

from bridgekeeper.domain.text import clean_line
from bridgekeeper.trackers import Draft, Issue
from bridgekeeper.trackers.connect import Connection
from bridgekeeper.trackers.http import call


class Jira:
    kind = "jira"
    markup = "txt"

    def __init__(
        self,
        http: Connection,
        *,
        url: str,
        project: str,
        email: str,
        token: str,
        issue_type: str,
    ) -> None:
        self.http = http
        self.url = url
        self.project = project
        self.issue_type = issue_type
        basic = base64.b64encode(f"{email}:{token}".encode()).decode()
        self.headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}

    async def find(self, marker: str) -> Issue | None:
        jql = f"labels = {json.dumps(marker)}"
        query = {"jql": jql, "fields": "status,labels", "maxResults": "1"}
        found = await self._call("GET", "/rest/api/3/search/jql", params=query)
        issues = found.get("issues") or []
        return self._issue(issues[0]) if issues else None

    async def create(self, draft: Draft) -> Issue:
        fields: dict[str, Any] = {
            "project": {"key": self.project},
            "summary": draft.title,
            "description": document(draft.body),
            "issuetype": {"name": self.issue_type},
            "labels": [*draft.labels, draft.marker],
        }
        if draft.assignee:
            fields["assignee"] = {"accountId": draft.assignee}
        made = await self._call("POST", "/rest/api/3/issue", json={"fields": fields})
        return await self.get(str(made["key"]))

    async def get(self, key: str) -> Issue:
        return self._issue(await self._call("GET", f"/rest/api/3/issue/{key}"))

    def _issue(self, data: dict[str, Any]) -> Issue:
        return read_issue(data, self.url)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return await call(
            self.http.session(),
            method,
            self.url + path,
            kind=self.kind,
            headers=self.headers,
            **kwargs,
        )


def read_issue(data: dict[str, Any], base_url: str) -> Issue:
    """An issue as Jira gives it; KeyError or TypeError when it is not of that shape."""
    status = data["fields"]["status"]
    category = status.get("statusCategory", {})
    if not isinstance(category, dict):
        raise TypeError("statusCategory is not an object")
    key = clean_line(str(data["key"]))
    return Issue(
        key=key,
        url=f"{base_url}/browse/{key}",
        state=clean_line(str(status["name"])),
        done=category.get("key") == "done",
    )


def document(text: str) -> dict[str, Any]:
    """Plain text as an Atlassian Document Format document: a paragraph per block of lines."""
    blocks = [block.strip() for block in text.split("\n\n") if block.strip()]
    content = [
        {"type": "paragraph", "content": [{"type": "text", "text": block}]} for block in blocks
    ]
    return {"type": "doc", "version": 1, "content": content}
