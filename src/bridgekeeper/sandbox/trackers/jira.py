"""Jira Cloud, as its REST API v3 and webhooks document them.

- Create issue: `POST /rest/api/3/issue` with `fields.project.key`, `fields.summary`,
  `fields.description` (Atlassian Document Format), `fields.issuetype.name`, `fields.labels`,
  `fields.assignee.accountId`; 201 `{"id", "key", "self"}`; an unknown project is 400
  `{"errors": {"project": "valid project is required"}}`
  https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-post
  https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/
- Get issue: `GET /rest/api/3/issue/{issueIdOrKey}`: `fields.status.name`, and
  `fields.status.statusCategory.key` ("new", "indeterminate", "done")
  https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-get
- Search: `GET /rest/api/3/search?jql=labels = "x"`: `{"issues": [...]}` (this emulator reads
  only that JQL form)
  https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/
- Authentication: Basic with email:API token; a bad one is 401
  https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/
- Webhooks: `webhookEvent` "jira:issue_updated" with the issue; an admin webhook with a
  secret is signed `X-Hub-Signature: sha256=<HMAC-SHA256 of the body>`
  https://developer.atlassian.com/cloud/jira/platform/webhooks/
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

from aiohttp import web

from bridgekeeper.sandbox.trackers.base import (
    JsonDict,
    TrackerEmulator,
    encode,
    hmac_sha256,
    send_webhook,
)

LABEL_JQL = re.compile(r'^labels\s*=\s*"([^"]+)"$')
STATUSES = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}


@dataclass
class JiraEmulator(TrackerEmulator):
    email: str = ""
    projects: dict[str, list[JsonDict]] = field(default_factory=dict)  # key -> issues
    webhook_url: str | None = None
    webhook_secret: str = ""

    def add_project(self, key: str) -> None:
        self.projects.setdefault(key, [])

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/rest/api/3/issue", self._create),
            web.get("/rest/api/3/issue/{key}", self._get),
            web.get("/rest/api/3/search", self._search),
        ]

    def authorized(self, request: web.Request) -> bool:
        basic = base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {basic}"

    def issues(self, project: str) -> list[JsonDict]:
        return self.projects.get(project, [])

    async def transition(self, key: str, status: str) -> int | None:
        """Move an issue to `status` as a person would; the webhook's answer, if one is set."""
        issue = self._find(key)
        assert issue is not None
        issue["fields"]["status"] = _status(status)
        if self.webhook_url is None:
            return None
        data = encode({"webhookEvent": "jira:issue_updated", "issue": issue})
        headers = {"X-Hub-Signature": "sha256=" + hmac_sha256(self.webhook_secret, data)}
        return await send_webhook(self.webhook_url, data, headers)

    def _find(self, key: str) -> JsonDict | None:
        project = key.split("-")[0]
        return next((i for i in self.issues(project) if i["key"] == key), None)

    async def _create(self, request: web.Request) -> web.Response:
        fields = (await request.json()).get("fields", {})
        project = fields.get("project", {}).get("key")
        if project not in self.projects:
            return web.json_response(
                {"errorMessages": [], "errors": {"project": "valid project is required"}},
                status=400,
            )
        if not fields.get("summary") or fields.get("description", {}).get("type") != "doc":
            return web.json_response({"errors": {"summary": "required"}}, status=400)
        issues = self.projects[project]
        key = f"{project}-{len(issues) + 1}"
        issue = {"id": str(10000 + len(issues)), "key": key,
                 "self": f"{self.url}/rest/api/3/issue/{key}",
                 "fields": {**fields, "status": _status("To Do")}}  # fmt: skip
        issues.append(issue)
        if self.faults.lose():
            return web.json_response({"message": "Bad Gateway"}, status=502)
        return web.json_response({k: issue[k] for k in ("id", "key", "self")}, status=201)

    async def _get(self, request: web.Request) -> web.Response:
        issue = self._find(request.match_info["key"])
        if issue is None:
            return web.json_response({"errorMessages": ["Issue does not exist"]}, status=404)
        return web.json_response(issue)

    async def _search(self, request: web.Request) -> web.Response:
        wanted = LABEL_JQL.match(request.query.get("jql", "").strip())
        if wanted is None:
            return web.json_response({"errorMessages": ["unsupported JQL"]}, status=400)
        found = [issue for issues in self.projects.values() for issue in issues
                 if wanted[1] in issue["fields"].get("labels", [])]  # fmt: skip
        return web.json_response({"startAt": 0, "total": len(found), "issues": found})


def _status(name: str) -> JsonDict:
    return {"name": name, "statusCategory": {"key": STATUSES[name]}}
