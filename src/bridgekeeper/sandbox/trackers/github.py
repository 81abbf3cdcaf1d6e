"""GitHub Issues, as its REST API and webhooks document them.

- Create an issue: `POST /repos/{owner}/{repo}/issues` with `title`, `body`, `labels`,
  `assignees`; 201 with the issue (`number`, `html_url`, `state`)
  https://docs.github.com/en/rest/issues/issues#create-an-issue
- Get an issue: `GET /repos/{owner}/{repo}/issues/{issue_number}`: `state` open or closed,
  `state_reason` completed, not_planned or reopened
  https://docs.github.com/en/rest/issues/issues#get-an-issue
- List a repository's issues: `GET /repos/{owner}/{repo}/issues?labels=a,b&state=all`
  (labels comma-separated, all of them required)
  https://docs.github.com/en/rest/issues/issues#list-repository-issues
- Authentication: `Authorization: Bearer <token>` (or `token <token>`); a bad one is 401
  `{"message": "Bad credentials"}`; an unknown repository is 404 `{"message": "Not Found"}`
  https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api
- Webhooks: the `issues` event (`X-GitHub-Event: issues`, `action` closed/reopened/...), signed
  with `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>`
  https://docs.github.com/en/webhooks/webhook-events-and-payloads#issues
  https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bridgekeeper.sandbox.trackers.base import (
    JsonDict,
    TrackerEmulator,
    encode,
    hmac_sha256,
    send_webhook,
)


@dataclass
class GitHubEmulator(TrackerEmulator):
    repos: dict[str, list[JsonDict]] = field(default_factory=dict)  # "owner/repo" -> issues
    webhook_url: str | None = None
    webhook_secret: str = ""
    moved: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)  # transfers
    limited: int = 0  # the next calls answered as over GitHub's secondary rate limit

    def add_repo(self, full_name: str) -> None:
        self.repos.setdefault(full_name, [])

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """GitHub answers a secondary rate limit 403 (or 429), with Retry-After."""
        if self.limited > 0:
            self.limited -= 1
            self.calls.append((request.method, request.path))
            message = "You have exceeded a secondary rate limit. Please wait a few minutes."
            headers = {"Retry-After": "1", "X-RateLimit-Remaining": "0"}
            return web.json_response({"message": message}, status=403, headers=headers)
        return await super()._guard(request, handler)

    def routes(self) -> list[web.RouteDef]:
        base = "/repos/{owner}/{repo}/issues"
        return [
            web.post(base, self._create),
            web.get(base, self._list),
            web.get(base + "/{number}", self._get),
        ]

    def authorized(self, request: web.Request) -> bool:
        given = request.headers.get("Authorization", "")
        return given in (f"Bearer {self.token}", f"token {self.token}")

    def issues(self, full_name: str) -> list[JsonDict]:
        return self.repos.get(full_name, [])

    async def close(self, full_name: str, number: int, reason: str = "completed") -> int | None:
        """Close an issue as a person would; the webhook's answer status, if one is set."""
        issue = self.issues(full_name)[number - 1]
        issue["state"], issue["state_reason"] = "closed", reason
        if self.webhook_url is None:
            return None
        body = {"action": "closed", "issue": issue, "repository": {"full_name": full_name}}
        data = encode(body)
        signature = "sha256=" + hmac_sha256(self.webhook_secret, data)
        headers = {"X-GitHub-Event": "issues", "X-Hub-Signature-256": signature}
        return await send_webhook(self.webhook_url, data, headers)

    def transfer(self, full_name: str, number: int, to: str) -> int:
        """Move an issue to another repository, as a person can: it gets a number there, and
        its old address answers 301 Moved Permanently with the new one."""
        issue = dict(self.issues(full_name)[number - 1])
        new = len(self.repos[to]) + 1
        issue.update(number=new, html_url=f"https://github.com/{to}/issues/{new}")
        self.repos[to].append(issue)
        self.moved[(full_name, number)] = (to, new)
        return new

    def _repo(self, request: web.Request) -> tuple[str, list[JsonDict]]:
        name = f"{request.match_info['owner']}/{request.match_info['repo']}"
        if name not in self.repos:
            raise web.HTTPNotFound(text='{"message": "Not Found"}', content_type="application/json")
        return name, self.repos[name]

    async def _create(self, request: web.Request) -> web.Response:
        name, issues = self._repo(request)
        body = await request.json()
        if not isinstance(body.get("title"), str) or not body["title"]:
            return web.json_response({"message": "Validation Failed"}, status=422)
        number = len(issues) + 1
        issue = {
            "number": number,
            "title": body["title"],
            "body": body.get("body") or "",
            "state": "open",
            "state_reason": None,
            "html_url": f"https://github.com/{name}/issues/{number}",
            "labels": [{"name": label} for label in body.get("labels", [])],
            "assignees": [{"login": login} for login in body.get("assignees", [])],
        }
        issues.append(issue)
        if self.faults.lose():
            return web.json_response({"message": "Bad Gateway"}, status=502)
        return web.json_response(issue, status=201)

    async def _get(self, request: web.Request) -> web.Response:
        name, issues = self._repo(request)
        number = int(request.match_info["number"])
        if (name, number) in self.moved:
            to, new = self.moved[(name, number)]
            raise web.HTTPMovedPermanently(f"{self.url}/repos/{to}/issues/{new}")
        if not 1 <= number <= len(issues):
            return web.json_response({"message": "Not Found"}, status=404)
        return web.json_response(issues[number - 1])

    async def _list(self, request: web.Request) -> web.Response:
        _, issues = self._repo(request)
        wanted = {x for x in request.query.get("labels", "").split(",") if x}
        state = request.query.get("state", "open")
        found = [
            issue
            for issue in issues
            if wanted <= {label["name"] for label in issue["labels"]}
            and state in ("all", issue["state"])
        ]
        return web.json_response(found)
