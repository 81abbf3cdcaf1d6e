"""Reading the Close modal's submitted state: the form as a CloseForm, and its problems and
the close gate's as {block_id: problem code} for the modal's inline errors."""

from __future__ import annotations

from typing import Any

from bridgekeeper.domain.closing import FIELD_MAX, FOLLOW_UP_SLOTS, CloseForm, FollowUp, Gate
from bridgekeeper.domain.report import DISPOSITIONS

TEXT_FIELDS = ("summary", "root_cause", "went_well", "to_improve")


def read_form(values: dict[str, Any]) -> tuple[CloseForm, dict[str, str]]:
    """The submitted modal as a CloseForm, and problems as {block_id: problem code}."""
    problems: dict[str, str] = {}
    texts: dict[str, str | None] = {}
    for name in TEXT_FIELDS:
        texts[name] = _text(values, name)
        if texts[name] and len(str(texts[name])) > FIELD_MAX:
            problems[name] = "too_long"
    disposition = _selected(values, "disposition") or None
    if disposition is not None and disposition not in DISPOSITIONS:
        problems["disposition"] = "unknown_disposition"
    follow_ups: list[FollowUp] = []
    for slot in range(1, FOLLOW_UP_SLOTS + 1):
        owner = _user(values, f"follow_up_{slot}_owner")
        text = _text(values, f"follow_up_{slot}_text")
        if owner and not text:
            problems[f"follow_up_{slot}_text"] = "follow_up_text"
        elif text and len(text) > FIELD_MAX:
            problems[f"follow_up_{slot}_text"] = "too_long"
        elif text:
            follow_ups.append(FollowUp(owner=owner, text=text))
    to_tracker = bool(_element(values, "follow_ups_tracker").get("selected_options"))
    form = CloseForm(
        disposition=disposition, follow_ups=tuple(follow_ups), to_tracker=to_tracker, **texts
    )
    return form, problems


def gate_problems(gate: Gate) -> dict[str, str]:
    """The gate as {block_id: problem code} for the modal's inline errors."""
    problems = {
        ("follow_up_1_text" if name == "follow_ups" else name): "required" for name in gate.missing
    }
    if gate.undecided:
        problems.setdefault("summary", "undecided_clocks")
    return problems


def _element(values: dict[str, Any], block: str) -> dict[str, Any]:
    element = (values.get(block) or {}).get("value") or {}
    return element if isinstance(element, dict) else {}


def _text(values: dict[str, Any], block: str) -> str | None:
    return str(_element(values, block).get("value") or "").strip() or None


def _selected(values: dict[str, Any], block: str) -> str:
    return str((_element(values, block).get("selected_option") or {}).get("value") or "")


def _user(values: dict[str, Any], block: str) -> str | None:
    return str(_element(values, block).get("selected_user") or "") or None
