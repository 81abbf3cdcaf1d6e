"""Confirmed indicators of compromise as files to share with a threat intelligence platform
(a TIP, Sentinel, MISP): a STIX 2.1 bundle, built with the `stix2` library, and CSV.

Pure Python, no I/O: the words (the team's name, the report's, where each was seen) come in.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

# Each indicator type's STIX 2.1 object path; a host name is a domain-name object.
_PATHS = {
    "ipv4": "ipv4-addr:value",
    "ipv6": "ipv6-addr:value",
    "domain": "domain-name:value",
    "host": "domain-name:value",
    "url": "url:value",
    "email": "email-addr:value",
    "account": "user-account:account_login",
    "md5": "file:hashes.MD5",
    "sha1": "file:hashes.'SHA-1'",
    "sha256": "file:hashes.'SHA-256'",
}
CSV_COLUMNS = ("type", "value", "first_seen", "where")
NAMESPACE = uuid.UUID("5c1b7e3a-0d5e-4a4f-9f3b-6b2d1c8e9a70")  # of bridgekeeper's STIX ids
IDENTITY_CREATED = datetime(2024, 1, 1, tzinfo=UTC)  # a team's identity (its name) never changes
MEDIA_TYPES = {"stix": "application/stix+json;version=2.1", "csv": "text/csv"}
SUFFIXES = {"stix": "stix.json", "csv": "csv"}


@dataclass(frozen=True)
class Shared:
    """A confirmed indicator as it is shared."""

    type: str
    value: str
    first_seen_at: datetime
    confirmed_at: datetime
    where: str  # where it was seen, in words


@dataclass(frozen=True)
class SharedReport:
    """The incident the indicators are shared from."""

    key: str  # names it for good, and no other team's (its number and when it was declared)
    name: str
    opened_at: datetime


def _stable_id(kind: str, *names: str) -> str:
    """The same STIX id for the same object on every export."""
    return f"{kind}--{uuid.uuid5(NAMESPACE, '/'.join((kind, *names)))}"


def pattern(kind: str, value: str) -> str:
    """The STIX pattern matching `value`: quotes and backslashes escaped in its string."""
    quoted = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"[{_PATHS[kind]} = '{quoted}']"


def stix_bundle(items: Sequence[Shared], *, team: str, report: SharedReport, at: datetime) -> str:
    """A bundle: the team's identity, a report of the incident, an indicator per item.

    Exported again, each object keeps its id and its `created`, and has a later `modified`: a
    new version of the same object, which a TIP updates rather than adds again (STIX 2.1,
    3.6 Versioning)."""
    import stix2  # imported when used: the library takes 12-26 MiB a process would hold idle

    identity = stix2.Identity(
        id=_stable_id("identity", team),
        name=team,
        identity_class="organization",
        created=IDENTITY_CREATED,
        modified=IDENTITY_CREATED,
    )
    indicators = [
        stix2.Indicator(
            id=_stable_id("indicator", team, report.key, item.type, item.value),
            name=item.value,
            description=item.where,
            pattern=pattern(item.type, item.value),
            pattern_type="stix",
            valid_from=item.confirmed_at,
            created_by_ref=identity.id,
            created=item.first_seen_at,
            modified=max(at, item.first_seen_at),
        )
        for item in items
    ]
    grouping = stix2.Report(
        id=_stable_id("report", team, report.key),
        name=report.name,
        published=at,
        report_types=["indicator"],
        created_by_ref=identity.id,
        object_refs=[i.id for i in indicators] or [identity.id],
        created=report.opened_at,
        modified=max(at, report.opened_at),
    )
    bundle = stix2.Bundle(identity, grouping, *indicators)
    return str(bundle.serialize(pretty=True))


FORMULA_STARTS = frozenset("=+-@\t\r")


def csv_text(items: Sequence[Shared]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for item in items:
        cells = [item.type, item.value, item.first_seen_at.isoformat(), item.where]
        writer.writerow([_inert(cell) for cell in cells])
    return out.getvalue()


def _inert(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula: one starting with = + - @ or a tab or
    carriage return (an account name from an alert may be anything) gets a leading quote."""
    return f"'{cell}" if cell[:1] in FORMULA_STARTS else cell
