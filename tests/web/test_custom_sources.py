"""Alert sources from the configuration: the ready mappings of docs/custom-sources.md, taken
from the document itself, loaded by the real configuration loader and fed the tools' published
payloads (tests/samples/custom) over HTTP; bad mappings are refused by `config check`."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from bridgekeeper.config import load_settings
from bridgekeeper.domain.alerts.custom import CustomSource
from bridgekeeper.errors import ConfigError
from bridgekeeper.sandbox import SlackEmulator
from tests.alerting import alert, alerts, bridgekeepers, card_texts, post
from tests.conftest import ALERT_TOKEN, Running
from tests.examples import SAMPLES
from tests.helpers import REPO

DOC = REPO / "docs" / "custom-sources.md"
ENV = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "secret"}


def sample(name: str) -> Any:
    return json.loads((SAMPLES / "custom" / name).read_text(encoding="utf-8"))


def documented(tmp_path: Path) -> Mapping[str, CustomSource]:
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    config = tmp_path / "sources.toml"
    config.write_text("\n".join(blocks), encoding="utf-8")
    return load_settings(ENV, config_path=str(config)).alerts.custom_sources


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator, tmp_path: Path) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator) as start:
        yield await start(custom_sources=documented(tmp_path))


# (source, firing sample, resolved sample or None, title, severity, resource)
TOOLS = [
    (
        "uptime-kuma",
        "uptime-kuma_down.json",
        "uptime-kuma_up.json",
        "Checkout API is down",
        "sev2",
        "https://checkout.example.com/health",
    ),
    (
        "uptimerobot",
        "uptimerobot_down.json",
        "uptimerobot_up.json",
        "Shop front page is down",
        "sev2",
        "https://shop.example.com",
    ),
    (
        "zabbix",
        "zabbix_problem.json",
        "zabbix_resolved.json",
        "High CPU utilization (over 90% for 5m) on db-01",
        "sev2",
        "db-01",
    ),
    ("splunk", "splunk.json", None, "Failed VPN logins spike on vpn-01", "sev3", "vpn-01"),
    (
        "new-relic",
        "new-relic_activated.json",
        "new-relic_closed.json",
        "Error rate above 5% on checkout-api",
        "sev1",
        "checkout-api",
    ),
]


def test_the_documented_mappings_are_five_valid_sources(tmp_path: Path) -> None:
    assert sorted(documented(tmp_path)) == sorted(tool[0] for tool in TOOLS)


@pytest.mark.parametrize(("source", "firing", "resolved", "title", "severity", "resource"), TOOLS)
async def test_each_tool_fires_a_card_and_resolves_it(
    app: Running,
    source: str,
    firing: str,
    resolved: str | None,
    title: str,
    severity: str,
    resource: str,
) -> None:
    fired = await post(app, source, sample(firing))
    assert fired.status == 202, fired.body
    stored = await alert(app, fired.body["alert_id"])
    assert (stored.title, stored.severity, stored.resource) == (title, severity, resource)
    assert stored.status == "firing" and stored.source == source
    await app.settle()
    assert any(title in card for card in card_texts(app))
    if resolved is not None:
        answer = await post(app, source, sample(resolved))
        assert answer.body["alert_id"] == stored.id and answer.body["result"] == "resolved"


async def test_a_body_the_title_cannot_be_made_from_is_refused(app: Running) -> None:
    answer = await post(app, "new-relic", {"state": "ACTIVATED", "priority": "HIGH"})
    assert answer.status == 422 and "title" in answer.body["error"]
    assert await alerts(app) == []


AUTH_SOURCES = """
[sources.backup-box]
title = "{{ job }} failed"
auth = "basic"

[sources.vault]
title = "{{ job }} failed"
auth = "header"
"""


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("source", "token", "headers", "query", "status"),
    [
        ("backup-box", None, {"Authorization": basic("nas", ALERT_TOKEN)}, "", 202),
        ("backup-box", None, {"Authorization": basic("nas", "wrong")}, "", 401),
        ("backup-box", ALERT_TOKEN, {}, "", 401),  # basic only: a bearer token is not it
        ("vault", ALERT_TOKEN, {}, "", 202),
        ("vault", None, {}, f"?token={ALERT_TOKEN}", 401),  # never in a URL
    ],
)
async def test_a_sources_auth_mode_decides_how_the_token_is_given(
    db_url: str,
    emulator: SlackEmulator,
    tmp_path: Path,
    source: str,
    token: str | None,
    headers: dict[str, str],
    query: str,
    status: int,
) -> None:
    config = tmp_path / "auth.toml"
    config.write_text(AUTH_SOURCES, encoding="utf-8")
    sources = load_settings(ENV, config_path=str(config)).alerts.custom_sources
    assert {name: s.auth for name, s in sources.items()} == {
        "backup-box": "basic",
        "vault": "header",
    }
    async with bridgekeepers(db_url, emulator) as start:
        app = await start(custom_sources=sources)
        answer = await post(
            app, source, {"job": "nightly"}, token=token, headers=headers, query=query
        )
        assert answer.status == status, answer.body
        assert len(await alerts(app)) == (1 if status == 202 else 0)


@pytest.mark.parametrize(
    ("toml", "said"),
    [
        ('[sources.x]\ntitle = "{{ monitor.name "', "sources.x.title: not a usable Jinja"),
        ('[sources.generic]\ntitle = "x"', "sources.generic: expected a source name"),
        ('[sources.x]\ndescription = "x"', "sources.x.title: missing"),
        ('[sources.x]\ntitle = "x"\nseverity_map = { High = "sev9" }', "sources.x.severity_map"),
        ('[sources.x]\ntitle = "x"\nstatuss = "y"', "did you mean sources.x.status"),
        ('[sources.x]\ntitle = "x"\nauth = "hmac"', "sources.x.auth"),
        ('[cloudevents.types."a.b"]\ntitle = "x"\nauth = "basic"', "auth"),
    ],
)
def test_a_mapping_that_cannot_work_is_refused_by_name(
    tmp_path: Path, toml: str, said: str
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(ENV, config_path=str(config))
    assert said in str(refused.value)


# (source, published firing sample, resolved sample or None, title, severity, resource)
PUBLISHED = [
    (
        "new-relic",
        "new-relic_zulip_activated.json",
        "new-relic_zulip_closed.json",
        "zulip_app query result is > 1.0 for 1 minutes on 'Zulip Server Low Storage'",
        "sev1",
        "zulip_app",
    ),
    ("splunk", "splunk_zulip_search_one_result.json", None, "sudo on myserver", "sev3", "myserver"),
    ("splunk", "splunk_docs_example.json", None, "Splunk alert", "sev3", None),
]


@pytest.mark.parametrize(
    ("source", "firing", "resolved", "title", "severity", "resource"), PUBLISHED
)
async def test_published_payloads_of_the_tools(
    app: Running,
    source: str,
    firing: str,
    resolved: str | None,
    title: str,
    severity: str,
    resource: str | None,
) -> None:
    fired = await post(app, source, sample(firing))
    assert fired.status == 202, fired.body
    stored = await alert(app, fired.body["alert_id"])
    assert (stored.title, stored.severity, stored.resource) == (title, severity, resource)
    await app.settle()
    assert any(title in card for card in card_texts(app))
    if resolved is not None:  # another incident of the same tool: closes its own record only
        answer = await post(app, source, sample(resolved))
        assert answer.status == 202 and answer.body["result"] == "resolved"
        assert answer.body["alert_id"] != stored.id
        assert (await alert(app, stored.id)).status == "firing"


async def test_uptime_kuma_webhooks_as_recorded_down_up_and_down_again(app: Running) -> None:
    """Three webhook bodies Uptime Kuma sent for one monitor, recorded by a third party
    (tests/samples/custom README): down, back up, then down for another reason."""
    fired = await post(app, "uptime-kuma", sample("uptime-kuma_scn_down.json"))
    assert fired.status == 202, fired.body
    stored = await alert(app, fired.body["alert_id"])
    assert (stored.title, stored.severity, stored.resource) == (
        "test is down",
        "sev2",
        "https://exampleXYZ.com",
    )
    assert "[test] [🔴 Down] timeout of 16000ms exceeded" in stored.description
    await app.settle()
    assert any("test is down" in card for card in card_texts(app))

    up = await post(app, "uptime-kuma", sample("uptime-kuma_scn_up.json"))
    assert up.body["alert_id"] == stored.id and up.body["result"] == "resolved"
    assert (await alert(app, stored.id)).status == "resolved"

    again = await post(app, "uptime-kuma", sample("uptime-kuma_scn_down_dns.json"))
    assert again.status == 202 and again.body["result"] == "new", again.body
    latest = await alert(app, again.body["alert_id"])
    assert latest.status == "firing" and latest.resource == "https://exampleasdsda.com"
    assert "getaddrinfo ENOTFOUND exampleasdsda.com" in latest.description
