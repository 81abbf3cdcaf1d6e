"""Answers a sender never got.

Senders that name no deliveries (Alertmanager, Grafana, Azure Monitor...) resend the same body
while an alert keeps firing: each of those is one more occurrence. They also resend a body when
its answer failed. When bridgekeeper stored a body but the connection was gone before its 202
went out, the sender will retry: that body is remembered here, and the same body from the same
source within `[alerts] retry_seconds` is answered as a redelivery and changes nothing. Only the
first such body is taken for the retry; any later one is an occurrence again.

This is kept in the process: a retry that reaches another replica counts once more.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable

from bridgekeeper.services.alert_rows import Outcome, Result

MAX_REMEMBERED = 10_000


class LostAnswers:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._lost: OrderedDict[str, tuple[float, list[Outcome]]] = OrderedDict()

    @staticmethod
    def key(source: str, body: bytes) -> str:
        return f"{source}:{hashlib.sha256(body).hexdigest()}"

    def remember(self, key: str, outcomes: list[Outcome]) -> None:
        self._lost[key] = (self._clock() + self.seconds, outcomes)
        self._lost.move_to_end(key)
        while len(self._lost) > MAX_REMEMBERED:
            self._lost.popitem(last=False)

    def take(self, key: str) -> list[Outcome] | None:
        """The outcomes of a lost answer this body retries, now redeliveries; None otherwise."""
        until, outcomes = self._lost.pop(key, (0.0, []))
        if until < self._clock():
            return None
        return [Outcome(o.alert_id, Result.DUPLICATE, o.incident) for o in outcomes]
