"""What tests and the sandbox do to the emulated Slack from outside: make calls fail, answer
late, go down and recover, change a method's rate limit, and drive the Socket Mode connection
(send envelopes, wait for acks, drop it, revoke the app-level token)."""

from __future__ import annotations

import secrets

from bridgekeeper.sandbox.faults import DelayRule, FailRule, Faults
from bridgekeeper.sandbox.limits import RateLimiter
from bridgekeeper.sandbox.socket_mode import SocketModeServer
from bridgekeeper.sandbox.state import JsonDict


class Controls:
    """SlackEmulator's controls over its faults, limits and Socket Mode server."""

    faults: Faults
    limiter: RateLimiter
    socket: SocketModeServer
    app_token: str
    revoked_tokens: set[str]

    # faults ---------------------------------------------------------------------------------------

    def fail(
        self,
        method: str | None,
        *,
        status: int = 500,
        times: int = 1,
        retry_after: int = 1,
        error: str | None = None,
        channel: str | None = None,
    ) -> None:
        """The next `times` calls (to `channel` only, when given) fail."""
        rule = FailRule(method, status, times, retry_after, error, channel)
        self.faults.fail_rules.append(rule)

    def delay(self, method: str | None, seconds: float, *, times: int = 1) -> None:
        """The call takes effect at once, but the response is sent `seconds` late."""
        self.faults.delay_rules.append(DelayRule(method, seconds, times))

    def outage(self, status: int = 503) -> None:
        self.faults.outage_status = status

    def recover(self) -> None:
        self.faults.outage_status = None

    def set_rate_limit(self, method: str, per_minute: float, burst: float) -> None:
        """Override the tier of one method (before its first call)."""
        self.limiter.overrides[method] = (per_minute, burst)

    # Socket Mode ----------------------------------------------------------------------------------

    async def socket_send(
        self,
        envelope_type: str,
        payload: JsonDict,
        retry_attempt: int = 0,
        *,
        retry_reason: str = "",
        timeout: float = 5.0,
    ) -> str:
        """Send an envelope to the connected client (waits for a connection); its envelope_id."""
        reason = retry_reason or ("timeout" if retry_attempt else "")
        return await self.socket.send(envelope_type, payload, retry_attempt, reason, timeout)

    async def socket_ack(self, envelope_id: str, timeout: float = 3.0) -> JsonDict:
        return await self.socket.wait_ack(envelope_id, timeout)

    async def socket_disconnect(self, *, graceful: bool = False) -> None:
        await self.socket.disconnect(graceful=graceful)

    async def revoke_app_token(self) -> None:
        """Someone revokes the app-level token: Slack drops the socket and refuses the token."""
        self.revoked_tokens.add(self.app_token)
        self.app_token = "xapp-" + secrets.token_hex(8)
        await self.socket.disconnect(graceful=False)

    async def wait_socket_connected(self, timeout: float = 5.0) -> None:
        await self.socket.wait_connected(timeout)

    @property
    def socket_connections(self) -> int:
        return self.socket.connections
