"""`bridgekeeper doctor`: is this installation ready to run? One line per check, what to fix
where one fails (messages/cli/doctor_check.txt.j2); exit status 0 when every check passes.

Checked: the configuration; the database reachable and its schema current; the bot token
accepted by Slack and granted every scope the app manifest asks for; in Socket Mode the
app-level token; and the bot a member of the triage and stakeholder channels configured.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bridgekeeper.config import Settings, load_settings, redact_url, require_slack
from bridgekeeper.errors import ConfigError, SchemaOutOfDate, SlackError, SlackRetryable
from bridgekeeper.rendering import Renderer
from bridgekeeper.slack.auth import required_scopes
from bridgekeeper.slack.gateway import SlackGateway

Finding = defaultdict[str, Any]
SLACK_TIMEOUT = 10.0


def finding(kind: str, ok: bool, **details: Any) -> Finding:
    """One check's outcome; details a kind does not name read as empty in the template."""
    return defaultdict(str, kind=kind, ok=ok, **details)


async def doctor() -> int:
    findings = await run_checks()
    renderer = Renderer()
    for found in findings:
        mark, *words = renderer.text("cli/doctor_check.txt.j2", f=found).split()
        print(f"{mark:<4}  {' '.join(words)}")
    failed = sum(1 for found in findings if not found["ok"])
    summary = renderer.text("cli/doctor_summary.txt.j2", failed=failed, total=len(findings))
    print(summary.strip())
    return 1 if failed else 0


async def run_checks() -> list[Finding]:
    try:
        settings = load_settings()
        require_slack(settings)
    except ConfigError as exc:
        return [finding("config", False, problem="; ".join(exc.lines()))]
    findings = [finding("config", True, path=settings.config_path or "")]
    findings += await database_checks(settings)
    findings += await slack_checks(settings)
    return findings


async def database_checks(settings: Settings) -> list[Finding]:
    from bridgekeeper.store.db import Database, DatabaseError, failure_reason

    db = Database(settings.database_url, settings.database)
    shown = redact_url(settings.database_url)
    try:
        await db.check_schema()
    except SchemaOutOfDate as exc:
        return [finding("database", True, database=shown), finding("schema", False, reason=exc)]
    except (DatabaseError, OSError, TimeoutError) as exc:
        reason = failure_reason(exc)
        return [finding("database", False, database=shown, reason=reason), finding("schema", False)]
    finally:
        await db.dispose()
    return [finding("database", True, database=shown), finding("schema", True)]


async def slack_checks(settings: Settings) -> list[Finding]:
    gateway = SlackGateway(
        token=settings.slack_bot_token,
        api_url=settings.slack_api_url,
        attempts=1,
        timeout=SLACK_TIMEOUT,
    )
    try:
        return await _slack_checks(settings, gateway)
    finally:
        await gateway.close()


async def _slack_checks(settings: Settings, gateway: SlackGateway) -> list[Finding]:
    channels = configured_channels(settings)
    try:
        granted = await gateway.granted_scopes()
    except SlackError as exc:
        unreachable = isinstance(exc, SlackRetryable)
        bot = finding(
            "slack", False, error=exc.error, unreachable=unreachable, api_url=settings.slack_api_url
        )
        skipped = [finding("channel", False, role=role, channel=c) for role, c in channels]
        app = [finding("app_token", False)] if settings.socket_mode else []
        return [bot, finding("scopes", False), *app, *skipped]
    found = [finding("slack", True, user=gateway.known_bot_user_id or "?")]
    if granted is None:
        found.append(finding("scopes", False, unknown=True))
    else:
        required = required_scopes(by_email=bool(settings.oncall.sources))
        missing = sorted(required - granted)
        found.append(finding("scopes", not missing, missing=missing, count=len(required)))
    if settings.slack_app_token:
        found.append(await app_token_check(gateway, settings.slack_app_token))
    for role, channel in channels:
        found.append(await channel_check(gateway, role, channel))
    return found


async def app_token_check(gateway: SlackGateway, app_token: str) -> Finding:
    try:
        await gateway.call("apps.connections.open", app_token=app_token)
    except SlackError as exc:
        return finding(
            "app_token", False, error=exc.error, unreachable=isinstance(exc, SlackRetryable)
        )
    return finding("app_token", True)


async def channel_check(gateway: SlackGateway, role: str, channel: str) -> Finding:
    """conversations.info: the bot must be in the channel (to read it back, and a private one
    to post at all)."""
    try:
        info = (await gateway.call("conversations.info", channel=channel)).get("channel", {})
    except SlackError as exc:
        return finding("channel", False, role=role, channel=channel, error=exc.error)
    name = str(info.get("name") or channel)
    member = bool(info.get("is_member"))
    return finding(
        "channel",
        member,
        role=role,
        channel=channel,
        name=name,
        error="" if member else "not_member",
    )


def configured_channels(settings: Settings) -> list[tuple[str, str]]:
    """(role, channel id) of the triage channel and every stakeholder channel, once each."""
    wanted: dict[str, str] = {}
    if settings.triage_channel:
        wanted[settings.triage_channel] = "triage"
    stakeholders = [settings.stakeholder_channel or ""]
    for listed in settings.updates.stakeholder_channels.values():
        stakeholders.extend(listed)
    for channel in stakeholders:
        if channel:
            wanted.setdefault(channel, "stakeholder")
    return [(role, channel) for channel, role in wanted.items()]
