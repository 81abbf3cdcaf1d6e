"""Confirmed indicators of compromise as files to share with a threat intelligence platform
(a TIP, Sentinel, MISP): a STIX 2.1 bundle, built with the `stix2` library, and CSV.

Pure Python, no I/O: the words (the team's name, the report's, where each was seen) come in.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

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


def pattern(kind: str, value: str) -> str:
    """The STIX pattern matching `value`: quotes and backslashes escaped in its string."""
    quoted = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"[{_PATHS[kind]} = '{quoted}']"


def stix_bundle(items: Sequence[Shared], *, team: str, report: str, at: datetime) -> str:
    """A bundle: the team's identity, a report of the incident, an indicator per item."""
    import stix2  # imported when used: the library takes 12-26 MiB a process would hold idle

    identity = stix2.Identity(name=team, identity_class="organization", created=at, modified=at)
    indicators = [
        stix2.Indicator(
            name=item.value,
            description=item.where,
            pattern=pattern(item.type, item.value),
            pattern_type="stix",
            valid_from=item.confirmed_at,
            created_by_ref=identity.id,
            created=at,
            modified=at,
        )
        for item in items
    ]
    grouping = stix2.Report(
        name=report,
        published=at,
        report_types=["indicator"],
        created_by_ref=identity.id,
        object_refs=[i.id for i in indicators] or [identity.id],
        created=at,
        modified=at,
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
