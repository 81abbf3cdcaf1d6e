"""The alert-ingest baseline: a bare aiohttp handler that checks the token, parses the JSON and
answers 202 (nothing stored). Run as `python -m bench.bare_alerts --port N`.
"""

from __future__ import annotations

import json
import os

from aiohttp import web

from bench import bare_server


def build_app() -> web.Application:
    expected = f"Bearer {os.environ['BRIDGEKEEPER_ALERT_TOKEN']}"

    async def alerts(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != expected:
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            payload = json.loads(await request.read())
        except ValueError:
            return web.json_response({"error": "not JSON"}, status=400)
        count = len(payload.get("alerts", [])) if isinstance(payload, dict) else 0
        return web.json_response({"accepted": count}, status=202)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/alerts/{source}", alerts)
    app.router.add_get("/healthz", healthz)
    return app


if __name__ == "__main__":
    bare_server.main(build_app, __doc__)
