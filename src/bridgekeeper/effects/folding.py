"""Folding: messages waiting for the same channel go out as one.

Slack takes about one message a second per channel. When timeline entries arrive faster (a
burst of notes, a busy bridge), the ones already waiting are posted as one message instead of
one each; the timeline keeps every entry. Only messages never tried are folded: a retried one
is found again by its id in the posted message's metadata (effects/deliver.py).
"""

from __future__ import annotations

from bridgekeeper.slack.blocks import MAX_BLOCKS, MAX_FALLBACK, to_blocks
from bridgekeeper.store.models import Effect

MAX_FOLD = 20  # messages folded into one at most
NOT_POSTED = "not_posted"  # in a payload, in memory only: one of a fold Slack refused


def fold(effects: list[Effect]) -> tuple[Effect, list[Effect], list[Effect]]:
    """(the next effect to deliver, the messages folded into it, the rest of the lane). Card
    refreshes between the messages are passed over (a card shows current state whenever it
    is rendered) and stay in the rest, in their order."""
    first, rest = effects[0], effects[1:]
    if not _foldable(first):
        return first, [], rest
    run, passed, scanned = [first], [], 0
    for effect in rest:
        if effect.kind == "card":
            passed.append(effect)
        elif _foldable(effect) and _target(effect) == _target(first) and len(run) < MAX_FOLD:
            if not _fits(_joined([*run, effect])):
                break
            run.append(effect)
        else:
            break
        scanned += 1
    if len(run) == 1:
        return first, [], rest
    first.payload = {**first.payload, "text": _joined(run), "folded": [e.id for e in run[1:]]}
    return first, run[1:], [*passed, *rest[scanned:]]


def _foldable(effect: Effect) -> bool:
    payload = effect.payload
    return effect.kind == "post" and effect.attempts == 0 and bool(payload.get("fold"))


def _target(effect: Effect) -> str:
    return str(effect.payload.get("target", "bridge"))


def _joined(run: list[Effect]) -> str:
    return "\n".join(str(effect.payload["text"]).strip("\n") for effect in run)


def _fits(markup: str) -> bool:
    """Within one message: fewer blocks than Slack's limit, and short enough to read."""
    return len(markup) <= MAX_FALLBACK and len(to_blocks(markup)) < MAX_BLOCKS


def unfolded(effects: list[Effect]) -> list[Effect]:
    """The messages of a fold Slack refused, read again as stored, to go out each on its own:
    none of them was posted, so none is looked for in the channel first (effects/deliver.py)."""
    for effect in effects:
        effect.payload = {**effect.payload, NOT_POSTED: True}
    return effects
