"""/slack/events: a body that is not the JSON or form it says it is gets a 4xx, signed or not,
never a 500 (and no traceback in the logs for anyone who can reach the port)."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import Running

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", JSON),
        (b"[1, 2]", JSON),
        (b'"a string"', JSON),
        (b"payload=%7Bnot-json", FORM),
        (b"payload=%5B1%5D", FORM),
        (b'{"a":' * 3000 + b"1" + b"}" * 3000, JSON),
    ],
    ids=["not-json", "array", "string", "payload-not-json", "payload-array", "deep"],
)
async def test_a_malformed_body_is_a_4xx_signed_or_not(
    running: Running, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    caplog.set_level(logging.ERROR)
    unsigned = await running.driver.raw(body, {"Content-Type": content_type})
    assert 400 <= unsigned.status < 500, unsigned
    signed = await running.driver.raw(
        body, {"Content-Type": content_type, **running.driver.sign(body)}
    )
    assert 400 <= signed.status < 500, signed
    assert "Traceback" not in caplog.text


async def test_slacks_ssl_check_which_slack_does_not_sign_is_answered(running: Running) -> None:
    reply = await running.driver.raw(b"ssl_check=1&token=xyz", {"Content-Type": FORM})
    assert reply.status == 200
    forged = b"ssl_check=1&command=%2Fincident&text=declare+x"  # a command riding along
    assert (await running.driver.raw(forged, {"Content-Type": FORM})).status == 401
