"""Compiled SQL kept once per process, for every engine of one kind of database.

SQLAlchemy caches a statement's compiled SQL per engine, keyed by the engine's dialect object.
A SQLite database runs three engines (writing, reading, the worker's) and PostgreSQL two, and an
app started again in the same process (a test, a restart of the serve loop) makes new ones: each
compiled every statement anew. Every engine bridgekeeper makes uses its dialect's defaults, so
two dialects of the same class, on the same server version, compile a statement the same way;
the cache here keys on that instead of on the dialect object.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.util import LRUCache

# Distinct statements bridgekeeper runs, with room for each IN list's sizes.
SIZE = 2000


class CompiledStatements:
    """The `compiled_cache` every engine is given: a mapping keyed by SQLAlchemy's own key,
    whose first item (the dialect object) is replaced by what the compiled SQL depends on."""

    def __init__(self, size: int = SIZE) -> None:
        self._cache: LRUCache[Any, Any] = LRUCache(size)

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        return self._cache.get(_shared_key(key), default)

    def __setitem__(self, key: tuple[Any, ...], compiled: Any) -> None:
        self._cache[_shared_key(key)] = compiled

    def __len__(self) -> int:
        return len(self._cache)


def _shared_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    dialect: Dialect = key[0]
    return (type(dialect), dialect.server_version_info, dialect.paramstyle, *key[1:])


COMPILED = CompiledStatements()


def share_compiled(engine: Engine) -> None:
    """Compile `engine`'s statements into the process's one cache."""
    engine.update_execution_options(compiled_cache=COMPILED)
