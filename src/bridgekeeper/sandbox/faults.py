"""Injected faults: failing calls, late responses, whole outages."""

from __future__ import annotations

from dataclasses import dataclass, field

from bridgekeeper.sandbox.state import JsonDict

SERVER_ERRORS = {500: "internal_error", 502: "bad_gateway", 503: "service_unavailable"}


@dataclass
class FailRule:
    method: str | None
    status: int
    times: int
    retry_after: int
    error: str | None
    channel: str | None = None  # only calls to this channel (an id) fail


@dataclass
class DelayRule:
    method: str | None
    seconds: float
    times: int


@dataclass
class FaultAnswer:
    status: int
    body: JsonDict
    headers: dict[str, str] = field(default_factory=dict)


def _matches(rule_method: str | None, method: str) -> bool:
    return rule_method is None or rule_method == method


class Faults:
    def __init__(self) -> None:
        self.fail_rules: list[FailRule] = []
        self.delay_rules: list[DelayRule] = []
        self.outage_status: int | None = None

    def take_failure(self, method: str, channel: str = "") -> FaultAnswer | None:
        if self.outage_status is not None:
            return error_answer(self.outage_status, retry_after=1, error=None)
        for rule in self.fail_rules:
            elsewhere = rule.channel is not None and rule.channel != channel
            if _matches(rule.method, method) and rule.times > 0 and not elsewhere:
                rule.times -= 1
                self.fail_rules = [r for r in self.fail_rules if r.times > 0]
                return error_answer(rule.status, retry_after=rule.retry_after, error=rule.error)
        return None

    def take_delay(self, method: str) -> float:
        for rule in self.delay_rules:
            if _matches(rule.method, method) and rule.times > 0:
                rule.times -= 1
                self.delay_rules = [r for r in self.delay_rules if r.times > 0]
                return rule.seconds
        return 0.0


def error_answer(status: int, *, retry_after: int, error: str | None) -> FaultAnswer:
    if error is not None:
        return FaultAnswer(200, {"ok": False, "error": error})
    if status == 429:
        return ratelimited(retry_after)
    code = SERVER_ERRORS.get(status, "fatal_error" if status >= 500 else "request_error")
    return FaultAnswer(status, {"ok": False, "error": code})


def ratelimited(retry_after: int) -> FaultAnswer:
    return FaultAnswer(
        429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
    )
