"""The emulator's Web API answered in the test's process (sandbox/in_process.py): what a method
receives and what the caller gets back are what they would be over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.slack.gateway import SlackGateway, SlackRetryable

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*disk* full on db-01"}}]


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    emu = SlackEmulator()
    emu.add_user("U1", "alice", email="alice@example.com")
    await emu.start()
    yield emu
    await emu.stop()


def clients(emulator: SlackEmulator) -> tuple[AsyncWebClient, AsyncWebClient]:
    over_http = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url, timeout=5)
    return over_http, emulator.web_client(emulator.bot_token, timeout=5)


async def test_each_way_of_sending_arguments_reaches_the_method_as_over_http(
    emulator: SlackEmulator,
) -> None:
    """A JSON body (chat.postMessage), a query (users.info, with a boolean the SDK sends as 1;
    conversations.history, with an empty cursor) and a form (conversations.setTopic): recorded
    alike, answered alike."""
    channel = emulator.add_channel("inc-1", members=["UBOT"])
    answers = []
    for client in clients(emulator):
        posted = await client.chat_postMessage(channel=channel, text="disk full", blocks=BLOCKS)
        user = await client.users_info(user="U1", include_locale=True)
        history = await client.api_call(
            "conversations.history", http_verb="GET", params={"channel": channel, "cursor": ""}
        )
        topic = await client.api_call(
            "conversations.setTopic", data={"channel": channel, "topic": "SEV1"}
        )
        answers.append((posted["message"]["blocks"], user.data, topic["channel"]["topic"]))
        assert history["ok"]
    over_http, in_process = answers
    assert in_process == over_http
    calls = [(call.method, call.args) for call in emulator.calls]
    assert calls[4:] == calls[:4]
    assert calls[1][1] == {"user": "U1", "include_locale": "1"}  # text, as a query carries it
    assert calls[2][1] == {"channel": channel, "cursor": ""}


async def test_an_answer_shares_nothing_with_the_emulator(emulator: SlackEmulator) -> None:
    client = emulator.web_client(emulator.bot_token)
    channel = (await client.conversations_create(name="inc-1"))["channel"]["id"]
    posted = await client.chat_postMessage(channel=channel, text="first", blocks=BLOCKS)
    posted["message"]["blocks"][0]["text"]["text"] = "changed by the caller"
    assert json.dumps(emulator.messages(channel)[0].blocks) == json.dumps(BLOCKS)


async def test_errors_rate_limits_and_a_stopped_emulator_reach_the_gateway_as_over_http(
    emulator: SlackEmulator,
) -> None:
    gateway = SlackGateway(
        token=emulator.bot_token,
        api_url=emulator.api_url,
        attempts=1,
        client=emulator.web_client(emulator.bot_token),
    )
    with pytest.raises(SlackApiError) as refused:
        await gateway.client.chat_postMessage(channel="CNOSUCH", text="x")
    assert refused.value.response["error"] == "channel_not_found"
    emulator.fail("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackRetryable) as limited:
        await gateway.call("chat.postMessage", channel="CNOSUCH", text="x")
    assert limited.value.retry_after == 7.0  # Retry-After, read as Slack's header
    await emulator.stop()
    with pytest.raises(SlackRetryable) as down:
        await gateway.call("auth.test")
    assert down.value.error.startswith("network")
    await gateway.close()


async def test_an_answer_later_than_the_timeout_is_lost_but_the_call_took_effect(
    emulator: SlackEmulator,
) -> None:
    client = emulator.web_client(emulator.bot_token, timeout=1)
    emulator.delay("conversations.create", 3)
    with pytest.raises(TimeoutError):
        await client.conversations_create(name="inc-late")
    assert emulator.channel_by_name("inc-late") is not None
