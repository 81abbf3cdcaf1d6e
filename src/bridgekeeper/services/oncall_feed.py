"""A team's shifts as an iCalendar feed (RFC 5545), one event per shift, built with `icalendar`.

Event ids are stable for the same shift, so a calendar that refreshes the feed updates the events
it has rather than adding copies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bridgekeeper.domain.oncall import Shift, Team
from bridgekeeper.rendering import Renderer

if TYPE_CHECKING:
    import icalendar

PRODUCT = "-//bridgekeeper//on-call rota//EN"


def calendar(
    team: Team,
    found: Sequence[Shift],
    *,
    names: Mapping[str, str],
    renderer: Renderer,
    now: datetime,
) -> bytes:
    import icalendar  # imported when a feed is asked for: several MiB a process would hold idle

    feed = icalendar.Calendar()
    feed.add("prodid", PRODUCT)
    feed.add("version", "2.0")
    feed.add("x-wr-calname", renderer.text("calendar/feed_name.txt.j2", team=team.name).strip())
    feed.add("x-wr-timezone", str(team.zone))
    for shift in found:
        feed.add_component(_event(team, shift, names, renderer, now))
    return feed.to_ical()


def _event(
    team: Team, shift: Shift, names: Mapping[str, str], renderer: Renderer, now: datetime
) -> icalendar.Event:
    import icalendar

    event = icalendar.Event()
    key = f"{team.name}|{shift.layer}|{shift.user}|{shift.start.isoformat()}"
    event.add("uid", hashlib.sha256(key.encode()).hexdigest()[:32] + "@bridgekeeper")
    event.add("dtstamp", now)
    event.add("dtstart", shift.start)
    event.add("dtend", shift.end)
    person = names.get(shift.user, shift.user)
    summary = renderer.text(
        "calendar/shift_summary.txt.j2", team=team.name, person=person, layer=shift.layer
    )
    event.add("summary", summary.strip())
    event.add("categories", [shift.layer])
    return event
