"""The incident vocabulary: severities, stages, roles, and the rules between them.

Pure Python: no Slack, HTTP or database here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from enum import StrEnum


class Severity(StrEnum):
    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"
    SEV4 = "sev4"

    @property
    def label(self) -> str:
        return self.value.upper()

    @property
    def rank(self) -> int:
        """1 is the worst."""
        return int(self.value[-1])


def worst(*severities: Severity) -> Severity:
    return min(severities, key=lambda s: s.rank)


class Stage(StrEnum):
    DETECT = "detect"
    ASSESS = "assess"
    DIAGNOSE = "diagnose"
    STABILIZE = "stabilize"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Impact(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


DEFAULT_ROLES = ("commander", "deputy", "scribe", "comms", "analyst", "sme")
ROLE_MAX = 40  # characters of a role's name, as it is stored

CHANNEL_NAME_MAX = 80
_NOT_ALLOWED = re.compile(r"[^a-z0-9_-]+")


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by '-', as Slack channel names allow."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_ALLOWED.sub("-", ascii_text.lower()).strip("-_")


def channel_name(prefix: str, number: int, title: str, suffix: int | str = 0) -> str:
    """`inc-42-suspicious-login`, at most 80 characters; a suffix (-2, -3... or a random part)
    for a taken name, kept whole: the title is cut to make room for it."""
    head = f"{prefix}-{number}"
    tail = f"-{suffix}" if suffix else ""
    slug = slugify(title)
    room = CHANNEL_NAME_MAX - len(head) - len(tail) - 1
    slug = slug[: max(room, 0)].rstrip("-_")
    name = f"{head}-{slug}" if slug else head
    return f"{name}{tail}"


IMPACT_DIMENSIONS = ("confidentiality", "integrity", "availability")
DEFAULT_IMPACT_SEVERITY = {
    Impact.HIGH: Severity.SEV1,
    Impact.MEDIUM: Severity.SEV2,
    Impact.LOW: Severity.SEV3,
    Impact.NONE: Severity.SEV4,
}


def suggested_severity(
    impact: dict[str, str], matrix: Mapping[Impact, Severity] | None = None
) -> Severity | None:
    """The severity the recorded C/I/A impact suggests: the worst over the three dimensions."""
    levels = [Impact(impact[d]) for d in IMPACT_DIMENSIONS if impact.get(d)]
    if not levels:
        return None
    table = matrix or DEFAULT_IMPACT_SEVERITY
    return worst(*(table[level] for level in levels))
