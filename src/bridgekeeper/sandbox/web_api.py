"""How the emulator answers a Web API call, as Slack does: an injected fault first, then an
unknown method, the token (bot or app-level, revoked or wrong), the rate limits when enforced,
and the method itself; every call is recorded."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from bridgekeeper.sandbox import api_chat, api_conversations, api_files, api_misc, api_views
from bridgekeeper.sandbox.faults import FaultAnswer, Faults, ratelimited
from bridgekeeper.sandbox.limits import RateLimiter
from bridgekeeper.sandbox.state import ApiError, Call, JsonDict, Workspace
from bridgekeeper.sandbox.wire import Args

Handler = Callable[[Workspace, Args], JsonDict]

METHODS: dict[str, Handler] = {
    **api_conversations.METHODS,
    **api_chat.METHODS,
    **api_misc.METHODS,
    **api_views.METHODS,
    **api_files.METHODS,
}
NO_TOKEN_METHODS = {"api.test"}
APP_TOKEN_METHODS = {"apps.connections.open"}


@dataclass
class Answer:
    status: int
    body: JsonDict
    headers: dict[str, str] = field(default_factory=dict)


class WebApi:
    """The answering half of SlackEmulator (its state, tokens, faults and limits)."""

    state: Workspace
    faults: Faults
    limiter: RateLimiter
    enforce_rate_limits: bool
    bot_token: str
    app_token: str
    revoked_tokens: set[str]
    bot_scopes: set[str]
    calls: list[Call]
    rate_limit_violations: list[Call]
    clock: Callable[[], float]

    def _answer(self, method: str, args: JsonDict, token: str) -> Answer:
        channel = self._channel_key(args)
        penalty = self.limiter.penalty_left(method, channel)
        answer = self._checked_answer(method, args, token, channel, penalty)
        call = self._record(method, args, answer)
        if answer.status == 429:
            key = self.limiter.key(method, channel) if self.enforce_rate_limits else method
            self.limiter.note_429(key, int(answer.headers.get("Retry-After", "1")))
        if penalty > 0:
            self.rate_limit_violations.append(call)
        return answer

    def _channel_key(self, args: JsonDict) -> str:
        """The channel a call targets, as an id when known (rate limits are per channel id)."""
        ref = str(args.get("channel") or args.get("channel_id") or "")
        if ref in self.state.channels:
            return ref
        found = self.state.channel_by_name(ref.removeprefix("#"))
        return found.id if found is not None else ref

    def _checked_answer(
        self, method: str, args: JsonDict, token: str, channel: str, penalty: float
    ) -> Answer:
        fault = self.faults.take_failure(method, channel)
        if fault is not None:
            return _from_fault(fault)
        handler = METHODS.get(method)
        if handler is None and method not in APP_TOKEN_METHODS:
            return Answer(200, {"ok": False, "error": "unknown_method"})
        auth_error = self._auth_error(method, token)
        if auth_error:
            return Answer(200, {"ok": False, "error": auth_error})
        limited = self._rate_limited(method, channel, penalty)
        if limited is not None:
            return limited
        return self._run(method, handler, args)

    def _auth_error(self, method: str, token: str) -> str | None:
        if method in NO_TOKEN_METHODS:
            return None
        if not token:
            return "not_authed"
        expected = self.app_token if method in APP_TOKEN_METHODS else self.bot_token
        if token == expected:
            return None
        if token in (self.app_token, self.bot_token):
            return "not_allowed_token_type"
        return "token_revoked" if token in self.revoked_tokens else "invalid_auth"

    def _rate_limited(self, method: str, channel: str, penalty: float) -> Answer | None:
        if not self.enforce_rate_limits:
            return None
        retry_after = math.ceil(penalty) if penalty > 0 else self.limiter.take(method, channel)
        return None if retry_after is None else _from_fault(ratelimited(retry_after))

    def _run(self, method: str, handler: Handler | None, args: JsonDict) -> Answer:
        try:
            if handler is None:
                return Answer(200, self._connections_open())
            body = handler(self.state, Args(args))
        except ApiError as exc:
            return Answer(200, exc.body())
        scopes = ",".join(sorted(self.bot_scopes))
        headers = {"x-oauth-scopes": scopes} if method == "auth.test" else {}
        return Answer(200, body, headers)

    def _connections_open(self) -> JsonDict:
        ws_base = self.state.base_url.replace("http://", "ws://", 1)
        ticket = self.state.new_id("")[1:]
        return {"ok": True, "url": f"{ws_base}/link/?ticket={ticket}&app_id={self.state.app_id}"}

    def _record(self, method: str, args: JsonDict, answer: Answer) -> Call:
        ok = bool(answer.body.get("ok"))
        error = None if ok else str(answer.body.get("error") or "")
        call = Call(method, dict(args), answer.status, ok, error, self.clock())
        self.calls.append(call)
        return call


def _from_fault(fault: FaultAnswer) -> Answer:
    return Answer(fault.status, fault.body, fault.headers)
