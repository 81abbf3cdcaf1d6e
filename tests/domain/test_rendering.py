"""Templates are compiled once for the process, yet every renderer shows its own templates: a
team's override, and an override edited while the process runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridgekeeper.domain.alerts.heartbeat import SOURCE as HEARTBEAT
from bridgekeeper.domain.alerts.parse import SOURCES
from bridgekeeper.rendering import Renderer, channel_mention, user_mention, with_mentions

NAME = "refused/incident_not_found.md.j2"


def test_an_override_is_shown_after_the_shipped_template_was_compiled(tmp_path: Path) -> None:
    shipped = Renderer().slack(NAME, number=7, command="/incident")
    override = tmp_path / NAME
    override.parent.mkdir(parents=True)
    override.write_text("No incident {{ number }} here {{ '<b>' }}.\n")
    assert Renderer([tmp_path]).slack(NAME, number=7) == "No incident 7 here &lt;b&gt;."
    assert (
        Renderer().slack(NAME, number=7, command="/incident")
        == shipped
        != "No incident 7 here &lt;b&gt;."
    )


def test_an_edited_override_is_compiled_again(tmp_path: Path) -> None:
    override = tmp_path / NAME
    override.parent.mkdir(parents=True)
    override.write_text("first {{ number }}\n")
    assert Renderer([tmp_path]).slack(NAME, number=1) == "first 1"
    override.write_text("second {{ number }}\n")
    assert Renderer([tmp_path]).slack(NAME, number=2) == "second 2"


def test_each_kind_keeps_its_escaping(tmp_path: Path) -> None:
    page = tmp_path / "same.j2"
    page.write_text("{{ value }}")
    renderer = Renderer([tmp_path])
    assert renderer.html("same.j2", value="<b>") == "&lt;b&gt;"
    assert renderer.text("same.j2", value="<b>") == "<b>"
    assert renderer.slack("same.j2", value="<b>") == "&lt;b&gt;"
    assert Renderer([tmp_path]).text("same.j2", value="<b>") == "<b>"


def test_only_a_whole_slack_id_is_a_mention() -> None:
    assert user_mention("U0ALICE") == "<@U0ALICE>" and channel_mention("C0GEN") == "<#C0GEN>"
    assert user_mention("U0ALICE\n") == "U0ALICE\n"  # `$` also matched before a line break
    assert channel_mention("C0GEN\n") == "C0GEN\n"


def test_every_alert_source_has_a_name_people_know() -> None:
    names = Renderer().slack_env.get_template("slack/source_names.j2").module.sources  # type: ignore[attr-defined]
    assert set(SOURCES) | {HEARTBEAT} <= set(names)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("see <https://example.com/run|the runbook>", "see <https://example.com/run|the runbook>"),
        ("<https://x.example/?a=1&b=2>", "<https://x.example/?a=1&amp;b=2>"),
        (  # a label naming another site would hide where the link goes: the address shows
            "log in at <https://evil.example/login|https://bank.example/login>",
            "log in at <https://evil.example/login>",
        ),
        ("<https://evil.example|bank.example>", "<https://evil.example>"),
        ("<https://Docs.example/a|docs.example/a>", "<https://Docs.example/a|docs.example/a>"),
        (
            "<https://docs.example/a|the docs.example runbook>",
            "<https://docs.example/a|the docs.example runbook>",
        ),
        ("<https://e.example|https://bank.example/login (official)>", "<https://e.example>"),
        ("<https://e.example|(bank.example)>", "<https://e.example>"),
        (
            "<https://e.example|\uff42\uff41\uff4e\uff4b\uff0eexample>",
            "<https://e.example>",
        ),  # fullwidth
        ("<https://e.example|bank\u3002example>", "<https://e.example>"),  # ideographic stop
        ("<https://e.example|bank\u200b.example>", "<https://e.example>"),  # invisible space
        ("<https://e.example|you@bank.example>", "<https://e.example>"),
        ("<mailto:a@evil.example|security@bank.example>", "<mailto:a@evil.example>"),
        ("<mailto:a@evil.example|write to us>", "<mailto:a@evil.example|write to us>"),
        (
            "<https://evil.example\\@bank.example|bank.example>",
            "<https://evil.example\\@bank.example>",
        ),
        # an address Python cannot read keeps a plain label, and drops one naming a place
        ("<https://[oops|the docs>", "<https://[oops|the docs>"),
        ("<https://[oops|docs.example>", "<https://[oops>"),
        ("ask <!subteam^S0SEC|@security>", "ask @security"),  # named, pinging nobody
        ("hi <@U0BOB|bob> in <#C0GEN|general>", "hi <@U0BOB> in <#C0GEN>"),
        (
            "<!here> <javascript:alert(1)|x> 1 < 2",
            "&lt;!here&gt; &lt;javascript:alert(1)|x&gt; 1 &lt; 2",
        ),
    ],
)
def test_what_people_typed_keeps_its_mentions_and_links_and_nothing_else(
    typed: str, shown: str
) -> None:
    """Slack sends a slash command's links, people, channels and groups as markup."""
    assert with_mentions(typed) == shown


PIECES = st.sampled_from(["", "[", "]", ":", "@", "\\", "bank.example", ".", "\uff0e", "%"])


@given(
    target=st.lists(PIECES | st.text(max_size=8), max_size=5).map("".join),
    label=st.lists(PIECES | st.text(max_size=8), max_size=5).map("".join),
)
def test_any_typed_link_is_shown_whole_or_as_plain_text(target: str, label: str) -> None:
    """Whatever the address and label (ones Python's URL parser refuses included), the text is
    shown: as a link, a link without its label, or escaped."""
    shown = with_mentions(f"see <https://{target}|{label}> now")
    assert shown.startswith("see ") and shown.endswith(" now")
    assert shown.count("<") == shown.count(">")


def test_renderers_over_the_same_folders_share_what_they_loaded(tmp_path: Path) -> None:
    """Each app and each CLI command makes a renderer: a template one loaded is not loaded again
    by the next, and a team's folder keeps environments of its own (its overrides first)."""
    (tmp_path / "help.md.j2").write_text("our own help")
    first, second, team = Renderer(), Renderer(), Renderer([tmp_path])
    first.slack("help.md.j2", command="/incident", topic=None)
    assert first.slack_env is second.slack_env and first.text_env is second.text_env
    assert "help.md.j2" in {t.name for t in (second.slack_env.cache or {}).values()}
    assert team.slack_env is not first.slack_env
    assert team.slack("help.md.j2") == "our own help"
