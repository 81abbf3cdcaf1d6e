"""GET /incidents/{number}/report: a stored report, to holders of the configured access token.

Fails closed: with no token configured every request is 404; a missing or wrong Bearer token is
401 whatever the incident (so nobody learns which incidents exist). The format follows the
Accept header (text/html, application/json, else Markdown); `?version=N` picks an earlier one.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from bridgekeeper.domain.text import same_secret, whole_number
from bridgekeeper.rendering import Renderer
from bridgekeeper.services.report_html import script_policy
from bridgekeeper.services.reports import MEDIA_TYPES, ReportService, StoredReport


class ReportEndpoint:
    def __init__(self, *, token: str | None, reports: ReportService, renderer: Renderer) -> None:
        self.token = token
        self.reports = reports
        self.renderer = renderer
        self.scripts = ""  # the CSP source of the HTML report's one script, once known

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if not self.token:
            raise web.HTTPNotFound()
        if not _authorized(request, self.token):
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer realm="reports"'})
        number = whole_number(request.match_info.get("number", ""))
        version_text = request.query.get("version")
        version = whole_number(version_text) if version_text is not None else None
        if number is None or (version_text is not None and version is None):
            raise web.HTTPNotFound()
        fmt = choose_format(request.headers.get("Accept", ""))
        stored = await self.reports.stored(number, fmt, version, whole=False)
        if stored is None:
            raise web.HTTPNotFound()
        self.scripts = self.scripts or script_policy(self.renderer)
        return await send_report(request, self.reports, stored, self.scripts)


async def send_report(
    request: web.Request,
    reports: ReportService,
    stored: StoredReport,
    scripts: str,
    headers: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    """Stream a stored report, a part at a time, with its digest and Content Security Policy
    (`scripts`: the CSP source allowing the HTML report's one script)."""
    response = web.StreamResponse(
        headers={**_headers(stored.sha256, stored.version, scripts), **(headers or {})}
    )
    response.content_type = MEDIA_TYPES[stored.format]
    response.charset = "utf-8"
    await response.prepare(request)
    await response.write(stored.body.encode())
    async for part in reports.rest(stored):
        await response.write(part.encode())
    await response.write_eof()
    return response


def _headers(digest: str, version: int, scripts: str) -> dict[str, str]:
    return {
        "ETag": f'"{digest}"',
        "X-Report-Version": str(version),
        "X-Content-SHA256": digest,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'unsafe-inline'; script-src {scripts}"
        ),
        "Vary": "Accept, Authorization",
    }


def _authorized(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    return same_secret(given.strip(), token)


def choose_format(accept: str) -> str:
    """The first of html, json, markdown the Accept header names; Markdown otherwise."""
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in ("text/html", "application/xhtml+xml"):
            return "html"
        if media == "application/json":
            return "json"
        if media in ("text/markdown", "text/plain"):
            return "md"
    return "md"
