"""Rendered message text -> Block Kit, within Slack's limits.

Templates in messages/ write a small line markup, so the words stay in templates and the Block
Kit shapes stay here:

    # Header text                      -> header block (plain text, at most 150 characters)
    ---                                -> divider
    ~ context text                     -> context block
    [button action_id value style] Label -> a button; consecutive buttons form one actions block
    anything else                      -> mrkdwn sections, split on blank lines (3,000 each)

Every limit is kept by truncating with an ellipsis; a message never has more than 50 blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_BUTTON = 75
MAX_CONTEXT = 2000
MAX_FALLBACK = 3000
_BUTTON = re.compile(
    r"^\[button (?P<action>[^\s\]]+)(?: (?P<value>[^\s\]]+))?(?: (?P<style>primary|danger))?\] ?"
    r"(?P<label>.*)$"
)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str) -> str:
    """mrkdwn-escaped text shown in a plain_text field, where entities are not decoded."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@dataclass
class _Builder:
    blocks: list[dict[str, Any]] = field(default_factory=list)
    paragraph: list[str] = field(default_factory=list)
    buttons: list[dict[str, Any]] = field(default_factory=list)

    def flush_paragraph(self) -> None:
        """Sections of whole lines, each within Slack's 3,000 characters."""
        chunk: list[str] = []
        size = 0
        for line in self.paragraph:
            if chunk and size + len(line) + 1 > MAX_SECTION:
                self.blocks.append(section("\n".join(chunk)))
                chunk, size = [], 0
            chunk.append(line)
            size += len(line) + 1
        if "\n".join(chunk).strip():
            self.blocks.append(section("\n".join(chunk)))
        self.paragraph = []

    def flush_buttons(self) -> None:
        if self.buttons:
            self.blocks.append({"type": "actions", "elements": self.buttons[:25]})
        self.buttons = []

    def flush(self) -> None:
        self.flush_paragraph()
        self.flush_buttons()

    def add_line(self, line: str) -> None:
        button = _BUTTON.match(line)
        if button:
            self.flush_paragraph()
            self.buttons.append(_button(button))
            return
        self.flush_buttons()
        if line.startswith("# "):
            self.flush_paragraph()
            self.blocks.append(header(line[2:]))
        elif line.strip() == "---":
            self.flush_paragraph()
            self.blocks.append({"type": "divider"})
        elif line.startswith("~ "):
            self.flush_paragraph()
            self.blocks.append(context(line[2:]))
        elif not line.strip():
            self.flush_paragraph()
        else:
            self.paragraph.append(line)


def lines(markup: str) -> list[str]:
    """The markup's lines, split on newlines only: a form feed, U+2028 or any other character
    str.splitlines() breaks on cannot start a structure line (a header, a button)."""
    return markup.replace("\r\n", "\n").split("\n")


def to_blocks(markup: str, limit: int = MAX_BLOCKS) -> list[dict[str, Any]]:
    """A message's blocks (at most 50); `limit` for a view (a home tab takes 100)."""
    builder = _Builder()
    for line in lines(markup):
        builder.add_line(line)
    builder.flush()
    return limit_blocks(builder.blocks, limit)


def limit_blocks(blocks: list[dict[str, Any]], limit: int = MAX_BLOCKS) -> list[dict[str, Any]]:
    if len(blocks) <= limit:
        return blocks
    return [*blocks[: limit - 1], context(f"… (more not shown: Slack allows {limit} blocks)")]


def fallback_text(markup: str) -> str:
    """The notification text: the header, or the first line, without markup."""
    for line in lines(markup):
        stripped = line.strip()
        if stripped and not stripped.startswith(("[button", "---")):
            return truncate(stripped.lstrip("#~ ").strip(), MAX_FALLBACK)
    return "bridgekeeper"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION)}}


def header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(plain(text), MAX_HEADER) or "…"},
    }


def context(text: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": truncate(text, MAX_CONTEXT)}],
    }


def _button(match: re.Match[str]) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "action_id": match["action"],
        "text": {"type": "plain_text", "text": truncate(plain(match["label"]), MAX_BUTTON) or "…"},
    }
    if match["value"]:
        element["value"] = match["value"]
    if match["style"]:
        element["style"] = match["style"]
    return element


def ephemeral(markup: str, *, leave_original: bool = False) -> dict[str, Any]:
    """An answer only the person who acted sees: a slash command's ack or response_url post, or
    (`leave_original`) an answer to a button that leaves the clicked message as it is."""
    answer: dict[str, Any] = {
        "response_type": "ephemeral",
        "text": fallback_text(markup),
        "blocks": to_blocks(markup),
    }
    if leave_original:
        answer["replace_original"] = False
    return answer


def field_error(markup: str) -> str:
    """A refusal written for a message, as the plain text a form shows under a field (Slack
    renders no markup there, and takes at most 2,000 characters)."""
    return plain(markup).replace("*", "")[:2000]
