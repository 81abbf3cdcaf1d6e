"""The dashboard (/console/dashboard), its CSV and /api/v1/dashboard, on a FrozenClock: the
numbers a signed-in person reads in its tables, for the incidents they may see."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from html import unescape

import aiohttp
import pytest

from bridgekeeper.clock import FrozenClock
from bridgekeeper.domain.regimes import BUILTIN_RULES, RegimeDeadline, RegimeRule, Span
from bridgekeeper.sandbox import SlackEmulator
from tests import conftest
from tests.alerting import generic, post
from tests.conftest import USERS, Running, bridgekeepers
from tests.console.conftest import GENERIC_DECLARES, Visitor, console_settings
from tests.console.test_api import described, read
from tests.services.test_close import close_with_form
from tests.services.test_stats import alert_id, click, dismiss_as_false_positive
from tests.updating import START  # a Monday

SECRET = "Payroll exfiltration by contractor"
FORMULA = RegimeRule(
    "sox", "=HYPERLINK(1)", "the auditors", "", (RegimeDeadline("tell the auditors", Span(24)),)
)
WEEK_1, WEEK_2 = "2026-01-05", "2026-01-12"


@pytest.fixture
async def dashboard(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    """Week 1: incident 1 (sev2) from a generic alert acknowledged after 10 minutes, declared
    after 20, an update 30 minutes later, closed 110 minutes after the alert, its GDPR deadline
    met; incident 2, Alice's private sev1 by hand, closed after 45 minutes, then its NIS2
    clock started and never notified. Week 2: an alert dismissed as a false positive;
    incident 3 (sev3) by hand, open, its SOX deadline pending."""
    clock = FrozenClock(START)
    triage = emulator.add_channel("alert-triage", members=["UBOT", *USERS])
    stakeholders = emulator.add_channel("stakeholders", members=list(USERS))
    base = conftest.test_settings(db_url=db_url, api_url=emulator.api_url)
    async with bridgekeepers(db_url, emulator) as start:
        app = await start(
            clock=clock,
            triage_channel=triage,
            stakeholder_channel=stakeholders,
            alerts=replace(base.alerts, auto_declare=(GENERIC_DECLARES,)),
            updates=replace(base.updates, regimes=(*BUILTIN_RULES, FORMULA)),
            console=console_settings(emulator),
        )
        await history(app, clock, triage)
        yield app


@pytest.fixture
async def visitors(dashboard: Running) -> AsyncIterator[Callable[[], Visitor]]:
    opened: list[aiohttp.ClientSession] = []

    def visitor() -> Visitor:
        opened.append(aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))
        return Visitor(dashboard, opened[-1])

    yield visitor
    for http in opened:
        await http.close()


async def history(app: Running, clock: FrozenClock, triage: str) -> None:
    await post(app, "generic", generic("Brute force on vpn"))
    await app.settle()
    vpn = await alert_id(app, "Brute force on vpn")
    clock.advance(minutes=10)
    await click(app, triage, vpn, "alert_ack", "U0BOB")
    clock.advance(minutes=10)
    await click(app, triage, vpn, "alert_declare", "U0ALICE")
    one = bridge_of(app, 1)
    await say(app, one, "notify gdpr", "notify done gdpr")
    clock.advance(minutes=30)
    await say(app, one, "update Blocked the source range")
    clock.advance(minutes=60)
    await say(app, one, "close blocked the source range")

    clock.advance(hours=2)
    await say(app, app.general, f"declare {SECRET} sev1 private")
    clock.advance(minutes=45)
    await close_with_form(app, app.slack.channels[bridge_of(app, 2)], follow_ups=())
    await say(app, bridge_of(app, 2), "notify nis2")  # a clock may start after closing

    clock.set(datetime(2026, 1, 13, 9, 0, tzinfo=UTC))
    await post(app, "generic", generic("Port scan from partner"))
    await app.settle()
    await dismiss_as_false_positive(app, triage, await alert_id(app, "Port scan from partner"))
    await say(app, app.general, "declare Website slow sev3")
    await say(app, bridge_of(app, 3), "notify sox")
    clock.set(datetime(2026, 1, 14, 9, 0, tzinfo=UTC))


def bridge_of(app: Running, number: int) -> str:
    return next(c.id for c in app.slack.channels.values() if c.name.startswith(f"inc-{number}-"))


async def say(app: Running, channel: str, *texts: str, user: str = "U0ALICE") -> None:
    for text in texts:
        reply = await app.command(text, user=user, channel=channel)
        assert reply.status == 200, text
        await app.settle()


def table(page: str, name: str) -> list[list[str]]:
    """A dashboard table as its rows of cell texts, the header first."""
    found = re.search(rf'<table class="figures" id="t-{name}">(.*?)</table>', page, re.S)
    assert found is not None, f"no table {name}"
    rows = re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)
    return [
        [unescape(c.strip()) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in rows
    ]


def week(rows: list[list[str]], monday: str) -> dict[str, str]:
    [row] = [r for r in rows if r[0] == monday]
    return dict(zip(rows[0][1:], row[1:], strict=True))


async def csv_of(visitor: Visitor, name: str, days: int = 90) -> list[list[str]]:
    async with visitor.http.get(
        f"{visitor.app.url}/console/dashboard.csv", params={"chart": name, "days": str(days)}
    ) as response:
        assert response.status == 200
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.content_type == "text/csv"
        return list(csv.reader(io.StringIO(await response.text())))


async def shown(visitor: Visitor, days: int = 90) -> str:
    status, page = await visitor.get(f"/console/dashboard?days={days}")
    assert status == 200
    return page


async def test_the_dashboard_shows_the_numbers_and_the_csv_repeats_them(
    dashboard: Running, visitors: Callable[[], Visitor]
) -> None:
    alice = visitors()
    await alice.sign_in()
    page = await shown(alice)
    assert '<a href="/console/dashboard" aria-current="page">Dashboard</a>' in page
    assert week(table(page, "by_severity"), WEEK_1) == {
        "SEV1": "1",
        "SEV2": "1",
        "SEV3": "0",
        "SEV4": "0",
    }
    assert week(table(page, "by_severity"), WEEK_2)["SEV3"] == "1"
    assert week(table(page, "by_source"), WEEK_1) == {"generic": "1", "Declared by hand": "1"}
    assert week(table(page, "mtta"), WEEK_1) == {
        "SEV1": "0.0",
        "SEV2": "10.0",
        "SEV3": "—",
        "SEV4": "—",
    }
    assert week(table(page, "mttr"), WEEK_1)["SEV2"] == "110.0"
    assert week(table(page, "mttr"), WEEK_1)["SEV1"] == "45.0"
    assert week(table(page, "mttr"), WEEK_2)["SEV3"] == "—"  # still open
    assert week(table(page, "first_update"), WEEK_1) == {
        "SEV1": "—",
        "SEV2": "30.0",
        "SEV3": "—",
        "SEV4": "—",
    }
    assert table(page, "false_positives")[1:] == [["generic", "2", "2", "1", "50.0"]]
    assert table(page, "regulatory")[1:] == [
        ["GDPR", "1", "0", "0"],
        ["NIS2", "0", "2", "1"],
        ["=HYPERLINK(1)", "0", "0", "1"],
    ]
    for name in ("by_severity", "by_source", "mtta", "mttr", "first_update", "false_positives"):
        rows = await csv_of(alice, name)
        assert [r[1:] for r in rows[1:]] == [
            [c.replace("—", "") for c in r[1:]] for r in table(page, name)[1:]
        ], name
    assert (await csv_of(alice, "mtta"))[0] == [
        "Week starting",
        "SEV1 (minutes)",
        "SEV2 (minutes)",
        "SEV3 (minutes)",
        "SEV4 (minutes)",
    ]
    charts = re.findall(
        r'<svg [^>]*role="img"[^>]*>\s*<title id="chart-[a-z_]+-title">([^<]+)', page
    )
    assert len(charts) == 7 and "Incidents per week, by severity" in charts


async def test_a_csv_cell_that_starts_with_a_formula_sign_is_neutralised(
    dashboard: Running, visitors: Callable[[], Visitor]
) -> None:
    alice = visitors()
    await alice.sign_in()
    rows = await csv_of(alice, "regulatory")
    assert rows[0] == ["Regime", "Met", "Missed", "Pending"]
    assert rows[3] == ["'=HYPERLINK(1)", "0", "0", "1"]


async def test_a_private_incident_is_not_counted_for_an_outsider(
    dashboard: Running, visitors: Callable[[], Visitor]
) -> None:
    dave = visitors()
    await dave.sign_in("U0DAVE")
    page = await shown(dave)
    assert SECRET not in page
    assert week(table(page, "by_severity"), WEEK_1)["SEV1"] == "0"
    assert week(table(page, "by_severity"), WEEK_1)["SEV2"] == "1"
    assert week(table(page, "by_source"), WEEK_1) == {"generic": "1", "Declared by hand": "0"}
    assert week(table(page, "mttr"), WEEK_1)["SEV1"] == "—"
    assert [r[0] for r in table(page, "regulatory")[1:]] == ["GDPR", "=HYPERLINK(1)"]
    assert (await csv_of(dave, "by_severity"))[1:] == [
        [r[0], *r[1:]] for r in table(page, "by_severity")[1:]
    ]


async def test_the_period_is_chosen_on_the_page(
    dashboard: Running, visitors: Callable[[], Visitor]
) -> None:
    alice = visitors()
    await alice.sign_in()
    clock = dashboard.bk.clock
    assert isinstance(clock, FrozenClock)
    clock.set(datetime(2026, 2, 20, 9, 0, tzinfo=UTC))  # week 1 is more than 30 days ago
    month = await shown(alice, 30)
    assert '<option value="30" selected>Last 30 days</option>' in month
    assert WEEK_1 not in month and "Nothing to show in this period" in month
    quarter = await shown(alice, 90)
    assert week(table(quarter, "by_severity"), WEEK_1)["SEV2"] == "1"
    status, odd = await alice.get("/console/dashboard?days=lots")
    assert status == 200 and "Ignored (not understood): days" in odd
    for query in ("chart=nothing&days=90", "chart=mtta&days=0"):
        status, refused = await alice.get(f"/console/dashboard.csv?{query}")
        assert status == 400 and "The dashboard has no such chart" in refused


async def test_signed_out_visitors_are_sent_to_sign_in_or_refused(
    dashboard: Running, visitors: Callable[[], Visitor]
) -> None:
    stranger = visitors()
    for path in ("/console/dashboard", "/console/dashboard.csv?chart=mtta&days=90"):
        async with stranger.http.get(dashboard.url + path, allow_redirects=False) as response:
            assert response.status in (302, 303), path
            assert response.headers["Location"].startswith("/console/signin?next=")
    spec = await described(stranger)
    status, body = await read(stranger, spec, "/dashboard", "/dashboard")
    assert status == 401 and body == {"error": "not_signed_in"}


async def test_the_api_gives_the_same_figures_as_described(
    dashboard: Running, visitors: Callable[[], Visitor]
) -> None:
    alice, dave = visitors(), visitors()
    await alice.sign_in()
    await dave.sign_in("U0DAVE")
    spec = await described(alice)
    _, figures = await read(alice, spec, "/dashboard?days=90", "/dashboard")
    assert figures["days"] == 90
    by_severity = figures["charts"]["by_severity"]
    assert by_severity["columns"] == ["sev1", "sev2", "sev3", "sev4"]
    assert {"label": WEEK_1, "values": [1, 1, 0, 0]} in by_severity["rows"]
    assert figures["charts"]["false_positives"]["rows"] == [
        {"label": "generic", "values": [2, 2, 1, 50.0]}
    ]
    _, outside = await read(dave, spec, "/dashboard", "/dashboard")
    assert outside["days"] == 90
    assert {"label": WEEK_1, "values": [0, 1, 0, 0]} in outside["charts"]["by_severity"]["rows"]
    status, wrong = await read(alice, spec, "/dashboard?days=0", "/dashboard")
    assert status == 400 and wrong == {"error": "bad_query", "fields": ["days"]}
