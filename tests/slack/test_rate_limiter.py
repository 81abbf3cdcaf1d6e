"""The rate limiter's arithmetic, on a clock the test moves: bursts, refill, holds."""

from __future__ import annotations

import pytest

from bridgekeeper.errors import SlackRetryable
from bridgekeeper.slack.limits import Limit, bucket_key, limit_for
from bridgekeeper.slack.rate_limiter import HEADROOM, MemoryBuckets, RateLimiter

SECOND = 1 / HEADROOM  # one a second, with the limiter's headroom under Slack's rate


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limiter(clock: Clock) -> RateLimiter:
    return RateLimiter(MemoryBuckets(clock), sleep=clock.sleep)


def test_the_table_is_slacks() -> None:
    assert limit_for("chat.postMessage") == Limit(60, 3)
    assert limit_for("conversations.create") == Limit(20, 20)
    assert limit_for("chat.update") == Limit(50, 50)  # Tier 3, as is any method not listed
    assert limit_for("views.open") == Limit(100, 100)
    assert bucket_key("chat.postMessage", "C1") == "chat.postMessage#C1"
    assert bucket_key("pins.add", "C1") == "pins.add"


async def test_a_channel_gets_three_posts_at_once_then_one_a_second(
    limiter: RateLimiter, clock: Clock
) -> None:
    for _ in range(5):
        await limiter.acquire("chat.postMessage", "C1")
    assert clock.slept == pytest.approx([SECOND, SECOND])
    await limiter.acquire("chat.postMessage", "C2")  # another channel: its own bucket
    assert clock.slept == pytest.approx([SECOND, SECOND])


async def test_an_idle_bucket_refills_up_to_its_burst(limiter: RateLimiter, clock: Clock) -> None:
    for _ in range(3):
        await limiter.acquire("chat.postMessage", "C1")
    clock.now += 60
    for _ in range(3):
        await limiter.acquire("chat.postMessage", "C1")
    assert clock.slept == []
    await limiter.acquire("chat.postMessage", "C1")
    assert clock.slept == pytest.approx([SECOND])


async def test_a_hold_lets_nothing_through_then_one_call(
    limiter: RateLimiter, clock: Clock
) -> None:
    await limiter.hold("pins.add", "C1", 5)
    await limiter.acquire("pins.add", "C2")
    assert clock.slept == pytest.approx([5.0])
    await limiter.acquire("pins.add", "C3")  # then Tier 2's pace: one every 3 seconds
    assert clock.slept == pytest.approx([5.0, 3 * SECOND])


async def test_a_hold_longer_than_the_caller_waits_is_refused(
    limiter: RateLimiter, clock: Clock
) -> None:
    await limiter.hold("chat.update", "", 120)
    with pytest.raises(SlackRetryable) as refused:
        await limiter.acquire("chat.update")
    assert refused.value.error == "ratelimited"
    assert refused.value.retry_after == pytest.approx(120)
    assert clock.slept == []
