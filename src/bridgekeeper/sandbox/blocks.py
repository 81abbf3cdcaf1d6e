"""Block Kit validation with Slack's documented limits (FACTS.md §7).

Each check returns a list of "[ERROR] ... [json-pointer:...]" strings, the way Slack reports them in
response_metadata.messages. An empty list means the payload is valid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridgekeeper.sandbox.state import JsonDict

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
ID_MAX = 255
ACTIONS_MAX_ELEMENTS = 25
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
OPTIONS_MAX = 100
CONTEXT_MAX_ELEMENTS = 10
LABEL_MAX = 2000
MODAL_TITLE_MAX = 24
MODAL_BUTTON_MAX = 24
PRIVATE_METADATA_MAX = 3000
TEXT_TYPES = {"plain_text", "mrkdwn"}

Errors = list[str]


def _error(pointer: str, problem: str) -> str:
    return f"[ERROR] {problem} [json-pointer:{pointer}]"


def check_text(obj: Any, pointer: str, *, limit: int, plain_only: bool = False) -> Errors:
    if not isinstance(obj, dict) or obj.get("type") not in TEXT_TYPES:
        return [_error(pointer, "must be a text object")]
    if plain_only and obj["type"] != "plain_text":
        return [_error(f"{pointer}/type", "must be plain_text")]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [_error(f"{pointer}/text", "must be a non-empty string")]
    if len(text) > limit:
        return [_error(f"{pointer}/text", f"must be less than {limit + 1} characters")]
    return []


def check_element(element: Any, pointer: str) -> Errors:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [_error(pointer, "must be an element object")]
    errors = _check_id(element, "action_id", pointer)
    if element["type"] == "button":
        errors += check_text(element.get("text"), f"{pointer}/text", limit=BUTTON_TEXT_MAX)
        if len(str(element.get("value", ""))) > BUTTON_VALUE_MAX:
            errors.append(_error(f"{pointer}/value", "must be less than 2001 characters"))
        if element.get("style") not in (None, "primary", "danger"):
            errors.append(_error(f"{pointer}/style", "must be primary or danger"))
    if "options" in element:
        errors += _check_options(element["options"], f"{pointer}/options")
    return errors


def _check_options(options: Any, pointer: str) -> Errors:
    """A select's options: at most 100, each a plain_text of at most 75 characters and a value
    of at most 150."""
    if not isinstance(options, list) or not 0 < len(options) <= OPTIONS_MAX:
        return [_error(pointer, f"must have 1 to {OPTIONS_MAX} items")]
    errors: Errors = []
    for n, option in enumerate(options):
        at = f"{pointer}/{n}"
        if not isinstance(option, dict):
            errors.append(_error(at, "must be an option object"))
            continue
        errors += check_text(option.get("text"), f"{at}/text", limit=OPTION_TEXT_MAX)
        if len(str(option.get("value", ""))) > OPTION_VALUE_MAX:
            errors.append(_error(f"{at}/value", "must be less than 151 characters"))
    return errors


def _check_id(obj: JsonDict, key: str, pointer: str) -> Errors:
    value = obj.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > ID_MAX):
        return [_error(f"{pointer}/{key}", "must be a string of at most 255 characters")]
    return []


def _check_elements(block: JsonDict, pointer: str, limit: int) -> Errors:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [_error(f"{pointer}/elements", "must provide at least one element")]
    if len(elements) > limit:
        return [_error(f"{pointer}/elements", f"must have at most {limit} items")]
    return []


def _section(block: JsonDict, pointer: str) -> Errors:
    text, fields = block.get("text"), block.get("fields")
    if text is None and fields is None:
        return [_error(pointer, "must provide either text or fields")]
    errors: Errors = []
    if text is not None:
        errors += check_text(text, f"{pointer}/text", limit=SECTION_TEXT_MAX)
    if fields is not None:
        errors += _section_fields(fields, f"{pointer}/fields")
    if block.get("accessory") is not None:
        errors += check_element(block["accessory"], f"{pointer}/accessory")
    return errors


def _section_fields(fields: Any, pointer: str) -> Errors:
    if not isinstance(fields, list) or not fields:
        return [_error(pointer, "must be a non-empty array")]
    if len(fields) > SECTION_FIELDS_MAX:
        return [_error(pointer, f"must have at most {SECTION_FIELDS_MAX} items")]
    errors: Errors = []
    for index, field in enumerate(fields):
        errors += check_text(field, f"{pointer}/{index}", limit=FIELD_TEXT_MAX)
    return errors


def _header(block: JsonDict, pointer: str) -> Errors:
    return check_text(block.get("text"), f"{pointer}/text", limit=HEADER_TEXT_MAX, plain_only=True)


def _actions(block: JsonDict, pointer: str) -> Errors:
    errors = _check_elements(block, pointer, ACTIONS_MAX_ELEMENTS)
    if errors:
        return errors
    for index, element in enumerate(block["elements"]):
        errors += check_element(element, f"{pointer}/elements/{index}")
    return errors


def _context(block: JsonDict, pointer: str) -> Errors:
    errors = _check_elements(block, pointer, CONTEXT_MAX_ELEMENTS)
    for index, element in enumerate(block.get("elements") or []):
        if isinstance(element, dict) and element.get("type") in TEXT_TYPES:
            errors += check_text(element, f"{pointer}/elements/{index}", limit=SECTION_TEXT_MAX)
    return errors


def _input(block: JsonDict, pointer: str) -> Errors:
    errors = check_text(block.get("label"), f"{pointer}/label", limit=LABEL_MAX, plain_only=True)
    if block.get("element") is None:
        errors.append(_error(f"{pointer}/element", "is required"))
    else:
        errors += check_element(block["element"], f"{pointer}/element")
    return errors


def _image(block: JsonDict, pointer: str) -> Errors:
    if not block.get("image_url") and not block.get("slack_file"):
        return [_error(f"{pointer}/image_url", "is required")]
    if not block.get("alt_text"):
        return [_error(f"{pointer}/alt_text", "is required")]
    return []


def _anything(block: JsonDict, pointer: str) -> Errors:
    return []


BLOCK_CHECKS: dict[str, Callable[[JsonDict, str], Errors]] = {
    "section": _section,
    "header": _header,
    "actions": _actions,
    "context": _context,
    "input": _input,
    "image": _image,
    "divider": _anything,
    "rich_text": _anything,
    "markdown": _anything,
    "file": _anything,
    "video": _anything,
    "call": _anything,
    "context_actions": _anything,
}


def check_blocks(blocks: Any, *, max_blocks: int, pointer: str = "/blocks") -> Errors:
    if not isinstance(blocks, list):
        return [_error(pointer, "must be an array")]
    if len(blocks) > max_blocks:
        return [_error(pointer, f"must have at most {max_blocks} items")]
    errors: Errors = []
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        errors += _check_block(block, f"{pointer}/{index}", seen_ids)
    return errors


def _check_block(block: Any, pointer: str, seen_ids: set[str]) -> Errors:
    if not isinstance(block, dict):
        return [_error(pointer, "must be a block object")]
    check = BLOCK_CHECKS.get(str(block.get("type")))
    if check is None:
        return [_error(f"{pointer}/type", f"unknown block type {block.get('type')!r}")]
    errors = _check_id(block, "block_id", pointer)
    block_id = block.get("block_id")
    if isinstance(block_id, str):
        if block_id in seen_ids:
            errors.append(_error(f"{pointer}/block_id", f"duplicate block_id {block_id!r}"))
        seen_ids.add(block_id)
    return errors + check(block, pointer)


def check_view(view: Any) -> Errors:
    """Validate a modal or home view (title ≤24, ≤100 blocks, input blocks need submit...)."""
    if not isinstance(view, dict):
        return [_error("/view", "must be an object")]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [_error("/view/type", "must be modal or home")]
    errors = check_blocks(
        view.get("blocks", []), max_blocks=VIEW_MAX_BLOCKS, pointer="/view/blocks"
    )
    if kind == "modal":
        errors += _check_modal_chrome(view)
    if len(str(view.get("private_metadata") or "")) > PRIVATE_METADATA_MAX:
        errors.append(_error("/view/private_metadata", "must be less than 3001 characters"))
    errors += _check_id(view, "callback_id", "/view") + _check_id(view, "external_id", "/view")
    return errors


def _check_modal_chrome(view: JsonDict) -> Errors:
    errors = check_text(view.get("title"), "/view/title", limit=MODAL_TITLE_MAX, plain_only=True)
    for key in ("submit", "close"):
        if view.get(key) is not None:
            errors += check_text(view[key], f"/view/{key}", limit=MODAL_BUTTON_MAX, plain_only=True)
    has_input = any(
        isinstance(block, dict) and block.get("type") == "input" for block in view.get("blocks", [])
    )
    if has_input and view.get("submit") is None:
        errors.append(_error("/view/blocks/0/input", "must define submit to use input block"))
    return errors
