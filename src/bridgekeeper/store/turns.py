"""The order in which this process's SQLite writers take the database (one at a time).

Two kinds: short transactions of a few Core statements (an alert storm's counted repeats, the
outbox worker's bookkeeping) and the rest (a command's change of an incident, through the ORM).
When the writer leaves, the kind that did not have the last turn goes next, if any of it waits:
a short transaction waits for at most one long one, however many are queued, and a long one is
never passed by more than one short one in a row. Within a kind, first come, first served.
"""

from __future__ import annotations

from collections.abc import Sequence

from bridgekeeper.slots import Slots

LONG, SHORT = 0, 1


def writer_turns() -> Slots:
    """One writer at a time, the kinds alternating (`slot(SHORT)` or `slot(LONG)`)."""
    return Slots(1, kinds=2, choose=_alternate)


def _alternate(waiting: Sequence[int], last: int) -> int:
    return next((kind for kind in waiting if kind != last), waiting[0])
