"""The one normaliser for incoming text: what it removes, what it keeps, and that it is stable."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bridgekeeper.domain.command_parsing import parse
from bridgekeeper.domain.commands import UsageError
from bridgekeeper.domain.text import (
    BIDI_CONTROLS,
    JOINERS,
    SEPARATORS,
    clean,
    clean_line,
    is_digits,
    readable,
    shows_nothing,
)

NEVER = set(BIDI_CONTROLS + SEPARATORS + "\u200b\u2060\ufeff\r\x00")
HOSTILE = list(BIDI_CONTROLS + SEPARATORS + JOINERS + "\u200b\u2060\ufeff\r\n\t\x00\x1e\x7f\x9b")

# Text mixing ordinary characters with every character the normaliser treats specially.
hostile_text = st.lists(
    st.one_of(
        st.characters(),
        st.sampled_from(HOSTILE),
        st.sampled_from(["👨", "👩", "e", "\u0301", " ", "ن", "م", "क", "्", "ष"]),
    ),
    max_size=60,
).map("".join)


def forbidden(text: str) -> set[str]:
    """Characters that must never survive: see domain/text.py."""
    return {
        c
        for c in text
        if c in NEVER
        or (unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n")
        or (c in JOINERS and not _inside_word(text, c))
    }


def _inside_word(text: str, joiner: str) -> bool:
    for index, char in enumerate(text):
        if char != joiner:
            continue
        if index == 0 or index == len(text) - 1:
            return False
        around = (text[index - 1], text[index + 1])
        if any(n.isspace() or n in NEVER or n in JOINERS for n in around):
            return False
    return True


@given(hostile_text)
@example("a \u200d\u200db")
@example("e\u200b\u0301")
@example("\u200d\u2028\u200d")
def test_clean_leaves_nothing_forbidden_and_is_idempotent(text: str) -> None:
    once = clean(text)
    assert forbidden(once) == set()
    assert clean(once) == once
    assert unicodedata.is_normalized("NFC", once)


@given(hostile_text)
def test_clean_line_is_one_stripped_line_and_idempotent(text: str) -> None:
    once = clean_line(text)
    assert forbidden(once) == set()
    assert "\n" not in once and "\t" not in once and "  " not in once
    assert once == once.strip()
    assert clean_line(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("one\r\ntwo\rthree", "one\ntwo\nthree"),  # CR and CRLF are line breaks
        ("tab\there\nnext", "tab\there\nnext"),  # tab and newline stay
        ("nul\x00here", "nulhere"),
        ("forged\x1eline\x1f\x07\x1b[31m", "forgedline[31m"),  # record separator, bell, ESC
        ("del\x7f c1\x9b", "del c1"),
        ("fake\u2028*Incident 9 closed*", "fake *Incident 9 closed*"),
        ("para\u2029graph\u0085next", "para graph next"),
        ("\u202eevil\u202c \u2066iso\u2069 \u200emark\u200f \u061carabic", "evil iso mark arabic"),
        ("zero\u200bwidth\u2060joiner\ufeff", "zerowidthjoiner"),
        ("\u200d leading and trailing \u200c", " leading and trailing "),
        ("a \u200d b", "a  b"),  # a joiner between spaces is no part of a word
        ("caf\u0065\u0301", "café"),  # NFC
        ("lone \ud800 surrogate", "lone  surrogate"),
    ],
)
def test_clean_examples(raw: str, expected: str) -> None:
    assert clean(raw) == expected


@pytest.mark.parametrize(
    "word",
    [
        "👨\u200d👩\u200d👧",  # a family emoji: joiners between emoji
        "🏳\ufe0f\u200d🌈",  # rainbow flag: joiner after a variation selector
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian: a non-joiner inside a word
        "क्\u200dष",  # Devanagari: a joiner after a virama
    ],
)
def test_joiners_inside_words_are_kept(word: str) -> None:
    assert clean(f"say {word} now") == f"say {word} now"


def test_clean_line_makes_one_line() -> None:
    assert clean_line("  Disk\nfull\t on\u2028 db-1  ") == "Disk full on db-1"


@given(st.text(max_size=8))
@example("\u00b2")  # a digit to str.isdigit, not to int()
@example("\u0661")  # ARABIC-INDIC DIGIT ONE: int() reads it, but no one types it as a number
def test_is_digits_means_int_reads_it_as_typed(text: str) -> None:
    if is_digits(text):
        assert str(int(text)).zfill(len(text)) == text
    else:
        assert not text or not all(c in "0123456789" for c in text)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("asked <@U0BOB|bob> and <@U0CAROL>", "asked @Bob Jones and @U0CAROL"),
        (
            "see <https://example.com/run|the runbook>, <https://x.example/>",
            "see the runbook (https://example.com/run), https://x.example/",
        ),
        ("<!subteam^S0SEC|@security> in <#C0GEN|general> <!here>", "@security in #general @here"),
        ("1 < 2 > 0 and <no markup>", "1 < 2 > 0 and <no markup>"),
    ],
)
def test_slack_markup_reads_as_words_outside_slack(typed: str, read: str) -> None:
    assert readable(typed, {"U0BOB": "Bob Jones"}) == read


@pytest.mark.parametrize(
    "blank",
    [
        "\u2800",
        "\u3164 \uffa0",
        "\u2800\u00a0\u2800",
        "\u3164\u3000\u3164",
        "\u2800\u034f",
        "\u3164\ufe0f",
    ],
)
def test_text_that_shows_as_nothing_is_no_title(blank: str) -> None:
    assert shows_nothing(blank) and clean_line(blank) == ""
    assert isinstance(parse(f"declare {blank}"), UsageError)
    assert isinstance(parse(f"declare {blank} sev2"), UsageError)


@pytest.mark.parametrize("kept", ["\u2800 Braille", "\ud55c\u1160\uae00", "\u2764\ufe0f", " "])
def test_text_with_anything_visible_is_kept(kept: str) -> None:
    assert not shows_nothing(kept)
