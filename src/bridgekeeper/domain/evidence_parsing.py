"""Read `/incident evidence ...` into a typed command (domain/commands.py); command_parsing.py
hands over what follows the subcommand.

    evidence [list]
    evidence add [<description> [sha256=<hash>] [location=<where>]]   (alone: the form)
    evidence transfer <number> @who <reason>
    evidence verify <number> <sha256>
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Protocol

from bridgekeeper.domain.commands import (
    AddEvidence,
    Command,
    EvidenceForm,
    ListEvidence,
    TransferEvidence,
    UsageError,
    UserRef,
    VerifyEvidence,
)
from bridgekeeper.domain.evidence import normal_sha256

Mention = Callable[[str], UserRef | None]
NumberOf = Callable[[str], int | None]


class Args(Protocol):
    @property
    def incident(self) -> int | None: ...

    @property
    def words(self) -> list[str]: ...

    def rest(self, start: int = 0, stop: int | None = None) -> str: ...

    def drop(self, count: int) -> Args: ...

    def error(self, problem: str, **detail: str) -> UsageError: ...


def _nothing_more(args: Args, command: Command) -> Command | UsageError:
    return args.error("unexpected_text", value=args.rest()) if args.words else command


def read_evidence(args: Args, mention: Mention, number_of: NumberOf) -> Command | UsageError:
    """`evidence`, `evidence add|transfer|verify ...`."""
    action = args.words[0].casefold() if args.words else "list"
    rest = args.drop(1)
    if action == "list":
        return _nothing_more(rest, ListEvidence(args.incident))
    if action == "add":
        return _add(rest) if rest.words else EvidenceForm(args.incident)
    if action not in ("transfer", "verify"):
        return args.error("unexpected_text", value=args.rest())
    if not rest.words:
        return args.error("missing_evidence_number")
    number = number_of(rest.words[0])
    if number is None:
        return args.error("bad_evidence_number", value=rest.words[0])
    if action == "verify":
        return _verify(rest.drop(1), number)
    to = mention(rest.words[1]) if len(rest.words) > 1 else None
    if to is None:
        return args.error("missing_user")
    reason = rest.rest(2)
    return (
        TransferEvidence(args.incident, number, to, reason)
        if reason
        else args.error("missing_reason")
    )


def _verify(args: Args, number: int) -> Command | UsageError:
    if not args.words:
        return args.error("missing_hash")
    sha256 = normal_sha256(args.words[0].removeprefix("sha256="))
    if sha256 is None:
        return args.error("bad_hash", value=args.words[0])
    return _nothing_more(args.drop(1), VerifyEvidence(args.incident, number, sha256))


_KEYS = ("sha256=", "location=")


def _add(args: Args) -> Command | UsageError:
    """`<description> [sha256=<hash>] [location=<where>]`: a location runs to the next key."""
    keys = [i for i, w in enumerate(args.words) if w.casefold().startswith(_KEYS)]
    description = args.rest(0, keys[0] if keys else None)
    sha256: str | None = None
    location: str | None = None
    for at, stop in pairwise([*keys, len(args.words)]):
        key, _, value = args.rest(at, stop).partition("=")
        if key.casefold() == "sha256":
            sha256 = normal_sha256(value.strip())
            if sha256 is None:
                return args.error("bad_hash", value=args.rest(at, stop))
        else:
            location = value.strip() or None
    if not description:
        return args.error("missing_text")
    return AddEvidence(args.incident, description, sha256, location)
