"""The Jinja2 environments over messages/: every word a user reads comes from there.

Slack templates escape `& < >` in every `{{ }}` by default, so untrusted text (alert titles,
anything users typed) can never become a mention or a link. Trusted Slack syntax (a user mention
the bot builds from a validated id) is wrapped in `Mrkdwn` by the filters below. HTML templates use
Jinja's own autoescape. Text for Jira wiki markup escapes users' text with the `wiki` filter.
"""

from __future__ import annotations

import functools
import logging
import re
import traceback
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from unicodedata import category, normalize
from urllib.parse import urlsplit

from jinja2 import (
    BytecodeCache,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    select_autoescape,
)
from jinja2.bccache import Bucket

from bridgekeeper.domain.indicators import defang
from bridgekeeper.logs import clean as one_line
from bridgekeeper.resources import shipped_dir

log = logging.getLogger(__name__)
_SLACK_ID = re.compile(r"[UWBCGSD][A-Z0-9]{1,30}")


class Mrkdwn(str):
    """Text that is already valid, safe Slack mrkdwn: not escaped again."""


# Lines that slack/blocks.py reads as structure (header, divider, context, button).
_MARKUP_LINE = re.compile(r"^(?=# |-{3}|~ |\[button)", re.MULTILINE)
ZERO_WIDTH = "\u200b"


# Characters that start Jira wiki markup: links [..], macros {..}, tables |, images !..!, mentions
# [~..], emphasis * _ + - ^ ~ ?? and headings' #; a backslash before each makes it literal. A
# backslash itself becomes its character entity: two of them would be a line break.
# https://jira.atlassian.com/secure/WikiRendererHelpAction.jspa?section=all
WIKI_SPECIAL = re.compile(r"[\\{}\[\]|*_+\-^~?!#]")


def escape_wiki(text: str) -> str:
    """`text` shown as written in Jira wiki markup: no link, macro, table or emphasis."""
    return WIKI_SPECIAL.sub(_wiki_literal, text)


def _wiki_literal(found: re.Match[str]) -> str:
    char = found[0]
    return "&#92;" if char == "\\" else "\\" + char


_BACKTICKS = re.compile("`+")


def markdown_code(value: object) -> str:
    """Users' text shown as written in Markdown (GitHub's and GitLab's issues), in a code span:
    nothing in it is read as a mention (@all), a reference, a link, an image or emphasis."""
    text = " ".join(str(value or "").split())
    fence = _fence(text, 1)
    return f"{fence} {text} {fence}"


def markdown_code_block(value: object) -> str:
    """`markdown_code` for text of several lines: a fenced code block."""
    text = str(value or "")
    fence = _fence(text, 3)
    return f"{fence}\n{text}\n{fence}"


def _fence(text: str, least: int) -> str:
    """Backticks longer than any run of them in `text`."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * max(least, longest + 1)


def escape_mrkdwn(value: object) -> str:
    """`& < >` as entities, and no line of untrusted text can pass for block markup."""
    if isinstance(value, Mrkdwn):
        return value
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKUP_LINE.sub(ZERO_WIDTH, text)


_MARKDOWN_BOLD = re.compile(r"\*\*(\S(?:[^*\n]*?\S)?)\*\*|__(\S(?:[^_\n]*?\S)?)__")


def markdown_emphasis(value: object) -> str:
    """Markdown's **bold** (or __bold__), which monitoring tools write, as Slack's *bold*."""
    return _MARKDOWN_BOLD.sub(lambda m: f"*{m[1] or m[2]}*", str(value))


def user_mention(user_id: object) -> Mrkdwn:
    text = str(user_id or "")
    if _SLACK_ID.fullmatch(text):
        return Mrkdwn(f"<@{text}>")
    return Mrkdwn(escape_mrkdwn(text or "nobody"))


def channel_mention(channel_id: object) -> Mrkdwn:
    text = str(channel_id or "")
    if _SLACK_ID.fullmatch(text):
        return Mrkdwn(f"<#{text}>")
    return Mrkdwn(escape_mrkdwn(text))


def slack_link(url: object, label: object) -> Mrkdwn:
    """A link whose label is escaped and whose URL cannot break out of `<...|...>`."""
    target = str(url or "")
    if not target.startswith(("https://", "http://")) or any(c in target for c in "<>| \n"):
        return Mrkdwn(escape_mrkdwn(label))
    safe_label = escape_mrkdwn(label).replace("|", "¦")
    return Mrkdwn(f"<{escape_mrkdwn(target)}|{safe_label}>")


_ESCAPED_MENTION = re.compile(r"&lt;([@#])([UWC][A-Z0-9]{1,30})(?:\|[^&<>]{0,80})?&gt;")
_UNTIL_GT = r"(?:(?!&gt;)[^|<>\n])"
_ESCAPED_LINK = re.compile(
    rf"&lt;((?:https?://|mailto:)(?:(?!&gt;)[^\s|<>]){{1,2000}})(?:\|({_UNTIL_GT}{{1,300}}))?&gt;"
)
_ESCAPED_GROUP = re.compile(rf"&lt;!subteam\^[A-Z0-9]{{1,30}}(?:\|@?({_UNTIL_GT}{{1,80}}))?&gt;")


def with_mentions(value: object) -> Mrkdwn:
    """User text, escaped, with its user and channel mentions and its links working again; a
    user group named by its handle, pinging nobody (as <!here> never does)."""
    text = _ESCAPED_MENTION.sub(r"<\1\2>", escape_mrkdwn(value))
    text = _ESCAPED_LINK.sub(_link_again, text)
    return Mrkdwn(_ESCAPED_GROUP.sub(lambda found: "@" + (found[1] or "group"), text))


_NAMED_PLACE = re.compile(r"[\w-]+(?:\.[\w-]+)+|\[[0-9a-f:.]+\]")  # a host, an address, a file
_FULL_STOPS = str.maketrans({"\u3002": ".", "\uff61": "."})  # dots NFKC leaves as they are


def _link_again(found: re.Match[str]) -> str:
    """A link people typed, working again; a label that names another place than the link
    leads to (a host, an e-mail address) is dropped, so the address itself shows."""
    target, label = found.groups()
    if label is None or _misleads(unescape(target), unescape(label)):
        return f"<{target}>"
    return f"<{target}|{label}>"


def _misleads(target: str, label: str) -> bool:
    """Whether the label names any place but the target's host, read as people would see it
    (look-alike characters folded, invisible ones taken out)."""
    seen = "".join(c for c in normalize("NFKC", label) if category(c) != "Cf")
    named = {name.strip("[]") for name in _NAMED_PLACE.findall(seen.translate(_FULL_STOPS))}
    return bool(named) and {name.casefold() for name in named} != {_host(target)}


def _host(target: str) -> str | None:
    """Where a link leads: its host (an e-mail address's domain); None when that is unclear."""
    if target.startswith("mailto:"):
        return target.partition("?")[0].rpartition("@")[2].casefold() or None
    if "\\" in target:  # browsers read a backslash as a slash; urlsplit does not
        return None
    try:
        return urlsplit(target).hostname
    except ValueError:
        return None


def defanged(value: object, kind: object) -> str:
    """An indicator of compromise that is no link, in no code span it could close."""
    return defang(str(kind), str(value)).replace("`", "\u02cb")


def utc(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M UTC") -> str:
    return value.strftime(fmt) if value else "—"


def duration(value: timedelta | None) -> str:
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m"]
    return " ".join(p for p in parts if p) if value.total_seconds() >= 60 else "<1m"


class Renderer:
    """Renders messages/ templates; `template_dirs` first, so teams can override any file.
    Renderers over the same folders share their environments: a template one has loaded is
    loaded for all in the process (each app, and each CLI command, makes its own renderer). A
    team's override is read again when its file changes; one added for a message already in
    use is read by the next process, as the running app never read it either."""

    def __init__(self, template_dirs: Sequence[Path] = ()) -> None:
        folders = tuple(str(folder) for folder in template_dirs)
        self.slack_env, self.html_env, self.text_env = _environments(folders)

    def slack(self, name: str, **context: Any) -> str:
        return self.slack_env.get_template(name).render(**context).strip()

    def html(self, name: str, **context: Any) -> str:
        return self.html_env.get_template(name).render(**context)

    def text(self, name: str, **context: Any) -> str:
        return self.text_env.get_template(name).render(**context)

    def html_pieces(self, name: str, **context: Any) -> Iterator[str]:
        """`html`, piece by piece as the template produces it (long reports)."""
        return self.html_env.get_template(name).generate(**context)

    def text_pieces(self, name: str, **context: Any) -> Iterator[str]:
        return self.text_env.get_template(name).generate(**context)

    def compile_slack_messages(self) -> int:
        """Compile the shipped messages Slack users are answered with (slack/, refused/, help
        and usage), before the first answer: a template is compiled on first use with the
        event loop stopped (the timeline entry takes about 28 ms), and every ack then waiting
        feels it. Call it once the services have added their filters (the app's renderer). A
        template that does not compile (a team's override) is named in the log and left to
        fail where it is used, as before. How many were compiled."""
        compiled = 0
        for name in _shipped_slack_messages():
            try:
                self.slack_env.get_template(name)
            except TemplateError as exc:
                log.warning("message %s does not compile: %s", name, exc)
            else:
                compiled += 1
        return compiled


SLACK_FOLDERS = ("slack", "refused")  # and the top-level help and usage


def template_failure(exc: BaseException) -> str | None:
    """Where a template failed and why, in one line for the log ("…/report.md.j2 line 3:
    UndefinedError: 'x' is undefined"); None for an error that is not a template's."""
    if not isinstance(exc, TemplateError):
        return None
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    where = f"{frames[-1].filename} line {frames[-1].lineno}: " if frames else ""
    return f"{where}{type(exc).__name__}: {exc}"


def _shipped_slack_messages() -> list[str]:
    folder = shipped_dir("messages")
    top = [path.name for path in folder.glob("*.md.j2")]
    inside = [
        path.relative_to(folder).as_posix()
        for sub in SLACK_FOLDERS
        for path in (folder / sub).rglob("*.md.j2")
    ]
    return sorted(top + inside)


class ShippedMessages(FileSystemLoader):
    """The messages/ bridgekeeper ships: read once, as they change only with bridgekeeper
    itself. Jinja would otherwise look at each one's file again every time it renders a message
    (an override in a team's folder still is: edited, it is used at its next render)."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Any]:
        source, filename, _ = super().get_source(environment, template)
        return source, filename, _unchanged


def _unchanged() -> bool:
    return True


class CompiledTemplates(BytecodeCache):
    """Templates compiled once for the process, not once per environment (renderers over a
    team's folders have environments of their own). A template whose source changed is
    compiled again: Jinja checks each entry against its source's checksum."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


# one cache per kind of environment: their options (escaping) change the compiled code
_COMPILED = {kind: CompiledTemplates() for kind in ("slack", "html", "text")}


@functools.lru_cache(maxsize=16)
def _environments(folders: tuple[str, ...]) -> tuple[Environment, Environment, Environment]:
    """The Slack, HTML and text environments over `folders` then the shipped messages."""
    loader = ChoiceLoader(
        [FileSystemLoader(folder) for folder in folders]
        + [ShippedMessages(str(shipped_dir("messages")))]
    )
    slack_env = _environment(loader, "slack", finalize=escape_mrkdwn)
    slack_env.filters.update(
        user=user_mention,
        channel=channel_mention,
        link=slack_link,
        mentions=with_mentions,
        emphasis=markdown_emphasis,
    )
    html = select_autoescape(["html", "j2"])
    html_env = _environment(loader, "html", autoescape=html)
    text_env = _environment(loader, "text")
    text_env.filters.update(
        wiki=escape_wiki, code=markdown_code, code_block=markdown_code_block, line=one_line
    )
    return slack_env, html_env, text_env


def _environment(loader: ChoiceLoader, kind: str, **options: Any) -> Environment:
    env = Environment(
        loader=loader,
        bytecode_cache=_COMPILED[kind],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        **options,
    )
    env.filters.update(
        utc=utc, duration=duration, role=role_name, defang=defanged, sentence=sentence_case
    )
    return env


def sentence_case(text: object) -> str:
    """The first letter upper-cased, the rest as written (Jinja's `capitalize` lower-cases it:
    "file Form 8-K" would read "File form 8-k")."""
    text = str(text)
    return text[:1].upper() + text[1:]


def role_name(role: object) -> str:
    """A role as a heading: capitalised, a short one as an acronym (sme -> SME)."""
    text = str(role)
    return text.upper() if len(text) <= 3 else text[:1].upper() + text[1:]
