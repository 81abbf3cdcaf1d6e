"""Read `/incident notify ...` into a typed command (domain/commands.py); command_parsing.py
hands over what follows the subcommand.

    notify <regime> [awareness time]
    notify <regime> classified|material|fixed [time]
    notify done <regime>
    notify none <regime> <rationale>
"""

from __future__ import annotations

from datetime import UTC, datetime

from bridgekeeper.domain.command_words import Args
from bridgekeeper.domain.commands import (
    Command,
    Notify,
    NotifyDone,
    NotifyEvent,
    NotifyNotRequired,
    UsageError,
)
from bridgekeeper.domain.regimes import EVENT_WORDS


def aware_at(text: str) -> datetime | None:
    """ISO 8601 or `YYYY-MM-DD HH:MM`, with a time of day; no offset means UTC."""
    if not any(sep in text for sep in "Tt "):
        return None  # a bare date would silently mean midnight
    try:
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def read_notify(args: Args) -> Command | UsageError:
    first = args.words[0].casefold() if args.tokens else ""
    if first == "done":
        return _notify_done(args.drop(1))
    if first == "none":
        return _notify_none(args.drop(1))
    if not args.tokens:
        return args.error("missing_regime")
    event = EVENT_WORDS.get(args.words[1].casefold()) if len(args.tokens) > 1 else None
    when = args.rest(2 if event else 1)
    at = aware_at(when) if when else None
    if when and at is None:
        return args.error("bad_time", value=when, regime=args.words[0])
    if event:
        return NotifyEvent(args.incident, args.words[0], event, at)
    return Notify(args.incident, args.words[0], at)


def _notify_done(args: Args) -> Command | UsageError:
    if not args.tokens:
        return args.error("missing_regime")
    if len(args.tokens) > 1:
        return args.error("unexpected_text", value=args.rest(1))
    return NotifyDone(args.incident, args.words[0])


def _notify_none(args: Args) -> Command | UsageError:
    if not args.tokens:
        return args.error("missing_regime")
    rationale = args.rest(1)
    if not rationale:
        return args.error("missing_reason", regime=args.words[0])
    return NotifyNotRequired(args.incident, args.words[0], rationale)
