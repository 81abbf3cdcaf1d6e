"""The words of a slash command: tokens that keep their place in the text (so free text is
sliced out exactly as typed), mentions, and numbers. Used by command_parsing.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bridgekeeper.domain.commands import UsageError, UserRef
from bridgekeeper.domain.text import shows_nothing

# A Slack escape such as <@U1|Ann Lee> is one token even with spaces inside.
TOKEN = re.compile(r"<[^<>\s][^<>]*>|\S+")
MENTION = re.compile(r"<@([A-Za-z0-9]+)(?:\|([^<>]*))?>")
PLAIN_MENTION = re.compile(r"@([^\s@<>|]+)")
DETAIL_MAX = 80


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Args:
    """What follows the subcommand (and the incident number, once taken)."""

    subcommand: str
    text: str  # the whole command text, for slicing free text out of it
    tokens: tuple[Token, ...]
    roles: tuple[str, ...]
    incident: int | None = None
    in_bridge: bool = False  # typed in a bridge channel: no number names another incident

    @property
    def words(self) -> list[str]:
        return [token.text for token in self.tokens]

    def rest(self, start: int = 0, stop: int | None = None) -> str:
        """The original text of tokens[start:stop], inner spacing kept ("" when it would show
        as nothing: a title of braille blanks is no title)."""
        chosen = self.tokens[start:stop]
        found = self.text[chosen[0].start : chosen[-1].end] if chosen else ""
        return "" if shows_nothing(found) else found

    def drop(self, count: int) -> Args:
        return replace(self, tokens=self.tokens[count:])

    def error(self, problem: str, **detail: str) -> UsageError:
        return UsageError(self.subcommand, problem, {k: clip(v) for k, v in detail.items()})


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text)]


def clip(value: str) -> str:
    """One printable line of at most DETAIL_MAX characters, to quote back to the user."""
    shown = "".join(ch if ch.isprintable() or ch.isspace() else "?" for ch in value[:1000])
    line = " ".join(shown.split())
    return line if len(line) <= DETAIL_MAX else line[: DETAIL_MAX - 1] + "…"


def positive(pattern: re.Pattern[str], word: str) -> int | None:
    match = pattern.fullmatch(word)
    return int(match[1]) if match else None


def mention(word: str) -> UserRef | None:
    if match := MENTION.fullmatch(word):
        return UserRef(match[1], (match[2] or "").strip() or None)
    if match := PLAIN_MENTION.fullmatch(word):
        return UserRef(None, match[1])
    return None
