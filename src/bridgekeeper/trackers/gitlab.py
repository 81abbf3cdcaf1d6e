"""GitLab issues over its REST API v4 (https://docs.gitlab.com/api/issues/)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bridgekeeper.domain.text import is_digits
from bridgekeeper.trackers import Draft, Issue
from bridgekeeper.trackers.connect import Connection
from bridgekeeper.trackers.http import call


class GitLab:
    kind = "gitlab"
    markup = "md"

    def __init__(self, http: Connection, *, url: str, project: str, token: str) -> None:
        self.http = http
        self.base = f"{url}/api/v4/projects/{quote(project, safe='')}/issues"
        self.headers = {"PRIVATE-TOKEN": token}

    async def find(self, marker: str) -> Issue | None:
        found = await self._call("GET", self.base, params={"labels": marker})
        return _issue(found[0]) if found else None

    async def create(self, draft: Draft) -> Issue:
        body: dict[str, Any] = {
            "title": draft.title,
            "description": draft.body,
            "labels": ",".join([*draft.labels, draft.marker]),
        }
        if draft.assignee and is_digits(draft.assignee):
            body["assignee_ids"] = [int(draft.assignee)]
        return _issue(await self._call("POST", self.base, json=body))

    async def get(self, key: str) -> Issue:
        return _issue(await self._call("GET", f"{self.base}/{key}"))

    async def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        return await call(
            self.http.session(), method, url, kind=self.kind, headers=self.headers, **kwargs
        )


def _issue(data: dict[str, Any]) -> Issue:
    state = str(data["state"])
    return Issue(
        key=str(data["iid"]), url=str(data["web_url"]), state=state, done=state == "closed"
    )
