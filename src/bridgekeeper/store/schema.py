"""The schema's migrations (Alembic): their configuration, the revision they lead to, where a
database stands against it, and the upgrade itself.

Alembic is imported only to upgrade, or to tell a database behind this version from one ahead
of it: it takes a third of the CPU a `serve` or `worker` process spends starting, while a
database already at HEAD (every start but the first after an upgrade) needs only one SELECT."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from bridgekeeper.errors import SchemaOutOfDate
from bridgekeeper.resources import shipped_dir

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

HEAD = "0019"  # the newest migration's revision (tests/store/test_migrations.py checks it)
VERSIONS = "alembic_version"  # the table where Alembic keeps a database's revision


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(shipped_dir("migrations")))
    config.attributes["connection"] = connection
    return config


@cache
def _scripts() -> ScriptDirectory:
    """The shipped migrations, read once a process (about 4 ms each time: every readiness
    probe checks the schema)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str | None:
    """The head as the shipped migrations say (HEAD is what the code reads)."""
    return _scripts().get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The database's revision, as Alembic keeps it (None: no schema yet)."""
    if not inspect(connection).has_table(VERSIONS):
        return None
    return connection.execute(text(f"SELECT version_num FROM {VERSIONS}")).scalar()


def upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


def refuse_newer(current: str | None) -> None:
    """Before an upgrade: a schema newer than this version knows cannot be upgraded by it."""
    if current is not None and not _known(current):
        raise SchemaOutOfDate(str(problem(current)))


def problem(current: str | None) -> str | None:
    """What an operator should do about a database at revision `current`, or None if this
    version can use it."""
    head = HEAD
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


def newer(current: str | None) -> bool:
    """Whether the database is at a revision of a newer version than this one."""
    return current is not None and current != HEAD and not _known(current)


def _known(revision: str) -> bool:
    """Whether this version's migrations have `revision` (a newer version's are not)."""
    from alembic.util import CommandError

    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False
