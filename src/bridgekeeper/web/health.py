"""/healthz (liveness) and /readyz (readiness), on `serve`'s port or a worker's own.

/healthz answers 200 whenever the event loop does, unless the worker loop has been stuck for
minutes: it calls nothing, so a database outage never makes an orchestrator restart healthy
processes. /readyz answers 200 with each check when all
pass, else 503 naming the one(s) failing (bridgekeeper/health.py).
"""

from __future__ import annotations

from aiohttp import web

from bridgekeeper.health import Health, ready
from bridgekeeper.web.metrics import MetricsEndpoint

HEALTH_KEY: web.AppKey[Health] = web.AppKey("health")


def add_health_routes(app: web.Application, health: Health) -> None:
    app[HEALTH_KEY] = health
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


async def healthz(request: web.Request) -> web.Response:
    stuck = request.app[HEALTH_KEY].stuck()
    if stuck is not None:
        return web.json_response({"status": "stuck", "problem": stuck}, status=503)
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    checks = await request.app[HEALTH_KEY].checks()
    if ready(checks):
        return web.json_response({"status": "ready", "checks": checks})
    failing = sorted(name for name, value in checks.items() if value != "ok")
    body = {"status": "not ready", "failing": failing, "checks": checks}
    return web.json_response(body, status=503)


class HealthServer:
    """The two endpoints, and the process's metrics, for `bridgekeeper worker --health-port`
    (the worker counts Slack calls and scheduled jobs of its own: scrape it too)."""

    def __init__(self, runner: web.AppRunner, port: int) -> None:
        self.runner = runner
        self.port = port

    @classmethod
    async def start(
        cls, health: Health, host: str, port: int, metrics: MetricsEndpoint | None = None
    ) -> HealthServer:
        app = web.Application()
        add_health_routes(app, health)
        if metrics is not None:
            app.router.add_get("/metrics", metrics.handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        return cls(runner, int(runner.addresses[0][1]))

    async def close(self) -> None:
        await self.runner.cleanup()
