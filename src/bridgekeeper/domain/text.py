"""One normaliser for every piece of text that comes in: slash commands, modals, alert fields,
pinned and edited messages.

What goes: control characters (tab and newline stay; CR and CRLF become a newline; NUL, which
PostgreSQL cannot store, goes too), lone surrogates, bidirectional controls (they make text read
in another order than it is stored), and zero-width characters, except a zero-width joiner or
non-joiner inside a word, where emoji sequences and some scripts need it. Line and paragraph
separators (U+2028, U+2029, U+0085) become a space: a line break is only ever one typed as
such, so no text can start a new line of a message that renderers do not see as one. The result
is in NFC.

Pure and idempotent: clean(clean(x)) == clean(x).
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from collections.abc import Mapping

SEPARATORS = "\u2028\u2029\u0085"
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
JOINERS = "\u200c\u200d"  # kept inside a word
ZERO_WIDTH = "\u200b\u2060\ufeff" + JOINERS
# Characters that show as nothing, kept in text (scripts use them) but not a line by themselves:
# the Mongolian vowel separator, the braille blank, the Hangul fillers.
BLANK_LOOKING = frozenset("\u180e\u2800\u115f\u1160\u3164\uffa0 ")
BLANK_CATEGORIES = frozenset({"Mn", "Me", "Cf"})  # marks and format characters, alone

_NEWLINES = re.compile(r"\r\n?")
_SEPARATOR = re.compile(f"[{SEPARATORS}]")
# Cc except tab and newline (U+0085 is a separator, handled above), bidi controls, the
# zero-width characters that are never needed, and lone surrogates (JSON can carry them; no
# database or Slack can store them).
_DROPPED = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff" + BIDI_CONTROLS + "\u200b\u2060\ufeff]"
)
_WHITESPACE = re.compile(r"\s+")


def clean(text: str) -> str:
    """Text as stored and shown: see the module's docstring. Line breaks are kept."""
    if text.isascii() and text.isprintable():
        return text  # nothing to drop or normalise (most alert fields and commands)
    text = _NEWLINES.sub("\n", text)
    text = _SEPARATOR.sub(" ", text)
    text = _DROPPED.sub("", text)
    if any(joiner in text for joiner in JOINERS):
        text = _joiners_in_words(text)
    return unicodedata.normalize("NFC", text)


def clean_line(text: str) -> str:
    """`clean`, on one line: every run of whitespace (line breaks too) becomes one space, and the
    ends are stripped. For titles, names and labels: one that would show as nothing is empty."""
    line = _WHITESPACE.sub(" ", clean(text)).strip()
    return "" if shows_nothing(line) else line


def shows_nothing(text: str) -> bool:
    """Whether text that is not empty is only characters that show as nothing: spaces, the
    blank-looking ones, and marks or format characters with nothing to sit on."""
    return bool(text) and not text.isascii() and all(map(_blank, text))


def _blank(char: str) -> bool:
    return char in BLANK_LOOKING or char.isspace() or unicodedata.category(char) in BLANK_CATEGORIES


def same_secret(given: str, expected: str) -> bool:
    """Whether a token or signature someone sent is the expected one, in time that does not
    tell how much of it was right, whatever characters it holds."""
    return hmac.compare_digest(given.encode(), expected.encode())


def is_digits(text: str) -> bool:
    """Whether `text` is a whole number in the digits 0-9 alone: `str.isdigit` also takes
    superscripts (²) and others that `int` cannot read."""
    return text.isascii() and text.isdigit()


def whole_number(text: str) -> int | None:
    """`text` as a whole number from 1 (an incident's, a report version's), if it is one of at
    most nine digits 0-9."""
    return int(text) if is_digits(text) and 0 < len(text) < 10 and int(text) > 0 else None


def _joiners_in_words(text: str) -> str:
    """A joiner stays only between two characters of a word (neither space nor invisible)."""
    kept: list[str] = []
    last = len(text) - 1
    for index, char in enumerate(text):
        if char in JOINERS and not (
            index > 0 and index < last and _wordish(text[index - 1]) and _wordish(text[index + 1])
        ):
            continue
        kept.append(char)
    return "".join(kept)


def _wordish(char: str) -> bool:
    return not char.isspace() and char not in ZERO_WIDTH and unicodedata.category(char) != "Cc"


_SLACK_MARKUP = re.compile(r"<([^<>\n]{1,500})>")
MENTION = re.compile(r"<@([UW][A-Z0-9]{1,30})(?:\|[^<>\n]{0,80})?>")  # a person, by id


def readable(text: str, users: Mapping[str, str] | None = None) -> str:
    """What people typed in Slack, as read outside it (a report, the console): a person as
    @name (from `users`, else the name Slack sent), a channel as #name, a user group as its
    handle, a link as "label (address)". Anything else between < and > stays as typed."""
    if "<" not in text:
        return text
    return _SLACK_MARKUP.sub(lambda found: _plain(found[1], users or {}), text)


def _plain(inner: str, users: Mapping[str, str]) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return "@" + (users.get(target[1:]) or label.lstrip("@") or target[1:])
    if target.startswith("#"):
        return "#" + (label or "channel")
    if target.startswith("!subteam^"):
        return "@" + (label.lstrip("@") or "group")
    if target.startswith("!date^"):
        return label or inner
    if target.startswith("!"):
        return "@" + target[1:]
    if target.startswith(("https://", "http://", "mailto:")):
        return f"{label} ({target})" if label and label != target else target
    return f"<{inner}>"
