"""Small, total helpers shared by the alert normalisers.

Every helper accepts any JSON value and never raises, except the `require_*` ones, which
raise `PayloadError` with the dotted path of the offending field.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bridgekeeper.domain.alerts.model import PayloadError
from bridgekeeper.domain.text import clean, clean_line, shows_nothing

TITLE_MAX = 500
DESCRIPTION_MAX = 5000
TEXT_MAX = 1000  # any other free-text field (resource, ids, hosts)
ELLIPSIS = "…"

_EPOCH_MIN = datetime(1970, 1, 2, tzinfo=UTC)
_DIGITS = re.compile(r"\d{1,20}(\.\d{1,9})?")
_GUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_HOST_LIKE = re.compile(r"[a-z0-9][a-z0-9._:\[\]-]{0,252}", re.IGNORECASE)

JsonObject = dict[str, Any]


# --- lookup -------------------------------------------------------------------------------


def get(obj: object, *names: str) -> object:
    """The first present, non-null value among `names`, matched exactly, then case-insensitively."""
    if not isinstance(obj, Mapping):
        return None
    for name in names:
        value = obj.get(name)
        if value is None:
            value = _get_folded(obj, name)
        if value is not None:
            return value
    return None


def _get_folded(obj: Mapping[Any, Any], name: str) -> object:
    folded = name.casefold()
    for key, value in obj.items():
        if isinstance(key, str) and key.casefold() == folded and value is not None:
            return value
    return None


def dig(obj: object, *path: str) -> object:
    """Follow a path of keys (each looked up like `get`); None when any step is missing."""
    for name in path:
        obj = get(obj, name)
    return obj


def obj_at(obj: object, *names: str) -> JsonObject:
    """A nested object, or {} when absent or not an object."""
    value = get(obj, *names)
    return value if isinstance(value, dict) else {}


def objects(value: object) -> list[JsonObject]:
    """The objects of a list, ignoring anything else."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def text(value: object) -> str:
    """A scalar as stripped text; "" for null, objects, lists and booleans. Every string is
    cleaned like all incoming text (domain/text.py: no control, bidi or stray zero-width
    characters, no NUL, which PostgreSQL cannot store)."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, str):
        cleaned = clean(value).strip()
        return "" if shows_nothing(cleaned) else cleaned
    if isinstance(value, int | float):
        try:
            return str(value)
        except ValueError:  # an integer too long to print
            return ""
    return ""


def text_at(obj: object, *names: str) -> str:
    return text(get(obj, *names))


def flag(value: object) -> bool:
    """JSON true or the string "true" (Logic Apps sometimes stringify booleans)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def texts(value: object) -> list[str]:
    """The non-empty scalars of a list (or of a single scalar)."""
    items = value if isinstance(value, list) else [value]
    return [t for t in (text(item) for item in items) if t]


# --- required fields ----------------------------------------------------------------------


def require_object(value: object, path: str) -> JsonObject:
    if value is None:
        raise PayloadError(f"{path} is missing")
    if not isinstance(value, dict):
        raise PayloadError(f"{path} must be an object")
    return value


def require_list(value: object, path: str) -> list[Any]:
    if value is None:
        raise PayloadError(f"{path} is missing")
    if not isinstance(value, list):
        raise PayloadError(f"{path} must be a list")
    return value


def require_text(obj: object, name: str, path: str) -> str:
    value = text(get(obj, name))
    if not value:
        raise PayloadError(f"{path} is missing")
    return value


def require_payload_object(payload: object) -> JsonObject:
    if not isinstance(payload, dict):
        raise PayloadError("the payload must be a JSON object")
    return payload


# --- text shaping -------------------------------------------------------------------------


def truncate(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    return value[: limit - 1].rstrip() + ELLIPSIS


def one_line(value: str, limit: int = TITLE_MAX) -> str:
    """Cleaned, runs of whitespace (line breaks too) collapsed to single spaces, truncated."""
    return truncate(clean_line(value), limit)


def paragraph(value: str, limit: int = DESCRIPTION_MAX) -> str:
    return truncate(clean(value).strip(), limit)


def join_lines(*parts: str) -> str:
    return "\n".join(part for part in parts if part)


def http_url(value: object) -> str | None:
    """Only absolute http(s) links are kept: anything else could be a javascript: trap."""
    url = text(value)
    if url.lower().startswith(("https://", "http://")) and len(url) <= 4000 and " " not in url:
        return url
    return None


def first_url(*values: object) -> str | None:
    for value in values:
        url = http_url(value)
        if url:
            return url
    return None


def stable_hash(value: object) -> str:
    """A short, stable digest of a JSON value (keys sorted)."""
    try:
        encoded = json.dumps(value, sort_keys=True, ensure_ascii=True, default=str)
    except (ValueError, TypeError, RecursionError):
        encoded = repr(type(value))
    return hashlib.sha256(encoded.encode()).hexdigest()[:16]


def unique(values: Iterable[str]) -> list[str]:
    """Non-empty values in first-seen order, duplicates (case-insensitive) dropped."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        key = value.casefold()
        if value and key not in seen:
            seen.add(key)
            out.append(value)
    return out


# --- timestamps ---------------------------------------------------------------------------


def parse_time(value: object) -> datetime | None:
    """ISO 8601 / RFC 3339 text, or epoch seconds / milliseconds (numbers or digit strings).

    Returns an aware UTC datetime, or None for anything unusable, including Go's zero time
    `0001-01-01T00:00:00Z` (Alertmanager and Grafana's "not ended yet").
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return None
    raw = value.strip()
    if _DIGITS.fullmatch(raw):
        return _from_epoch(float(raw))
    return _from_iso(raw)


def _from_epoch(number: float) -> datetime | None:
    seconds = number / 1000 if number >= 1e11 else number
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment if moment >= _EPOCH_MIN else None


def _from_iso(raw: str) -> datetime | None:
    if not 10 <= len(raw) <= 40:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("z", "Z"))
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return moment if moment >= _EPOCH_MIN else None


def time_at(obj: object, *names: str) -> datetime | None:
    """The first of `names` that holds a usable timestamp."""
    for name in names:
        moment = parse_time(get(obj, name))
        if moment is not None:
            return moment
    return None


# --- resources and hosts ------------------------------------------------------------------


def is_arm_id(value: str) -> bool:
    return value.lower().startswith("/subscriptions/")


def normalise_resource(value: str) -> str:
    """ARM ids are case-insensitive: lower-case them (Azure Monitor already does)."""
    value = value.strip()
    return value.lower().rstrip("/") if is_arm_id(value) else value


def is_workspace(resource_id: str) -> bool:
    return "/microsoft.operationalinsights/workspaces/" in resource_id.lower()


def is_specific_resource(resource_id: str) -> bool:
    """An ARM id naming one resource: not a subscription, resource group or shared workspace."""
    lowered = resource_id.lower()
    return "/providers/" in lowered and not is_workspace(lowered)


def arm_host(resource_id: str) -> str | None:
    """The VM / scale-set / Arc machine name at the end of an ARM id, if it names a machine."""
    kind, name = _kind_and_name(resource_id)
    machine_types = ("virtualmachines", "machines", "virtualmachinescalesets")
    return name if kind in machine_types and name else None


def _kind_and_name(resource_id: str) -> tuple[str, str]:
    """The last two segments of an ARM id, lower-cased: its resource type and its name."""
    parts = resource_id.lower().rstrip("/").split("/")
    return (parts[-2], parts[-1]) if len(parts) >= 2 else ("", "")


# ARM resource types that are no machine: their name is not a host's (an alert's compromised
# entity is often its resource's name: an AKS cluster, a storage account, a key vault...).
NOT_MACHINES = frozenset(
    {"managedclusters", "connectedclusters", "storageaccounts", "vaults", "sites", "servers"}
    | {"flexibleservers", "databaseaccounts", "registries", "service"}
)


def names_no_machine(name: str, resource_ids: Iterable[str]) -> bool:
    """Whether `name` is the name of one of these resources, of a type that is no machine."""
    wanted = name.lower()
    return any(
        kind in NOT_MACHINES and named == wanted
        for kind, named in map(_kind_and_name, resource_ids)
    )


def first_resource(resources: list[str], hosts: list[str]) -> str | None:
    """An alert's resource: its first Azure resource, else its first host."""
    resource = resources[0] if resources else (hosts[0] if hosts else "")
    return truncate(resource, TEXT_MAX) if resource else None


def host_name(value: str) -> str:
    """A host without port or URL parts, lower-cased: `VM-WEB-01:9100` -> vm-web-01."""
    host = value.strip().lower()
    if "://" in host:  # blackbox-style instance: a URL
        try:
            host = urlsplit(host).hostname or ""
        except ValueError:
            return ""
    if host.startswith("["):  # [ipv6]:port
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def looks_like_host(value: str) -> bool:
    """A single DNS-ish word, not a display name with spaces such as a subscription's."""
    return bool(_HOST_LIKE.fullmatch(value))


def short_host(value: str) -> str:
    """The first label of a DNS name (`vm-web-01.contoso.com` -> vm-web-01); IPs stay whole."""
    host = host_name(value)
    if _IPV4.fullmatch(host) or ":" in host:
        return host
    return host.split(".", 1)[0]


def guid_of(value: str) -> str | None:
    """32 lower-case hex digits when `value` (or its last path segment) is a GUID."""
    last = value.strip().rstrip("/").rsplit("/", 1)[-1].lower()
    return last.replace("-", "") if _GUID.fullmatch(last) else None


# --- entity graphs (Defender / Sentinel `$id` / `$ref`) --------------------------------------


def walk_objects(root: object, limit: int = 5000) -> Iterator[JsonObject]:
    """Every object inside `root`, depth first, iteratively (deep payloads can't blow the stack)."""
    stack: list[object] = [root]
    seen = 0
    while stack and seen < limit:
        node = stack.pop()
        if isinstance(node, dict):
            seen += 1
            yield node
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))


def typed_entities(root: object) -> list[JsonObject]:
    """The entities (objects with a `Type`/`kind`) anywhere in `root`, `$ref`s resolved."""
    nodes = list(walk_objects(root))
    by_id = {text(node.get("$id")): node for node in nodes if text(node.get("$id"))}
    found: list[JsonObject] = []
    seen: set[int] = set()
    for node in nodes:
        ref = text(node.get("$ref"))
        target = by_id.get(ref, node) if ref else node
        if id(target) not in seen and text_at(target, "Type", "kind"):
            seen.add(id(target))
            found.append(target)
    return found


def entity_map(
    hosts: Iterable[str], ips: Iterable[str], accounts: Iterable[str]
) -> dict[str, list[str]]:
    groups = {"hosts": hosts, "ips": ips, "accounts": accounts}
    cleaned = {
        name: unique(truncate(clean_line(v), TEXT_MAX) for v in values)
        for name, values in groups.items()
    }
    return {name: values for name, values in cleaned.items() if values}


def account_name(entity: object) -> str:
    """`DOMAIN\\name`, `name@upn-suffix` or just the name of an account entity."""
    name = text_at(entity, "Name", "accountName")
    if not name:
        return text_at(entity, "FriendlyName", "DisplayName")
    domain = text_at(entity, "NTDomain")
    suffix = text_at(entity, "UPNSuffix")
    if domain:
        return f"{domain}\\{name}"
    return f"{name}@{suffix}" if suffix else name
