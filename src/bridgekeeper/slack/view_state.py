"""Reading what people entered in a modal: every modal's submission is read here, and all the
text typed into it is cleaned like any incoming text (domain/text.py)."""

from __future__ import annotations

from typing import Any

from bridgekeeper.domain.text import clean


def state_values(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A view's `state.values` ({block_id: {action_id: element}}), typed text cleaned."""
    state = ((body.get("view") or {}).get("state") or {}).get("values") or {}
    if not isinstance(state, dict):
        return {}
    return {
        str(block_id): {str(name): _cleaned(element) for name, element in actions.items()}
        for block_id, actions in state.items()
        if isinstance(actions, dict)
    }


def view_values(body: dict[str, Any]) -> dict[str, str]:
    """{block_id: value} from a view's state: text inputs, selects and user pickers."""
    values: dict[str, str] = {}
    for block_id, actions in state_values(body).items():
        element = actions.get("value") or {}
        option = element.get("selected_option")
        option = option if isinstance(option, dict) else {}
        values[block_id] = str(
            element.get("value") or option.get("value") or element.get("selected_user") or ""
        )
    return values


def _cleaned(element: object) -> dict[str, Any]:
    if not isinstance(element, dict):
        return {}
    value = element.get("value")
    return {**element, "value": clean(value)} if isinstance(value, str) else element
