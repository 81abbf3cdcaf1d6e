"""Alert bodies resent byte for byte are parsed once for all their repeats, unless what they
say depends on when they are received."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridgekeeper.domain.alerts.model import Alert
from bridgekeeper.domain.alerts.parse import parse
from bridgekeeper.web.parsed_bodies import MAX_BYTES, ParsedBodies
from tests.examples import example

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Reader:
    """Parses an Alertmanager body, counting the readings."""

    def __init__(self, payload: object) -> None:
        self.payload = payload
        self.readings = 0

    def __call__(self, received_at: datetime) -> list[Alert]:
        self.readings += 1
        return parse("alertmanager", self.payload, received_at=received_at)


def firing() -> dict[str, object]:
    return example("alertmanager_firing.json")  # its alerts have their own status and start


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_storm_of_one_body_is_parsed_on_its_first_two_sightings_only() -> None:
    bodies, reader = ParsedBodies(), Reader(firing())
    seen = [bodies.alerts("alertmanager:a", 900, at(n), reader) for n in range(50)]
    assert reader.readings == 3  # once, then now and at the end of time, then never
    assert all(alerts == seen[0] for alerts in seen) and seen[0][0].status == "firing"


def test_distinct_bodies_are_parsed_once_each() -> None:
    bodies, reader = ParsedBodies(), Reader(firing())
    for n in range(20):
        bodies.alerts(f"alertmanager:{n}", 900, at(n), reader)
    assert reader.readings == 20


def test_a_body_that_leaves_its_start_out_is_read_anew_each_time() -> None:
    """Its alerts start when it is received: each sighting says something else."""
    payload = firing()
    for item in payload["alerts"]:  # type: ignore[attr-defined]
        del item["startsAt"]
    bodies, reader = ParsedBodies(), Reader(payload)
    starts = [bodies.alerts("alertmanager:b", 900, at(n), reader)[0].started_at for n in range(5)]
    assert starts == [at(n) for n in range(5)]


def test_a_body_whose_alert_ends_later_resolves_once_that_time_has_passed() -> None:
    """No status of its own and an `endsAt` ahead: firing until then, resolved after."""
    payload = firing()
    for item in payload["alerts"]:  # type: ignore[attr-defined]
        del item["status"]
        item["endsAt"] = at(10).isoformat()
    payload["status"] = "firing"
    bodies, reader = ParsedBodies(), Reader(payload)
    statuses = [bodies.alerts("alertmanager:c", 900, at(n), reader)[0].status for n in range(15)]
    assert statuses == ["firing"] * 10 + ["resolved"] * 5


def test_a_body_kept_is_read_again_if_the_clock_went_back() -> None:
    bodies, reader = ParsedBodies(), Reader(firing())
    for n in range(3):
        bodies.alerts("alertmanager:d", 900, at(60 + n), reader)
    assert reader.readings == 3
    bodies.alerts("alertmanager:d", 900, at(0), reader)
    assert reader.readings == 4


def test_large_bodies_are_not_kept() -> None:
    bodies, reader = ParsedBodies(), Reader(firing())
    for n in range(4):
        bodies.alerts("alertmanager:large", MAX_BYTES + 1, at(n), reader)
    assert reader.readings == 4


def test_only_the_bodies_seen_last_are_kept() -> None:
    bodies, reader = ParsedBodies(size=2), Reader(firing())
    for _ in range(3):
        bodies.alerts("x", 900, T0, reader)
    assert reader.readings == 3  # kept
    bodies.alerts("y", 900, T0, reader)
    bodies.alerts("x", 900, T0, reader)
    assert reader.readings == 4  # still kept
    bodies.alerts("y", 900, T0, reader)
    bodies.alerts("z", 900, T0, reader)  # two seen since x: x is let go
    readings = reader.readings
    bodies.alerts("x", 900, T0, reader)
    assert reader.readings == readings + 1
