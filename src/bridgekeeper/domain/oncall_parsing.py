"""Read `/incident oncall ...` into a typed command (domain/commands.py); command_parsing.py
hands over what follows the subcommand.

    oncall [team]
    oncall overrides [team]
    oncall override <team> @who [from <time>] until <time>
    oncall override remove <number>
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bridgekeeper.domain.commands import (
    Command,
    ListOverrides,
    RemoveOverride,
    SetOverride,
    ShowOnCall,
    UsageError,
    UserRef,
)
from bridgekeeper.domain.text import is_digits

Mention = Callable[[str], UserRef | None]


class Args(Protocol):
    @property
    def words(self) -> list[str]: ...

    def rest(self, start: int = 0, stop: int | None = None) -> str: ...

    def drop(self, count: int) -> Args: ...

    def error(self, problem: str, **detail: str) -> UsageError: ...


def read_oncall(args: Args, mention: Mention) -> Command | UsageError:
    words = [word.casefold() for word in args.words]
    if words[:1] == ["override"]:
        return _override(args.drop(1), mention)
    if words[:1] == ["overrides"]:
        return _one_team_at_most(args.drop(1), ListOverrides)
    return _one_team_at_most(args, ShowOnCall)


def _one_team_at_most(args: Args, command: Callable[[str | None], Command]) -> Command | UsageError:
    words = args.words
    if len(words) > 1:
        return args.error("unexpected_text", value=args.rest(1))
    return command(words[0].casefold() if words else None)


def _override(args: Args, mention: Mention) -> Command | UsageError:
    words = [word.casefold() for word in args.words]
    if words[:1] == ["remove"]:
        return _remove(args.drop(1))
    if len(words) < 2:
        return args.error("missing_override")
    user = mention(args.words[1])
    if user is None:
        return args.error("missing_user")
    if "until" not in words[2:]:
        return args.error("missing_until")
    until = words.index("until", 2)
    if until != 2 and words[2] != "from":
        return args.error("bad_override", value=args.rest(2))
    start = _moment(args.rest(3, until)) if until != 2 else None
    if until != 2 and start is None:
        return args.error("bad_local_time", value=args.rest(3, until) or "from")
    end = _moment(args.rest(until + 1))
    if end is None:
        return args.error("bad_local_time", value=args.rest(until + 1) or "until")
    return SetOverride(words[0], user, start, end)


def _remove(args: Args) -> Command | UsageError:
    words = args.words
    number = words[0].removeprefix("#") if len(words) == 1 else ""
    if not is_digits(number) or not 0 < int(number) < 10**12:
        return args.error("bad_override_number", value=args.rest())
    return RemoveOverride(int(number))


def _moment(text: str) -> datetime | None:
    """ISO 8601 or `YYYY-MM-DD HH:MM`, with a time of day; without an offset it stays naive (the
    team's local time)."""
    if not any(sep in text for sep in "Tt "):
        return None
    try:
        return datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return None
