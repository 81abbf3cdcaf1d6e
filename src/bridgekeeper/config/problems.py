"""Validation errors as the lines a user reads: `<key>: <what was expected>, got <value>`.

The key is the TOML path (`alerts.auto_declare[0].private`) or the environment variable; the
sentence comes from messages/cli/config_problem.txt.j2 by the error's type, falling back to
pydantic's own message for the types it does not name.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from bridgekeeper.config.types import Secret
from bridgekeeper.errors import ConfigError

Loc = tuple[int | str, ...]
TEMPLATE = "cli/config_problem.txt.j2"


def unreadable(path: str, exc: OSError | UnicodeDecodeError) -> str:
    """Why a file of settings could not be read: not UTF-8 text, or the system's reason."""
    if isinstance(exc, UnicodeDecodeError):
        return describe("not_utf8", path=path, at=exc.start + 1)
    return describe("file_unreadable", path=path, reason=exc.strerror or type(exc).__name__)


def describe(kind: str, **context: Any) -> str:
    """The sentence for one problem (what config_problem.txt.j2 says for `kind`)."""
    from bridgekeeper.rendering import Renderer

    values = {"message": "", "got": None, "got_kind": None, "secret": False, "suggestion": None}
    text = Renderer().text(TEMPLATE, kind=kind, **{**values, **context})
    return "".join(line.strip() for line in text.splitlines())


def config_error(problems: Sequence[tuple[str, str]]) -> ConfigError:
    (key, first), *more = problems
    return ConfigError(key, first, more=more)


def problems_of(
    error: ValidationError, *, model: type[BaseModel], typed: bool
) -> list[tuple[str, str]]:
    """One (key, sentence) per error of validating `model`. `typed`: the values had TOML types
    (environment variables are all text)."""
    return [_problem(details, model, typed) for details in error.errors()]


def _problem(details: ErrorDetails, model: type[BaseModel], typed: bool) -> tuple[str, str]:
    ctx = dict(details.get("ctx") or {})
    loc = tuple(part for part in details["loc"] if part != "[key]")
    key = ctx.pop("key", None) or dotted(_without_last_index(loc))
    suggestion = None
    if details["type"] == "extra_forbidden":
        suggestion = _closest(model, loc)
    shown = details["type"] not in ("missing", "extra_forbidden")
    value = details.get("input")
    text = describe(
        details["type"],
        message=details["msg"],
        suggestion=suggestion,
        got=_literal(value) if shown else None,
        got_kind=_kind(value) if shown and typed else None,
        secret=is_secret(_field_at(model, loc)),
        **ctx,
    )
    return key, text


def is_secret(field: FieldInfo | None) -> bool:
    return field is not None and any(
        isinstance(m, Secret) for m in _metadata(field.annotation, field.metadata)
    )


def _metadata(annotation: Any, metadata: list[Any]) -> list[Any]:
    """The Annotated markers of a field, and of the types inside it (list[Secret...])."""
    found = list(metadata)
    for arg in get_args(annotation):
        found += list(getattr(arg, "__metadata__", ())) + _metadata(arg, [])
    return found


def _field_at(model: type[BaseModel], loc: Loc) -> FieldInfo | None:
    """The field holding the value at `loc` (for alerts.tokens.x: alerts.tokens)."""
    owner: type[BaseModel] | None = model
    field = None
    keyed = False  # the last field was a table of tables (oncall.teams): a name comes next
    for name in (part for part in loc if isinstance(part, str)):
        if keyed:
            keyed = False
            continue
        if owner is None:
            return field
        field = next((f for n, f in owner.model_fields.items() if name in (n, f.alias)), None)
        if field is None:
            return None
        owner = _model_in(field.annotation)
        keyed = owner is not None and get_origin(field.annotation) is dict
    return field


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def dotted(loc: Iterable[int | str]) -> str:
    """('alerts', 'auto_declare', 0, 'private') -> alerts.auto_declare[0].private"""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        name = part if _BARE_KEY.fullmatch(part) else _literal(part)  # quoted, as TOML writes it
        text += f".{name}" if text else name
    return text


def _without_last_index(loc: Loc) -> Loc:
    """A list of plain values is named as a whole: regulatory.contacts, not contacts[0]."""
    return loc[:-1] if loc and isinstance(loc[-1], int) else loc


def _closest(root: type[BaseModel], loc: Loc) -> str | None:
    model = _model_at(root, loc[:-1])
    if model is None or not isinstance(loc[-1], str):
        return None
    known = list(model.model_fields)
    match = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.6)
    return dotted((*loc[:-1], match[0])) if match else None


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    a_key = False  # the part after a table of tables ([sources.<name>]) is a name, not a field
    for part in loc:
        if isinstance(part, int) or a_key:
            a_key = False
            continue
        field = model.model_fields.get(part)
        found = _model_in(field.annotation) if field else None
        if field is None or found is None:
            return None
        a_key = get_origin(field.annotation) is dict
        model = found
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (list, tuple):
        return _model_in(get_args(annotation)[0])
    if get_origin(annotation) is dict:
        return _model_in(get_args(annotation)[1])
    return None


def _literal(value: object) -> str:
    """A value as it would be written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # every control character escaped: the problem stays one line
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        more = ", ..." if value[5:] else ""
        return "[" + ", ".join(_literal(v) for v in value[:5]) + more + "]"
    if isinstance(value, dict):
        return "{...}"
    return repr(value)


def _kind(value: object) -> str | None:
    """What TOML type the value was: the template says "(a string)" and so on."""
    for kind, types in (
        ("boolean", bool),
        ("string", str),
        ("number", int | float),
        ("list", list),
        ("table", dict),
    ):
        if isinstance(value, types):
            return kind
    return None
