"""The incidents list (filters, paging) and an incident's page, as a signed-in person sees
them; a private incident does not exist for anyone outside its bridge channel."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.conftest import Running
from tests.console.conftest import Visitors, alert_incident, bridge, declare
from tests.helpers import eventually

SECRET = "Payroll exfiltration by contractor"


def titles(page: str) -> list[str]:
    """The incidents the list shows, in order."""
    return re.findall(r'<a href="/console/incidents/\d+">([^<]*)</a>', page)


async def some_incidents(app: Running) -> None:
    """1 Website slow (sev2), 2 Disk full (sev3, closed), 3 from a generic alert (sev1),
    4 Login storm (sev4)."""
    await declare(app, "Website slow sev2")
    await declare(app, "Disk full on db-2 sev3")
    await alert_incident(app, "CPU on fire")
    await declare(app, "Login storm sev4")
    reply = await app.command("close Freed space", channel=bridge(app.slack, 2))
    assert reply.status == 200
    await app.settle()


async def test_the_list_filters_and_pages(console: Running, visitors: Visitors) -> None:
    await some_incidents(console)
    alice = visitors()
    page = await alice.sign_in()
    assert titles(page) == ["Login storm", "CPU on fire", "Disk full on db-2", "Website slow"]
    assert "4 incidents" in page
    for query, shown in [
        ("status=closed", ["Disk full on db-2"]),
        ("status=open&severity=sev2", ["Website slow"]),
        ("source=generic", ["CPU on fire"]),
        ("q=DISK", ["Disk full on db-2"]),
        ("q=%25", []),
    ]:
        status, listed = await alice.get(f"/console/incidents?{query}")
        assert status == 200 and titles(listed) == shown, query
    today = console.bk.clock.now().date()
    _, listed = await alice.get(f"/console/incidents?from={today}&to={today}")
    assert len(titles(listed)) == 4
    _, listed = await alice.get(f"/console/incidents?to={today - timedelta(days=1)}")
    assert titles(listed) == [] and "No incident matches" in listed
    _, first = await alice.get("/console/incidents?per_page=3")
    assert titles(first) == ["Login storm", "CPU on fire", "Disk full on db-2"]
    assert "page 1 of 2" in first and "Previous page" not in first
    following = re.search(r'href="([^"]+)" rel="next"', first)
    assert following is not None
    _, second = await alice.get("/console/incidents" + following.group(1).replace("&amp;", "&"))
    assert titles(second) == ["Website slow"] and "Page 2 of 2" in second
    _, odd = await alice.get("/console/incidents?status=maybe&severity=<b>")
    assert "Ignored (not understood): status, severity" in odd and len(titles(odd)) == 4


async def test_an_incident_page_shows_its_card_tasks_clocks_notes_and_timeline(
    console: Running, visitors: Visitors
) -> None:
    await declare(console, "Ransomware note on <file-server> sev1")
    channel = bridge(console.slack, 1)
    for text in (
        "role scribe <@U0BOB>",
        "impact c=high i=medium a=low",
        "task Isolate the host",
        "note Seen on <b>three</b> hosts",
        "notify gdpr",
        "stage assess",
    ):
        reply = await console.command(text, channel=channel)
        assert reply.status == 200
    await console.settle()
    alice = visitors()
    await alice.sign_in()
    status, page = await alice.get("/console/incidents/1")
    assert status == 200
    assert "<h1>Incident 1: Ransomware note on &lt;file-server&gt;</h1>" in page
    assert "<b>three</b>" not in page and "Seen on &lt;b&gt;three&lt;/b&gt; hosts" in page
    facts = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    seen = (
        "Severity SEV1",
        "Stage Assess",
        "Commander alice",
        "Scribe bob",
        "Confidentiality high",
        "Integrity medium",
        "Availability low",
        "Isolate the host",
        "GDPR",
        "alice declared the incident",
        "alice made bob scribe",
        "alice moved the incident from Detect to Assess",
    )
    for fact in seen:
        assert fact in facts, fact
    assert re.search(r"GDPR open \S+ .*? \d+h \d+m", facts), facts
    picture = page.split("<svg", 1)[1].split("</svg>", 1)[0]  # the timeline picture
    assert "Timeline of incident 1: Ransomware note on &lt;file-server&gt;" in picture
    assert ">Assess<" in picture and "<script" not in picture


async def test_people_typed_into_notes_read_by_name_and_ask_slack_a_bounded_number(
    console: Running, visitors: Visitors
) -> None:
    await declare(console, "Ransomware note sev1")
    channel = bridge(console.slack, 1)
    await console.command("note asked <@U0BOB|bob> to isolate it", channel=channel)
    made_up = " ".join(f"<@U0FAKE{n:03d}>" for n in range(120))
    await console.command(f"note {made_up}", channel=channel)
    await console.settle()
    alice = visitors()
    await alice.sign_in()
    asked = len(console.slack.calls_to("users.info"))
    status, page = await alice.get("/console/incidents/1")
    assert status == 200 and "asked @bob to isolate it" in page
    assert len(console.slack.calls_to("users.info")) - asked <= 60


async def test_a_private_incident_is_not_found_for_those_outside_it(
    console: Running, visitors: Visitors
) -> None:
    await declare(console, f"{SECRET} sev1 private")
    await declare(console, "Website slow sev3")
    dave, alice = visitors(), visitors()
    listed = await dave.sign_in("U0DAVE")
    assert titles(listed) == ["Website slow"] and "1 incident" in listed
    assert SECRET not in listed
    hidden = await dave.get("/console/incidents/1")
    missing = await dave.get("/console/incidents/99")
    assert hidden == missing and hidden[0] == 404 and "There is no such incident" in hidden[1]
    _, searched = await dave.get("/console/incidents?q=payroll")
    assert titles(searched) == [] and "0 incidents" in searched
    mine = await alice.sign_in("U0ALICE")
    assert titles(mine) == ["Website slow", SECRET]
    status, page = await alice.get("/console/incidents/1")
    assert status == 200 and SECRET in page


async def test_someone_slack_knows_is_in_the_channel_sees_it(
    console: Running, visitors: Visitors
) -> None:
    """Membership of the bridge channel is the rule: Slack is asked (in the background, the
    page answering at once from what is stored), as for a slash command."""
    await declare(console, f"{SECRET} sev1 private")
    console.slack.channels[bridge(console.slack, 1)].members.add("U0DAVE")
    dave = visitors()
    await dave.sign_in("U0DAVE")

    async def shown() -> bool:
        status, page = await dave.get("/console/incidents/1")
        return status == 200 and SECRET in page

    await eventually(shown)
    _, listed = await dave.get("/console/incidents")
    assert SECRET in titles(listed)


async def test_the_source_filter_offers_the_known_sources_not_the_ones_seen(
    console: Running, visitors: Visitors
) -> None:
    dave = visitors()
    await dave.sign_in("U0DAVE")
    status, page = await dave.get("/console/incidents")
    assert status == 200
    offered = re.findall(r'<option value="([a-z0-9-]+)"', page)
    for source in ("alertmanager", "gcp", "cloudevents", "aws-sns", "opsgenie", "heartbeat"):
        assert source in offered, offered  # whether or not any alert came from it
