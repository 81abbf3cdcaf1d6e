"""Reading what people entered in a modal."""

from __future__ import annotations

from typing import Any


def view_values(body: dict[str, Any]) -> dict[str, str]:
    """{block_id: value} from a view's state: text inputs, selects and user pickers."""
    state = ((body.get("view") or {}).get("state") or {}).get("values") or {}
    values: dict[str, str] = {}
    for block_id, actions in state.items():
        element = (actions or {}).get("value") or {}
        option = element.get("selected_option") or {}
        values[block_id] = str(
            element.get("value") or option.get("value") or element.get("selected_user") or ""
        )
    return values
