"""Alert webhook bodies parsed once for their byte-identical repeats.

Alertmanager, Grafana and Azure Monitor send the same bytes again while an alert keeps firing:
in a storm almost every request is one of a few bodies. What a body's alerts say depends on
when it is received only where the body leaves something out (a missing start time is the time
it was received) or through a moment that passes once (Alertmanager: an alert whose `endsAt`
has passed is resolved). So a body whose alerts read the same received now and at the end of
time reads the same whenever it comes again from now on: its alerts are kept, and its repeats
are not parsed again. The end-of-time reading is made the second time a body comes: distinct
bodies cost one parse each, as without this. Kept: the `size` bodies seen most recently, each
of at most MAX_BYTES (a whole group of alerts is parsed each time: memory stays bounded).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime

from bridgekeeper.domain.alerts.model import Alert

Read = Callable[[datetime], list[Alert]]
END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)
SEEN, VARIES = "seen once", "varies with time"  # bodies whose alerts are not kept
SIZE = 256
MAX_BYTES = 16 * 1024


class ParsedBodies:
    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._bodies: OrderedDict[str, tuple[datetime, list[Alert]] | str] = OrderedDict()

    def alerts(self, key: str, size: int, received_at: datetime, read: Read) -> list[Alert]:
        """The alerts of the body named `key` (its source and digest), of `size` bytes,
        received at `received_at`; `read` parses it, when it must be parsed."""
        if size > MAX_BYTES:
            return read(received_at)
        known = self._bodies.get(key)
        if isinstance(known, tuple) and received_at >= known[0]:
            self._bodies.move_to_end(key)
            return known[1]
        alerts = read(received_at)
        if known == SEEN:
            same_forever = read(END_OF_TIME) == alerts
            self._keep(key, (received_at, alerts) if same_forever else VARIES)
        elif known is None:
            self._keep(key, SEEN)
        return alerts

    def _keep(self, key: str, value: tuple[datetime, list[Alert]] | str) -> None:
        self._bodies[key] = value
        self._bodies.move_to_end(key)
        while len(self._bodies) > self.size:
            self._bodies.popitem(last=False)
