"""/slack/events: an X-Slack-Request-Timestamp that is not a whole number of seconds is a
request that cannot be verified: 401, never a 500."""

from __future__ import annotations

import time

import pytest

from tests.conftest import Running

JSON = "application/json"


@pytest.mark.parametrize("stamp", ["1.5e9", "nan", "9" * 400, "{now}.0"])
async def test_a_timestamp_that_is_not_a_whole_number_is_401(running: Running, stamp: str) -> None:
    body = b'{"type": "url_verification", "challenge": "abc"}'
    headers = {
        "Content-Type": JSON,
        "X-Slack-Request-Timestamp": stamp.format(now=int(time.time())),
    }
    headers["X-Slack-Signature"] = running.driver.sign(body)["X-Slack-Signature"]
    reply = await running.driver.raw(body, headers)
    assert reply.status == 401, reply
