"""The incidents list's filters and paging, read from a query string (the page's form and the
API take the same names): status, severity, source, q, from, to (YYYY-MM-DD, both days
included), page, per_page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bridgekeeper.domain.incidents import Severity
from bridgekeeper.domain.text import is_digits
from bridgekeeper.store.incident_search import IncidentFilter

PER_PAGE = 25
PER_PAGE_MAX = 100
STATUSES = ("open", "closed")
TEXT_MAX = 200


@dataclass(frozen=True)
class ListQuery:
    wanted: IncidentFilter
    page: int = 1
    per_page: int = PER_PAGE
    given: dict[str, str] = field(default_factory=dict)  # the valid values, to show and link
    wrong: tuple[str, ...] = ()  # the names whose values were not understood


def _day(text: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
    except ValueError:
        return None


def _end_of(day: datetime) -> datetime | None:
    """When `day` ends; None, no bound, for the calendar's last."""
    return day + timedelta(days=1) if day.date() < date.max else None


def _count(text: str, default: int, most: int) -> int | None:
    if not text:
        return default
    return int(text) if is_digits(text) and 0 < len(text) < 7 and 1 <= int(text) <= most else None


def read(query: Mapping[str, str]) -> ListQuery:
    given: dict[str, str] = {}
    wrong: list[str] = []

    def take(name: str, ok: bool) -> str | None:
        value = query.get(name, "").strip()
        if not value:
            return None
        if not ok:
            wrong.append(name)
            return None
        given[name] = value
        return value

    status = take("status", query.get("status", "").strip() in STATUSES)
    severity = take("severity", query.get("severity", "").strip() in {s.value for s in Severity})
    source = take("source", len(query.get("source", "")) <= 40)
    text = take("q", len(query.get("q", "")) <= TEXT_MAX)
    since_text = take("from", _day(query.get("from", "").strip()) is not None)
    until_text = take("to", _day(query.get("to", "").strip()) is not None)
    until = _day(until_text) if until_text else None
    page = _count(query.get("page", "").strip(), 1, 10**6)
    per_page = _count(query.get("per_page", "").strip(), PER_PAGE, PER_PAGE_MAX)
    wrong += [n for n, v in (("page", page), ("per_page", per_page)) if v is None]
    wanted = IncidentFilter(
        status=status,
        severity=severity,
        source=source,
        text=text,
        since=_day(since_text) if since_text else None,
        until=_end_of(until) if until else None,
    )
    return ListQuery(wanted, page or 1, per_page or PER_PAGE, given, tuple(wrong))
