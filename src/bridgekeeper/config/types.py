"""The value types of the configuration: each checks one kind of value and says what it expected.

A failed check raises `problem(kind, ...)`: a pydantic error whose type names the problem; the
sentence a user reads is messages/cli/config_problem.txt.j2, chosen by that type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from bridgekeeper.domain.incidents import Impact, Severity

CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")
CONTACT_ID = re.compile(r"[UWS][A-Z0-9]{2,}")
PREFIX = re.compile(r"[a-z0-9][a-z0-9_-]{0,19}")
REGIME_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
REPORT_TOKEN_MIN = 16


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


@dataclass(frozen=True)
class Shown:
    """Annotated marker: how the reference names this type (`channel ID`, `seconds`)."""

    name: str


@dataclass(frozen=True)
class Secret:
    """Annotated marker: `config show` masks the value."""


def problem(kind: str, **context: Any) -> PydanticCustomError:
    """A configuration problem of this kind; its sentence is in config_problem.txt.j2."""
    return PydanticCustomError(kind, kind, context)


def _one_of(choices: Iterable[str], *, enum: type[StrEnum] | None = None) -> BeforeValidator:
    """One of `choices`; for an enum, its values in any case, given as the member."""
    allowed = tuple(choices)

    def check(value: object) -> object:
        text = value.lower() if enum and isinstance(value, str) else value
        if text not in allowed:
            raise problem("one_of", choices=allowed)
        return enum(text) if enum else text

    return BeforeValidator(check)


def _matching(pattern: re.Pattern[str], kind: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise problem(kind)
        return value

    return AfterValidator(check)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise problem("blank")
    return value


def _long_enough(value: str) -> str:
    if len(value) < REPORT_TOKEN_MIN:
        raise problem("too_short_secret", min_length=REPORT_TOKEN_MIN)
    return value


def _listed(value: object) -> object:
    """One channel ID where a list of them is expected: a list of one."""
    return [value] if isinstance(value, str) else value


def _choices(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


SeverityName = Annotated[Severity, _one_of(_choices(Severity), enum=Severity)]
ImpactName = Annotated[Impact, _one_of(_choices(Impact), enum=Impact)]
Text = Annotated[str, AfterValidator(_not_blank), Shown("text")]
ChannelId = Annotated[str, _matching(CHANNEL_ID, "channel_id"), Shown("channel ID")]
ChannelIds = Annotated[list[ChannelId], BeforeValidator(_listed)]
ContactId = Annotated[str, _matching(CONTACT_ID, "contact_id"), Shown("user or group ID")]
ChannelPrefix = Annotated[str, _matching(PREFIX, "channel_prefix"), Shown("channel prefix")]


def _stripped(value: object) -> object:
    """A secret as pasted, without the line break or spaces around it (a Kubernetes secret
    made from a file, a CRLF env file): kept, they would fail every request it checks."""
    return value.strip() if isinstance(value, str) else value


ReportToken = Annotated[
    str, BeforeValidator(_stripped), AfterValidator(_long_enough), Secret(), Shown("secret")
]
SecretText = Annotated[str, BeforeValidator(_stripped), Secret(), Shown("secret")]
Positive = Annotated[int, Field(gt=0), Shown("positive integer")]
# Lengths of time, bounded: a time that far ahead is past what a date can hold (year 9999).
LONGEST = 100_000  # hours, days, weeks... of a setting: 273 years in days, 1,900 in weeks
Length = Annotated[int, Field(gt=0, le=LONGEST), Shown("positive integer")]
Minutes = Annotated[int, Field(ge=0, le=LONGEST * 10), Shown("minutes")]
Seconds = Annotated[float, Field(gt=0, le=LONGEST, allow_inf_nan=False), Shown("seconds")]


def _regime_name(value: object) -> object:
    if isinstance(value, str):
        if not REGIME_NAME.fullmatch(value.lower()):
            raise problem("regime_name")
        return value.lower()
    return value


RegimeName = Annotated[str, BeforeValidator(_regime_name), Shown("name")]


def base_url(value: str | None) -> str | None:
    """An http(s) address without its trailing slash."""
    if value is None:
        return None
    if not value.startswith(("http://", "https://")) or " " in value:
        raise problem("http_url")
    return value.rstrip("/")


def choice(values: Iterable[str]) -> BeforeValidator:
    """For Literal types: the same `one_of` problem as the enums."""
    return _one_of(values)
