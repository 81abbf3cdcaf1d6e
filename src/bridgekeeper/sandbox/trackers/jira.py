"""Jira Cloud, as its REST API v3 and webhooks document them; with `datacenter=True`, Jira Data
Center as its REST API v2 documents it (the differences are listed at the end).

- Create issue: `POST /rest/api/3/issue` with `fields.project.key`, `fields.summary`,
  `fields.description` (Atlassian Document Format), `fields.issuetype.name`, `fields.labels`,
  `fields.assignee.accountId`; 201 `{"id", "key", "self"}`; an unknown project is 400
  `{"errors": {"project": "valid project is required"}}`
  https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-post
  https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/
- Get issue: `GET /rest/api/3/issue/{issueIdOrKey}`: `fields.status.name`, and
  `fields.status.statusCategory.key` ("new", "indeterminate", "done")
  https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-get
- Search (Cloud): `GET /rest/api/3/search/jql?jql=labels = "x"&fields=...`: `{"issues": [...]}`,
  each issue its id alone unless `fields` names some (this emulator reads only that JQL form);
  the older `GET /rest/api/3/search` answers 410 Gone, as Atlassian removed it (CHANGE-2046).
  Data Center keeps `GET /rest/api/2/search`.
  https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/
- Authentication: Basic with email:API token; a bad one is 401
  https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/
- Webhooks: `webhookEvent` "jira:issue_updated" with the issue; an admin webhook with a
  secret is signed `X-Hub-Signature: sha256=<HMAC-SHA256 of the body>`
  https://developer.atlassian.com/cloud/jira/platform/webhooks/

Data Center: the same calls under `/rest/api/2/`; `fields.description` is wiki markup text;
`fields.assignee.name` is the username; authentication is a personal access token as
`Authorization: Bearer <PAT>`, 401 otherwise; webhooks are the same events, unsigned (the
receiver's secret travels in the registered URL).
  https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/
  https://confluence.atlassian.com/enterprise/using-personal-access-tokens-1026032365.html
  https://developer.atlassian.com/server/jira/platform/webhooks/
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
    datacenter: bool = False

    def add_project(self, key: str) -> None:
        self.projects.setdefault(key, [])

    def routes(self) -> list[web.RouteDef]:
        api = "/rest/api/2" if self.datacenter else "/rest/api/3"
        return [
            web.post(f"{api}/issue", self._create),
            web.get(f"{api}/issue/{{key}}", self._get),
            web.get(f"{api}/search", self._search if self.datacenter else self._removed),
            web.get(f"{api}/search/jql", self._search),
        ]

    def authorized(self, request: web.Request) -> bool:
        if self.datacenter:
            return request.headers.get("Authorization") == f"Bearer {self.token}"
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
        headers = (
            {}
            if self.datacenter
            else {"X-Hub-Signature": "sha256=" + hmac_sha256(self.webhook_secret, data)}
        )
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
        if not fields.get("summary") or not self._described(fields.get("description")):
            return web.json_response({"errors": {"summary": "required"}}, status=400)
        if self.datacenter and "accountId" in fields.get("assignee", {}):
            return web.json_response({"errors": {"assignee": "expected 'name'"}}, status=400)
        issues = self.projects[project]
        key = f"{project}-{len(issues) + 1}"
        issue = {
            "id": str(10000 + len(issues)),
            "key": key,
            "self": f"{self.url}/rest/api/{2 if self.datacenter else 3}/issue/{key}",
            "fields": {**fields, "status": _status("To Do")},
        }
        issues.append(issue)
        if self.faults.lose():
            return web.json_response({"message": "Bad Gateway"}, status=502)
        return web.json_response({k: issue[k] for k in ("id", "key", "self")}, status=201)

    def _described(self, description: object) -> bool:
        if self.datacenter:  # wiki markup text
            return isinstance(description, str)
        return isinstance(description, dict) and description.get("type") == "doc"

    async def _get(self, request: web.Request) -> web.Response:
        issue = self._find(request.match_info["key"])
        if issue is None:
            return web.json_response({"errorMessages": ["Issue does not exist"]}, status=404)
        return web.json_response(issue)

    async def _search(self, request: web.Request) -> web.Response:
        wanted = LABEL_JQL.match(request.query.get("jql", "").strip())
        if wanted is None:
            return web.json_response({"errorMessages": ["unsupported JQL"]}, status=400)
        found = [
            issue
            for issues in self.projects.values()
            for issue in issues
            if wanted[1] in issue["fields"].get("labels", [])
        ]
        if self.datacenter:
            return web.json_response({"startAt": 0, "total": len(found), "issues": found})
        fields = [name for name in request.query.get("fields", "").split(",") if name]
        shown = [_with_fields(issue, fields) for issue in found]
        return web.json_response({"issues": shown, "nextPageToken": None})

    async def _removed(self, request: web.Request) -> web.Response:
        message = (
            "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."
        )
        return web.json_response({"errorMessages": [message]}, status=410)


def _with_fields(issue: JsonDict, fields: list[str]) -> JsonDict:
    """An issue as the enhanced search shows it: its id, and its key and fields when asked."""
    if not fields:
        return {"id": issue["id"]}
    chosen = {name: issue["fields"][name] for name in fields if name in issue["fields"]}
    return {"id": issue["id"], "key": issue["key"], "fields": chosen}


def _status(name: str) -> JsonDict:
    return {"name": name, "statusCategory": {"key": STATUSES[name]}}
