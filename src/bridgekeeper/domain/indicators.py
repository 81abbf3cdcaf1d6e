"""Indicators of compromise: found in notes, pins and alert entities, shown defanged, exported.

Pure Python, no I/O. `extract` reads text as Slack sends it (links as `<url|label>`, e-mail
addresses as `<mailto:...|...>`), refangs what people defang (`hxxp://`, `1.2.3[.]4`,
`evil[dot]com`, `a[@]b.com`), and finds IPv4 and IPv6 addresses, URLs, e-mail addresses,
domains (on the Public Suffix List's ICANN section, its snapshot bundled with the package: no
fetch) and MD5, SHA-1 and SHA-256 hashes, in one regular-expression pass.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from publicsuffixlist import PublicSuffixList

TYPES = ("ipv4", "ipv6", "domain", "url", "md5", "sha1", "sha256", "email", "account", "host")
STATUSES = ("seen", "confirmed", "dismissed")
CONFIRMED = "indicator_confirmed"
DISMISSED = "indicator_dismissed"
MAX_VALUE = 1000  # bytes of UTF-8: longer "URLs" are not indicators worth keeping
MAX_SOURCES = 5  # where an indicator was seen: the first few places

# Suffixes that are also common file extensions: `main.py` or `notes.md` alone is a file name.
_FILE_LIKE = frozenset({"py", "sh", "md", "zip", "mov", "rs", "ps", "so", "java", "mk", "tf", "pl"})
_HASH_TYPES = {32: "md5", 40: "sha1", 64: "sha256"}

# Slack's link markup: <https://x|label>, <mailto:a@b|a@b>, <@U1>, <#C1|name>, <!here>.
_SLACK_LINK = re.compile(r"<([^<>|\s]+)(?:\|([^<>]*))?>")
_REFANG = [
    (re.compile(r"\bh(?:xx|XX|\*\*)p(s?)(?=\[?:)", re.IGNORECASE), r"http\1"),
    (re.compile(r"\bfxp(?=\[?:)", re.IGNORECASE), "ftp"),
    (re.compile(r"\[:\]//|\[://\]|\[:/{2}\]"), "://"),
    (re.compile(r"\[:\]"), ":"),
    (re.compile(r"\s?[\[({](?:\.|dot)[\])}]\s?", re.IGNORECASE), "."),
    (re.compile(r"\s?[\[(](?:@|at)[\])]\s?", re.IGNORECASE), "@"),
]
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_FINDER = re.compile(
    r"(?P<url>\b(?:https?|ftp)://[^\s<>\"`|]+)"
    rf"|(?P<email>(?<![\w.+%-])[\w.+%-]+@(?:{_LABEL}\.)+[a-z]{{2,63}}(?![\w-]))"
    r"|(?P<ipv4>(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\w))"
    r"|(?P<ipv6>(?<![\w:.])(?:(?:[0-9a-f]{0,4}:){2,6}(?:\d{1,3}\.){3}\d{1,3}(?!\.?\w)"
    r"|(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])))"  # with an IPv4 at its end, or not
    r"|(?P<hash>(?<![\w])(?:[0-9a-f]{64}|[0-9a-f]{40}|[0-9a-f]{32})(?!\w))"
    rf"|(?P<domain>(?<![\w@./-])(?:{_LABEL}\.)+[a-z]{{2,63}}(?![\w-]|\.\w|/))",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?]}'\"*_~"
_DEFANG_TYPES = frozenset({"ipv4", "domain", "url", "email", "host"})


@dataclass(frozen=True, order=True)
class Found:
    """An indicator as found: its type (one of TYPES) and normalised value."""

    type: str
    value: str


def extract(text: str) -> list[Found]:
    """The indicators in `text`, each once, in the order they first appear."""
    found: dict[Found, None] = {}
    for match in _FINDER.finditer(refang(_unlink(text))):
        kind = match.lastgroup or ""
        item = _normal(kind, match.group())
        if item is not None:
            found.setdefault(item)
    return list(found)


def from_entities(entities: Mapping[str, Any]) -> list[Found]:
    """An alert's typed entities (`hosts`, `ips`, `accounts`) as indicators."""
    found: dict[Found, None] = {}
    for kind, values in entities.items():
        for value in values if isinstance(values, list) else []:
            item = _entity(kind, str(value).strip())
            if item is not None and _short(item.value):
                found.setdefault(item)
    return list(found)


def refang(text: str) -> str:
    """`hxxp://evil[.]com` as `http://evil.com`."""
    for pattern, replacement in _REFANG:
        text = pattern.sub(replacement, text)
    return text


def defang(kind: str, value: str) -> str:
    """A value safe to show in Slack: no clickable link (`hxxps://evil[.]com`)."""
    if kind not in _DEFANG_TYPES:
        return value
    if value[:4].casefold() == "http":
        value = "hxxp" + value[4:]
    elif value[:4].casefold() == "ftp:":
        value = "fxp" + value[3:]
    return value.replace(".", "[.]").replace("@", "[@]")


def _unlink(text: str) -> str:
    """Slack's link markup as the text people typed: a bare `evil.com` that Slack linked to
    `<http://evil.com|evil.com>` is a domain again; mentions are dropped."""

    def plain(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith(("@", "#", "!")):
            return " "
        if target.casefold().startswith("mailto:"):
            return f" {target[7:]} "
        bare = re.sub(r"^[a-z]+://", "", target, flags=re.IGNORECASE).rstrip("/")
        return f" {label} " if label and label.rstrip("/") == bare else f" {target} "

    return _SLACK_LINK.sub(plain, text)


def _normal(kind: str, raw: str) -> Found | None:
    value = raw.rstrip(_TRAILING) if kind in ("domain", "email") else raw
    if not value or not _short(value):
        return None
    if kind == "url":
        return _url(value)
    if kind == "email":
        local, _, domain = value.rpartition("@")
        return Found("email", f"{local}@{domain.lower()}") if _registrable(domain) else None
    if kind in ("ipv4", "ipv6"):
        return _ip(value)
    if kind == "hash":
        return Found(_HASH_TYPES[len(value)], value.lower())
    return _domain(value)


def _short(value: str) -> bool:
    return len(value.encode()) <= MAX_VALUE


def _url(value: str) -> Found | None:
    value = _balanced(value)
    scheme, _, rest = value.partition("://")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    user, at, host_port = authority.rpartition("@")
    host = re.sub(r":\d*$", "", host_port)
    if not host or not (_registrable(host) or _ip(host.strip("[]"))):
        return None
    where = f"{user}{at}{host_port.lower()}"
    return Found("url", f"{scheme.lower()}://{where}{rest[len(authority) :]}")


def _balanced(url: str) -> str:
    """A URL without the punctuation after it: a `)` only when it closes no `(` of the URL."""
    url = url.rstrip(_TRAILING)
    while url.endswith(")") and url.count("(") < url.count(")"):
        url = url[:-1].rstrip(_TRAILING)
    return url


def _domain(value: str) -> Found | None:
    value = value.lower()
    labels = value.split(".")
    if len(labels) == 2 and labels[1] in _FILE_LIKE:
        return None
    return Found("domain", value) if _registrable(value) else None


@functools.cache
def _suffixes() -> PublicSuffixList:
    """The public suffix list, read on first use (40 ms: not every process start needs it)."""
    return PublicSuffixList(only_icann=True)


def _registrable(domain: str) -> bool:
    return _suffixes().privatesuffix(domain.lower(), accept_unknown=False) is not None


def _ip(value: str) -> Found | None:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:203.0.113.5, as dual-stack logs it
    if mapped is not None:
        return Found("ipv4", mapped.compressed)
    return Found(f"ipv{address.version}", address.compressed)


def _entity(kind: str, value: str) -> Found | None:
    if not value:
        return None
    if kind == "ips":
        return _ip(value)
    if kind == "hosts":
        return Found("host", value.lower())
    return Found("account", value) if kind == "accounts" else None


def source_list(sources: Iterable[dict[str, Any]], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Where an indicator was seen, with a new place: the first MAX_SOURCES places, each once."""
    kept = list(sources)
    return kept if new in kept or len(kept) >= MAX_SOURCES else [*kept, new]
