"""GitLab issues, as its REST API (v4) and webhooks document them.

- New issue: `POST /api/v4/projects/:id/issues` with `title`, `description`, `labels`
  (comma-separated) and `assignee_ids`; 201 with the issue (`iid`, `web_url`, `state` opened)
  https://docs.gitlab.com/api/issues/#new-issue
- Single project issue: `GET /api/v4/projects/:id/issues/:issue_iid`: `state` opened or closed
  https://docs.gitlab.com/api/issues/#single-project-issue
- List project issues: `GET /api/v4/projects/:id/issues?labels=a,b` (every label required;
  all states unless `state` is given)
  https://docs.gitlab.com/api/issues/#list-project-issues
- Authentication: the `PRIVATE-TOKEN` header; a bad token is 401 `{"message": "401
  Unauthorized"}`, an unknown project 404 `{"message": "404 Project Not Found"}`
  https://docs.gitlab.com/api/rest/authentication/
- Webhooks: the issue event (`X-Gitlab-Event: Issue Hook`, `object_kind` issue,
  `object_attributes.iid`, `.state`, `.action` close/reopen/update) with the secret token in
  `X-Gitlab-Token` https://docs.gitlab.com/user/project/integrations/webhook_events/#issue-events
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from bridgekeeper.sandbox.trackers.base import JsonDict, TrackerEmulator, encode, send_webhook


@dataclass
class GitLabEmulator(TrackerEmulator):
    projects: dict[str, list[JsonDict]] = field(default_factory=dict)  # project id -> issues
    webhook_url: str | None = None
    webhook_token: str = ""

    def add_project(self, project_id: str) -> None:
        self.projects.setdefault(project_id, [])

    def routes(self) -> list[web.RouteDef]:
        base = "/api/v4/projects/{id}/issues"
        return [
            web.post(base, self._create),
            web.get(base, self._list),
            web.get(base + "/{iid}", self._get),
        ]

    def authorized(self, request: web.Request) -> bool:
        return request.headers.get("PRIVATE-TOKEN") == self.token

    def issues(self, project_id: str) -> list[JsonDict]:
        return self.projects.get(project_id, [])

    async def close(self, project_id: str, iid: int) -> int | None:
        """Close an issue as a person would; the webhook's answer status, if one is set."""
        issue = self.issues(project_id)[iid - 1]
        issue["state"] = "closed"
        if self.webhook_url is None:
            return None
        body = {
            "object_kind": "issue",
            "event_type": "issue",
            "project": {"id": int(project_id)},
            "object_attributes": {**issue, "action": "close"},
        }
        headers = {"X-Gitlab-Event": "Issue Hook", "X-Gitlab-Token": self.webhook_token}
        return await send_webhook(self.webhook_url, encode(body), headers)

    def _project(self, request: web.Request) -> tuple[str, list[JsonDict]]:
        project_id = request.match_info["id"]
        if project_id not in self.projects:
            raise web.HTTPNotFound(
                text='{"message": "404 Project Not Found"}', content_type="application/json"
            )
        return project_id, self.projects[project_id]

    async def _create(self, request: web.Request) -> web.Response:
        project_id, issues = self._project(request)
        body = await request.json()
        if not isinstance(body.get("title"), str) or not body["title"]:
            return web.json_response({"error": "title is missing"}, status=400)
        iid = len(issues) + 1
        labels = [x for x in str(body.get("labels") or "").split(",") if x]
        issue = {
            "id": 1000 + iid,
            "iid": iid,
            "project_id": int(project_id),
            "title": body["title"],
            "description": body.get("description") or "",
            "state": "opened",
            "labels": labels,
            "assignees": [{"id": int(x)} for x in body.get("assignee_ids", [])],
            "web_url": f"https://gitlab.example.com/acme/ops/-/issues/{iid}",
        }
        issues.append(issue)
        if self.faults.lose():
            return web.json_response({"message": "502 Bad Gateway"}, status=502)
        return web.json_response(issue, status=201)

    async def _get(self, request: web.Request) -> web.Response:
        _, issues = self._project(request)
        iid = int(request.match_info["iid"])
        if not 1 <= iid <= len(issues):
            return web.json_response({"message": "404 Not found"}, status=404)
        return web.json_response(issues[iid - 1])

    async def _list(self, request: web.Request) -> web.Response:
        _, issues = self._project(request)
        wanted = {x for x in request.query.get("labels", "").split(",") if x}
        state = request.query.get("state", "all")
        found = [
            issue
            for issue in issues
            if wanted <= set(issue["labels"]) and state in ("all", issue["state"])
        ]
        return web.json_response(found)
