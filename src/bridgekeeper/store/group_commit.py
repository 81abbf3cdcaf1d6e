"""Work that many tasks queue, written a batch at a time in one transaction (group commit).

Each caller waits for the result of its own work, which comes after the commit of the batch
that held it. While one batch is being written, the work queued meanwhile waits for the next:
under load, batches grow by themselves, and one commit (and, on SQLite, one turn of the
database's single writer) serves them all. The batches are written by a task of their own, so
a caller that gives up waiting does not undo its work, nor anyone else's.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

W = TypeVar("W")


@dataclass(frozen=True)
class Failed:
    """What a piece of work raised, in the place of its result."""

    error: Exception


Write = Callable[[list[W]], Awaitable[list[Any]]]  # results (or Failed), in the works' order


class GroupCommit(Generic[W]):
    """`submit(work)` queues `work` for the next batch and returns its result; `write` writes
    one batch and returns each work's result, or `Failed` for the works that failed."""

    def __init__(self, write: Write[W]) -> None:
        self._write = write
        self._waiting: list[tuple[W, asyncio.Future[Any]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, work: W) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((work, future))
        if self._writer is None or self._writer.done():
            # a context of its own: not the first caller's (its log fields, its writer's turn)
            self._writer = asyncio.create_task(self._write_all(), context=contextvars.Context())
        return await asyncio.shield(future)

    async def _write_all(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                results = await self._write([work for work, _ in batch])
            except Exception as exc:  # the batch as a whole failed: so did each of its works
                results = [Failed(exc)] * len(batch)
            except BaseException as exc:  # cancelled: nothing waiting is written
                stopped = Failed(RuntimeError(f"the writing stopped ({type(exc).__name__})"))
                for _, future in [*batch, *self._waiting]:
                    _settle(future, stopped)
                self._waiting = []
                raise
            for (_, future), result in zip(batch, results, strict=True):
                _settle(future, result)


def _settle(future: asyncio.Future[Any], result: Any) -> None:
    if future.done():
        return
    if isinstance(result, Failed):
        future.set_exception(result.error)
    else:
        future.set_result(result)
