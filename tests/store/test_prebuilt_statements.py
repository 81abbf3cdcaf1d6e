"""The statements built once at import compile on both databases: a statement that cannot
compile fails every time it runs, and a caller that tolerates failure would hide it (an outbox
lane's release once did, for weeks)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.base import Executable

import bridgekeeper

DIALECTS: dict[str, Dialect] = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}


def prebuilt() -> Iterator[tuple[str, str, Executable]]:
    """(module, name, statement) for each statement a module keeps, alone or in a dict keyed
    by dialect or otherwise."""
    for module in pkgutil.walk_packages(bridgekeeper.__path__, "bridgekeeper."):
        if module.name.endswith("__main__"):
            continue
        for name, value in vars(importlib.import_module(module.name)).items():
            items = value.items() if isinstance(value, dict) else [(None, value)]
            for key, item in items:
                if isinstance(item, Executable):
                    for dialect in DIALECTS if key not in DIALECTS else [key]:
                        yield f"{module.name}.{name}", dialect, item


STATEMENTS = [pytest.param(*found, id=f"{found[0]}-{found[1]}") for found in prebuilt()]


def test_the_modules_keep_prebuilt_statements() -> None:
    assert len(STATEMENTS) >= 30  # the outbox's, the lanes', the alerts', the incidents'...


@pytest.mark.parametrize(("name", "dialect", "statement"), STATEMENTS)
def test_a_prebuilt_statement_compiles(name: str, dialect: str, statement: Executable) -> None:
    """Compiled as it runs: with its parameters given (an INSERT's or UPDATE's parameter named
    after one of its columns is taken for that column's value)."""
    compile = statement.compile  # type: ignore[attr-defined]
    plain = compile(dialect=DIALECTS[dialect])
    compile(dialect=DIALECTS[dialect], column_keys=list(plain.params))
