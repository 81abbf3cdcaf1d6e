"""The schema's migrations (Alembic): their configuration, the revision they lead to, where a
database stands against it, and the upgrade itself."""

from __future__ import annotations

from functools import cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection

from bridgekeeper.errors import SchemaOutOfDate
from bridgekeeper.resources import shipped_dir


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(shipped_dir("migrations")))
    config.attributes["connection"] = connection
    return config


@cache
def _scripts() -> ScriptDirectory:
    """The shipped migrations, read once a process (about 4 ms each time: every readiness
    probe checks the schema)."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str | None:
    return _scripts().get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def refuse_newer(current: str | None) -> None:
    """Before an upgrade: a schema newer than this version knows cannot be upgraded by it."""
    if current is not None and not _known(current):
        raise SchemaOutOfDate(str(problem(current)))


def problem(current: str | None) -> str | None:
    """What an operator should do about a database at revision `current`, or None if this
    version can use it."""
    head = head_revision()
    if current == head:
        return None
    upgrade_it = "run `bridgekeeper db upgrade`"
    if current is None:
        return f"the database has no schema yet (this version needs {head}): {upgrade_it}"
    if not _known(current):
        return (
            f"the database schema is at {current}, newer than this version knows (it needs "
            f"{head}): run the version of bridgekeeper that upgraded it"
        )
    return f"the database schema is at {current}, this version needs {head}: {upgrade_it}"


def _known(revision: str) -> bool:
    """Whether this version's migrations have `revision` (a newer version's are not)."""
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False
