"""Read `/incident iocs ...` and `/incident ioc ...` into typed commands (domain/commands.py);
command_parsing.py hands over what follows the subcommand.

    iocs                              the list
    iocs export [stix|csv]            the confirmed ones as a file (STIX 2.1 by default)
    ioc confirm|dismiss <number> [reason]
"""

from __future__ import annotations

from collections.abc import Callable

from bridgekeeper.domain.commands import (
    Command,
    DecideIndicator,
    ExportIndicators,
    ListIndicators,
    UsageError,
)
from bridgekeeper.domain.evidence_parsing import Args

NumberOf = Callable[[str], int | None]
FORMATS = ("stix", "csv")
_DECISIONS = {"confirm": "confirmed", "dismiss": "dismissed"}


def read_indicators(args: Args) -> Command | UsageError:
    """`iocs`, `iocs export [stix|csv]`."""
    if not args.words:
        return ListIndicators(args.incident)
    if args.words[0].casefold() != "export":
        return args.error("unexpected_text", value=args.rest())
    rest = args.drop(1)
    chosen = rest.words[0].casefold() if rest.words else "stix"
    if chosen not in FORMATS or len(rest.words) > 1:
        return args.error("bad_export_format", value=rest.rest())
    return ExportIndicators(args.incident, chosen)


def read_indicator(args: Args, number_of: NumberOf) -> Command | UsageError:
    """`ioc confirm|dismiss <number> [reason]`."""
    if not args.words:
        return args.error("missing_indicator_action")
    status = _DECISIONS.get(args.words[0].casefold())
    if status is None:
        return args.error("unexpected_text", value=args.rest())
    rest = args.drop(1)
    if not rest.words:
        return args.error("missing_indicator_number")
    number = number_of(rest.words[0])
    if number is None:
        return args.error("bad_indicator_number", value=rest.words[0])
    return DecideIndicator(args.incident, number, status, rest.rest(1))
