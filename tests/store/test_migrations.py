"""Alembic: upgrade from an empty database to head, and no drift between models and migrations."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from bridgekeeper.errors import SchemaOutOfDate
from bridgekeeper.store.db import Database, head_revision
from bridgekeeper.store.models import Base


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_from_empty_to_head_without_drift(empty_db_url: str) -> None:
    db = Database(empty_db_url)
    try:
        with pytest.raises(SchemaOutOfDate, match="bridgekeeper db upgrade"):
            await db.check_schema()
        await db.upgrade()
        await db.check_schema()
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(_tables)
            diff = await conn.run_sync(_diff)
        assert {"incidents", "timeline_entries", "role_assignments", "effects"} <= tables
        assert diff == []
        await db.upgrade()  # a second upgrade is a no-op
    finally:
        await db.dispose()


def test_single_head() -> None:
    assert head_revision() is not None
