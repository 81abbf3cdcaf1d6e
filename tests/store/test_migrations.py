"""Alembic: upgrade from an empty database to head, and no drift between models and migrations."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Connection, inspect, text

from bridgekeeper.errors import SchemaOutOfDate
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Base
from bridgekeeper.store.schema import HEAD, alembic_config, head_revision
from tests.conftest import PG_URL, Running
from tests.services.test_close import declare, say


# Alembic is imported where a test uses it: at the top it cost every test process its import.
def _diff(connection: Connection) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _migrate(connection: Connection, revision: str, *, down: bool = False) -> None:
    from alembic import command

    (command.downgrade if down else command.upgrade)(alembic_config(connection), revision)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_from_empty_to_head_without_drift(empty_db_url: str) -> None:
    db = Database(empty_db_url)
    try:
        with pytest.raises(SchemaOutOfDate, match=r"no schema yet.*bridgekeeper db upgrade"):
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


def test_single_head_which_the_code_names() -> None:
    """The code reads HEAD rather than the migrations (importing Alembic to start a process
    would cost a third of its start-up): a new migration updates it."""
    assert head_revision() == HEAD


async def test_replicas_upgrading_at_once_take_turns(empty_db_url: str) -> None:
    replicas = [Database(empty_db_url) for _ in range(3)]
    try:
        await asyncio.gather(*(db.upgrade() for db in replicas))
        for db in replicas:
            await db.check_schema()
        async with replicas[0].engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        for db in replicas:
            await db.dispose()


@pytest.mark.skipif(not PG_URL, reason="indexes are built CONCURRENTLY on PostgreSQL only")
async def test_an_index_an_interrupted_upgrade_left_is_built_again(empty_db_url: str) -> None:
    db = Database(empty_db_url)
    try:
        async with db.engine.connect() as conn:
            await conn.run_sync(_migrate, "0016")
            await conn.commit()
            # What a CREATE INDEX CONCURRENTLY cut short leaves: the name taken, the index unusable.
            await conn.execute(
                text("CREATE INDEX ix_timeline_entries_kind ON timeline_entries (id)")
            )
            await conn.commit()
        await db.upgrade()
        await db.check_schema()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            valid = await conn.scalar(
                text(
                    "SELECT bool_and(indisvalid) FROM pg_index "
                    "JOIN pg_class c ON c.oid = indexrelid "
                    "WHERE c.relname IN ('ix_effects_opening', 'ix_effects_card', "
                    "'ix_timeline_entries_kind')"
                )
            )
        assert valid is True
    finally:
        await db.dispose()


async def test_a_database_with_reports_goes_down_a_revision_and_up_again(running: Running) -> None:
    """0018 added columns to reports, which report_parts refers to: going back drops them in
    place (copying the table was refused while a part refers to a report)."""
    channel = await declare(running)
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "close contained")
    db = running.bk.db
    async with db.engine.connect() as conn:
        report_id = await conn.scalar(text("SELECT min(id) FROM reports"))
        await conn.execute(
            text("INSERT INTO report_parts (report_id, number, body) VALUES (:id, 1, 'more')"),
            {"id": report_id},
        )
        await conn.commit()
        await conn.run_sync(_migrate, "0017", down=True)
        await conn.commit()
        assert "closed_facts" not in await conn.run_sync(_report_columns)
        await conn.run_sync(_migrate, "head")
        await conn.commit()
        assert await conn.run_sync(_diff) == []
        assert await conn.scalar(text("SELECT count(*) FROM report_parts")) == 1


async def test_the_upgrade_marks_the_incidents_whose_card_redraw_is_parked(
    running: Running,
) -> None:
    """0019: an incident whose status card's latest render was parked before the upgrade is
    marked out of date (its next note draws the card); one whose parked render was followed by
    another is not."""
    await declare(running, "Stale card")
    second = await declare(running, "Redrawn card")
    await say(running, second, "severity sev1 spreading")  # a second render of its card
    db = running.bk.db
    async with db.engine.connect() as conn:
        await conn.run_sync(_migrate, "0018", down=True)
        for key, newest in (("status:1", "max"), ("status:2", "min")):
            await conn.execute(
                text(
                    "UPDATE effects SET status = 'parked' WHERE id = "
                    f"(SELECT {newest}(id) FROM effects WHERE card_key = :key)"
                ),
                {"key": key},
            )
        await conn.commit()
        await conn.run_sync(_migrate, "head")
        await conn.commit()
        marked = await conn.execute(text("SELECT id, status_card_parked FROM incidents"))
        assert sorted((row[0], bool(row[1])) for row in marked) == [(1, True), (2, False)]


def _report_columns(connection: Connection) -> set[str]:
    return {column["name"] for column in inspect(connection).get_columns("reports")}


async def test_a_schema_newer_than_this_version_says_which_version_to_run(
    empty_db_url: str,
) -> None:
    """A deploy rolled back after a newer version upgraded the database: `db upgrade` cannot
    help, and the check says so instead of asking for it."""
    db = Database(empty_db_url)
    try:
        await db.upgrade()
        async with db.engine.connect() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
            await conn.commit()
        with pytest.raises(SchemaOutOfDate) as refused:
            await db.check_schema()
        assert "at 0999, newer than this version knows" in str(refused.value)
        assert "db upgrade" not in str(refused.value)
        with pytest.raises(SchemaOutOfDate, match="newer than this version knows"):
            await db.upgrade()  # it would not know how: refused, in one line, changing nothing
        async with db.engine.connect() as conn:
            assert await conn.scalar(text("SELECT version_num FROM alembic_version")) == "0999"
    finally:
        await db.dispose()
