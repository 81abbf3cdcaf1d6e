"""Which waiting webhook requests the intake may store next.

Requests are stored many to a transaction (group commit). On PostgreSQL two batches may be
written at once; a batch then never takes a request that shares a dedup key with a batch still
being written, nor one that shares a key with an earlier request left waiting. So one alert's
occurrences, resolutions and redeliveries are always stored in the order they came. On SQLite
a batch is written in the intake's turn of the single writer (`written_in_turn`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Container, Sequence
from typing import TypeVar

T = TypeVar("T")


def take_ready(
    waiting: Sequence[T], keys: Callable[[T], frozenset[str]], busy: Container[str], limit: int
) -> tuple[list[T], list[T]]:
    """(the requests to store now, in order; those left waiting, in order)"""
    taken: list[T] = []
    left: list[T] = []
    held: set[str] = set()
    for request in waiting:
        its = keys(request)
        free = not (its & held) and not any(key in busy for key in its)
        if free and len(taken) < limit:
            taken.append(request)
        else:
            left.append(request)
            held |= its
    return taken, left


async def written_in_turn(task: asyncio.Task[None]) -> None:
    """Wait for a batch written in the intake's turn; cancelled meanwhile (a stop), cancel it
    too and let it unwind before the turn is given up: it writes in the turn."""
    try:
        await asyncio.wait({task})
    except asyncio.CancelledError:
        task.cancel()
        await asyncio.wait({task})
        raise
