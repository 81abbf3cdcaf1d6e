"""What `bridgekeeper config reference` and `config show` print, walked from the models: every
key with its type, default and description (the Field descriptions), or its effective value."""

from __future__ import annotations

import types
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from bridgekeeper.config import schema
from bridgekeeper.config.environment import Variables
from bridgekeeper.config.problems import is_secret
from bridgekeeper.config.settings import Settings, redact_url
from bridgekeeper.config.types import Shown

MASK = "********"


@dataclass(frozen=True)
class Entry:
    key: str  # dotted TOML key, or the environment variable
    type: str
    default: str  # as written in TOML; "" for none
    description: str
    secret: bool
    required: bool = False


def entries(model: type[BaseModel], prefix: str = "") -> Iterator[Entry]:
    """Every key of `model`, tables depth first; a list of tables is one entry and its keys."""
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        table = _table_of(field.annotation)
        if table is not None and not _is_list(field.annotation):
            yield from entries(table, key + ".")
            continue
        yield Entry(
            key,
            type_name(field.annotation, field.metadata),
            _default(field),
            field.description or "",
            is_secret(field),
            field.is_required(),
        )
        if table is not None:
            yield from entries(table, key + "[].")


def environment_entries() -> list[Entry]:
    return list(entries(Variables))


def document_entries() -> list[Entry]:
    return list(entries(schema.Document))


def type_name(annotation: Any, metadata: list[Any] = ()) -> str:  # type: ignore[assignment]
    """How the reference names a type: `list of channel ID`, `sev1/sev2/sev3/sev4`."""
    for marker in metadata:
        if isinstance(marker, Shown):
            return marker.name
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return type_name(args[0], list(annotation.__metadata__))
    if origin in (Union, types.UnionType):
        named = [type_name(a) for a in args if a is not type(None)]
        return " or ".join(named)
    if origin is list:
        return f"list of {type_name(args[0])}"
    if origin is dict:
        return f"table of {type_name(args[1])}"
    if origin is Literal:
        return "/".join(str(a) for a in args)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "/".join(str(m.value) for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    simple = {bool: "boolean", int: "integer", float: "number", str: "text"}
    return simple.get(annotation, str(annotation))


def toml_value(value: Any) -> str:
    """A default or effective value written as in TOML; "" for none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return toml_value(value.value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, BaseModel):
        return toml_value(value.model_dump())
    return str(value)


def _default(field: FieldInfo) -> str:
    if field.is_required() or field.default == "":
        return ""
    return toml_value(field.get_default(call_default_factory=True))


def _table_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is list:
        return _table_of(get_args(annotation)[0])
    return None


def _is_list(annotation: Any) -> bool:
    return get_origin(annotation) is list


# -- config show ---------------------------------------------------------------------------------
def effective(env: Variables, doc: schema.Document, settings: Settings) -> list[tuple[str, str]]:
    """(key, value) for every environment variable and TOML key, secrets masked. Where both
    may set a value (channels, tokens), the TOML key shows the one in effect."""
    shown = [(e.key, _shown(e, getattr(env, _attribute(e.key)))) for e in environment_entries()]
    data = _dump(doc)
    data["channels"]["triage"] = settings.triage_channel
    data["channels"]["stakeholders"] = settings.stakeholder_channel
    data["alerts"]["token"] = settings.alerts.token
    data["reports"]["access_token"] = settings.reports.access_token
    for entry in document_entries():
        if "[]" in entry.key:
            continue  # shown within its list
        value: Any = data
        for part in entry.key.split("."):
            value = value[part]
        shown.append((entry.key, _shown(entry, value)))
    return shown


def _dump(value: Any) -> Any:
    """A table as plain data, with the secret texts inside it masked (those of a table within a
    table of tables, such as a team's routing key, have no entry of their own to mask them)."""
    if isinstance(value, BaseModel):
        return {
            name: MASK if is_secret(field) and isinstance(item, str) and item else _dump(item)
            for name, field in type(value).model_fields.items()
            for item in [getattr(value, name)]
        }
    if isinstance(value, dict):
        return {key: _dump(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_dump(item) for item in value]
    return value


def _attribute(alias: str) -> str:
    return next(n for n, f in Variables.model_fields.items() if f.alias == alias)


def _shown(entry: Entry, value: Any) -> str:
    """The value as written in TOML ("" when not set), masked when it is a secret."""
    if value == "":
        return ""
    if entry.key == "DATABASE_URL":
        return toml_value(redact_url(value))
    if entry.secret and value:
        if isinstance(value, dict):
            return toml_value({k: MASK for k in value})
        return toml_value([MASK for _ in value] if isinstance(value, list) else MASK)
    return toml_value(value)
