"""SlackEmulator driven through slack_sdk's real AsyncWebClient."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bridgekeeper.sandbox import SlackEmulator


class FakeClock:
    def __init__(self, now: float = 1_712_345_678.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def emulator(clock: FakeClock) -> AsyncIterator[SlackEmulator]:
    emu = SlackEmulator(clock=clock)
    emu.add_user("U1", "alice", email="alice@example.com")
    emu.add_user("U2", "bob", email="bob@example.com")
    emu.add_user("UGONE", "gone", deleted=True)
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
def client(emulator: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url, timeout=5)


async def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return str(caught.value.response["error"])


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


# auth and plumbing ----------------------------------------------------------------------------


async def test_auth_test_reports_bot_identity_and_scopes(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    response = await client.auth_test()
    assert response["user_id"] == "UBOT"
    assert response["team_id"] == "T0BRIDGE"
    assert response["bot_id"] == emulator.bot_id
    assert "chat:write" in response.headers["x-oauth-scopes"]
    assert emulator.calls_to("auth.test")[0].args == {}


async def test_bad_or_missing_token_and_unknown_method(emulator: SlackEmulator) -> None:
    bad = AsyncWebClient(token="xoxb-wrong", base_url=emulator.api_url)
    assert await error_of(bad.auth_test()) == "invalid_auth"
    anonymous = AsyncWebClient(base_url=emulator.api_url)
    assert await error_of(anonymous.conversations_list()) == "not_authed"
    good = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url)
    assert await error_of(good.api_call("nope.nothing")) == "unknown_method"
    assert (await anonymous.api_test(foo="bar"))["args"] == {"foo": "bar"}


# conversations --------------------------------------------------------------------------------


async def test_create_channel_and_name_rules(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    created = await client.conversations_create(name="inc-42_db", is_private=True)
    channel = created["channel"]
    assert channel["name"] == "inc-42_db" and channel["is_private"] and channel["is_member"]
    stored = emulator.channels[channel["id"]]
    assert stored.creator == "UBOT" and stored.members == {"UBOT"}
    assert await error_of(client.conversations_create(name="inc-42_db")) == "name_taken"
    await client.conversations_archive(channel=channel["id"])
    assert await error_of(client.conversations_create(name="inc-42_db")) == "name_taken"
    assert await error_of(client.conversations_create(name="Inc 42")) == "invalid_name_specials"
    assert await error_of(client.conversations_create(name="x" * 81)) == "invalid_name_maxlength"
    assert await error_of(client.conversations_create(name="")) == "invalid_name_required"
    assert emulator.emitted_events[0]["type"] == "member_joined_channel"


async def test_invite_errors(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    channel_id = (await client.conversations_create(name="inc-1"))["channel"]["id"]
    await client.conversations_invite(channel=channel_id, users=["U1", "U2"])
    assert emulator.channels[channel_id].members == {"UBOT", "U1", "U2"}
    invite = client.conversations_invite
    assert await error_of(invite(channel=channel_id, users="U1")) == "already_in_channel"
    assert await error_of(invite(channel=channel_id, users="UNOPE")) == "user_not_found"
    assert await error_of(invite(channel=channel_id, users="UGONE")) == "user_not_found"
    assert await error_of(invite(channel=channel_id, users="UBOT")) == "cant_invite_self"
    assert await error_of(invite(channel="CNOPE", users="U1")) == "channel_not_found"
    foreign = emulator.add_channel("triage", members=["U1"])
    assert await error_of(invite(channel=foreign, users="U2")) == "not_in_channel"
    await client.conversations_archive(channel=channel_id)
    assert await error_of(invite(channel=channel_id, users="U2")) == "is_archived"


async def test_topic_purpose_join_list_and_paging(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    triage = emulator.add_channel("triage")
    await client.conversations_join(channel=triage)
    await client.conversations_setTopic(channel=triage, topic="SEV1 open")
    await client.conversations_setPurpose(channel=triage, purpose="triage")
    info = await client.conversations_info(channel=triage)
    assert info["channel"]["topic"]["value"] == "SEV1 open"
    too_long = client.conversations_setTopic(channel=triage, topic="x" * 251)
    assert await error_of(too_long) == "too_long"
    for number in range(5):
        await client.conversations_create(name=f"inc-{number}")
    first = await client.conversations_list(limit=4, exclude_archived=True)
    cursor = first["response_metadata"]["next_cursor"]
    second = await client.conversations_list(limit=4, cursor=cursor)
    names = [c["name"] for c in first["channels"] + second["channels"]]
    assert len(names) == 6 and second["response_metadata"]["next_cursor"] == ""
    private = emulator.add_channel("secret", is_private=True)
    assert await error_of(client.conversations_info(channel=private)) == "channel_not_found"


# chat -----------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")  # on purpose
async def test_post_message_validation(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    public = emulator.add_channel("stakeholders")
    posted = await client.chat_postMessage(channel=public, text="hi")  # chat:write.public
    assert posted["ts"].count(".") == 1 and len(posted["ts"].split(".")[1]) == 6
    by_name = await client.chat_postMessage(channel="#stakeholders", text="again")
    assert by_name["channel"] == public and by_name["ts"] > posted["ts"]
    private = emulator.add_channel("secret", is_private=True, members=["U1"])
    post = client.chat_postMessage
    assert await error_of(post(channel=private, text="x")) == "not_in_channel"
    assert await error_of(post(channel="CNOPE", text="x")) == "channel_not_found"
    assert await error_of(post(channel=public)) == "no_text"
    too_many = [section(str(n)) for n in range(51)]
    assert await error_of(post(channel=public, text="x", blocks=too_many)) == "invalid_blocks"
    long_section = [section("x" * 3001)]
    assert await error_of(post(channel=public, text="x", blocks=long_section)) == "invalid_blocks"
    header = [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]
    assert await error_of(post(channel=public, text="x", blocks=header)) == "invalid_blocks"
    button = {"type": "button", "text": {"type": "plain_text", "text": "b" * 76}, "action_id": "a"}
    actions = [{"type": "actions", "elements": [button]}]
    assert await error_of(post(channel=public, text="x", blocks=actions)) == "invalid_blocks"
    fields = [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}]
    assert await error_of(post(channel=public, text="x", blocks=fields)) == "invalid_blocks"
    assert len(emulator.messages(public)) == 2


async def test_metadata_history_and_archived(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    channel_id = (await client.conversations_create(name="inc-7"))["channel"]["id"]
    metadata = {"event_type": "incident_opened", "event_payload": {"id": 7}}
    for number in range(3):
        await client.chat_postMessage(channel=channel_id, text=f"m{number}", metadata=metadata)
    plain = await client.conversations_history(channel=channel_id, limit=2)
    assert [m["text"] for m in plain["messages"]] == ["m2", "m1"] and plain["has_more"]
    assert "metadata" not in plain["messages"][0]
    full = await client.conversations_history(channel=channel_id, include_all_metadata=True)
    assert full["messages"][0]["metadata"] == metadata
    assert emulator.messages(channel_id)[0].metadata == metadata
    await client.conversations_archive(channel=channel_id)
    assert await error_of(client.chat_postMessage(channel=channel_id, text="x")) == "is_archived"
    archive = client.conversations_archive(channel=channel_id)
    assert await error_of(archive) == "already_archived"


async def test_update_keeps_history_and_checks_owner(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    channel_id = (await client.conversations_create(name="inc-8"))["channel"]["id"]
    ts = (await client.chat_postMessage(channel=channel_id, text="v1"))["ts"]
    await client.chat_update(channel=channel_id, ts=ts, text="v2")
    await client.chat_update(channel=channel_id, ts=ts, text="v3", blocks=[section("v3")])
    message = emulator.messages(channel_id)[0]
    assert message.text == "v3" and [text for text, _ in message.edits] == ["v2", "v3"]
    update = client.chat_update
    assert await error_of(update(channel=channel_id, ts="1.000001", text="x")) == (
        "message_not_found"
    )
    human = emulator.post_user_message(channel_id, "U1", "mine")
    assert await error_of(update(channel=channel_id, ts=human.ts, text="x")) == (
        "cant_update_message"
    )
    await client.chat_delete(channel=channel_id, ts=ts)
    assert emulator.messages(channel_id)[0].deleted


async def test_ephemeral_permalink_reactions_bookmarks(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    channel_id = (await client.conversations_create(name="inc-9"))["channel"]["id"]
    await client.conversations_invite(channel=channel_id, users="U1")
    await client.chat_postEphemeral(channel=channel_id, user="U1", text="only you")
    assert emulator.ephemerals[0].user == "U1"
    eph = client.chat_postEphemeral(channel=channel_id, user="U2", text="x")
    assert await error_of(eph) == "user_not_in_channel"
    ts = (await client.chat_postMessage(channel=channel_id, text="m"))["ts"]
    link = await client.chat_getPermalink(channel=channel_id, message_ts=ts)
    assert link["permalink"].endswith(f"/archives/{channel_id}/p{ts.replace('.', '')}")
    await client.reactions_add(channel=channel_id, name="eyes", timestamp=ts)
    react = client.reactions_add(channel=channel_id, name="eyes", timestamp=ts)
    assert await error_of(react) == "already_reacted"
    added = await client.bookmarks_add(
        channel_id=channel_id, title="Runbook", type="link", link="https://runbook"
    )
    assert added["bookmark"]["id"].startswith("Bk")
    bad = client.bookmarks_add(channel_id=channel_id, title="x", type="link", link="ftp://x")
    assert await error_of(bad) == "invalid_link"
    assert len((await client.bookmarks_list(channel_id=channel_id))["bookmarks"]) == 1


async def test_pins(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    channel_id = (await client.conversations_create(name="inc-10"))["channel"]["id"]
    ts = (await client.chat_postMessage(channel=channel_id, text="summary"))["ts"]
    await client.pins_add(channel=channel_id, timestamp=ts)
    assert emulator.channels[channel_id].pins == [ts]
    assert emulator.emitted_events[-1]["type"] == "pin_added"
    pin = client.pins_add
    assert await error_of(pin(channel=channel_id, timestamp=ts)) == "already_pinned"
    assert await error_of(pin(channel=channel_id, timestamp="9.000009")) == "message_not_found"
    assert await error_of(pin(channel=channel_id)) == "no_item_specified"
    listed = await client.pins_list(channel=channel_id)
    assert listed["items"][0]["message"]["ts"] == ts
    await client.pins_remove(channel=channel_id, timestamp=ts)
    assert emulator.channels[channel_id].pins == []


async def test_users_and_usergroups(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    emulator.add_usergroup("S1", "oncall", ["U1", "U2"])
    assert (await client.users_info(user="U1"))["user"]["profile"]["email"] == "alice@example.com"
    found = await client.users_lookupByEmail(email="bob@example.com")
    assert found["user"]["id"] == "U2"
    lookup = client.users_lookupByEmail(email="nobody@example.com")
    assert await error_of(lookup) == "users_not_found"
    assert await error_of(client.users_info(user="UX")) == "user_not_found"
    assert (await client.usergroups_users_list(usergroup="S1"))["users"] == ["U1", "U2"]
    groups = await client.usergroups_list(include_users=True)
    assert groups["usergroups"][0]["handle"] == "oncall"
    assert len((await client.users_list())["members"]) == 4


# views and triggers ---------------------------------------------------------------------------


def modal(title: str = "Declare", blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "declare",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Go"},
        "blocks": blocks if blocks is not None else [section("hello")],
    }


async def test_trigger_expires_and_is_single_use(
    emulator: SlackEmulator, client: AsyncWebClient, clock: FakeClock
) -> None:
    trigger = emulator.new_trigger_id("U1")
    opened = await client.views_open(trigger_id=trigger, view=modal())
    view_id = opened["view"]["id"]
    assert emulator.views[view_id].user == "U1" and emulator.views[view_id].trigger_id == trigger
    again = client.views_open(trigger_id=trigger, view=modal())
    assert await error_of(again) == "exchanged_trigger_id"
    late = emulator.new_trigger_id("U1")
    clock.advance(3.5)
    assert await error_of(client.views_open(trigger_id=late, view=modal())) == (
        "expired_trigger_id"
    )
    bogus = client.views_open(trigger_id="1.2.nope", view=modal())
    assert await error_of(bogus) == "invalid_trigger_id"


async def test_view_validation_update_push(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    long_title = client.views_open(trigger_id=emulator.new_trigger_id(), view=modal("t" * 25))
    assert await error_of(long_title) == "invalid_arguments"
    too_many = modal(blocks=[section(str(n)) for n in range(101)])
    too_big = client.views_open(trigger_id=emulator.new_trigger_id(), view=too_many)
    assert await error_of(too_big) == "invalid_arguments"
    opened = await client.views_open(trigger_id=emulator.new_trigger_id("U1"), view=modal())
    view = opened["view"]
    stale = client.views_update(view_id=view["id"], hash="0.stale", view=modal())
    assert await error_of(stale) == "hash_conflict"
    await client.views_update(view_id=view["id"], hash=view["hash"], view=modal("Updated"))
    assert emulator.views[view["id"]].view["title"]["text"] == "Updated"
    for _ in range(2):
        await client.views_push(trigger_id=emulator.new_trigger_id("U1"), view=modal())
    push = client.views_push(trigger_id=emulator.new_trigger_id("U1"), view=modal())
    assert await error_of(push) == "push_limit_reached"
    home = {"type": "home", "blocks": [section("home")]}
    published = await client.views_publish(user_id="U1", view=home)
    assert emulator.views[published["view"]["id"]].source == "publish"


# response_url ---------------------------------------------------------------------------------


async def test_response_url_accepts_five_posts_within_thirty_minutes(
    emulator: SlackEmulator, clock: FakeClock
) -> None:
    channel_id = emulator.add_channel("triage", members=["U1"])
    url = emulator.new_response_url(channel=channel_id, user="U1")
    hook = AsyncWebhookClient(url)
    first = await hook.send(text="working on it")
    assert first.status_code == 200 and first.body == "ok"
    assert emulator.ephemerals[-1].text == "working on it"
    await hook.send(text="declared", response_type="in_channel")
    assert emulator.messages(channel_id)[-1].text == "declared"
    for _ in range(3):
        assert (await hook.send(text="more")).status_code == 200
    assert (await hook.send(text="sixth")).status_code == 404
    assert len(emulator.response_posts) == 6
    assert emulator.response_posts[0].body["text"] == "working on it"
    expired = AsyncWebhookClient(emulator.new_response_url(channel=channel_id, user="U1"))
    clock.advance(30 * 60 + 1)
    assert (await expired.send(text="late")).status_code == 404


async def test_response_url_replace_and_delete_original(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    channel_id = (await client.conversations_create(name="inc-11"))["channel"]["id"]
    ts = (await client.chat_postMessage(channel=channel_id, text="Ack?"))["ts"]
    url = emulator.new_response_url(channel=channel_id, user="U1", message_ts=ts, kind="actions")
    hook = AsyncWebhookClient(url)
    await hook.send(text="Acked by alice", replace_original=True)
    assert emulator.messages(channel_id)[0].text == "Acked by alice"
    await hook.send(delete_original=True)
    assert emulator.messages(channel_id)[0].deleted


# files ----------------------------------------------------------------------------------------


async def test_files_upload_v2_end_to_end(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    channel_id = (await client.conversations_create(name="inc-12"))["channel"]["id"]
    response = await client.files_upload_v2(
        channel=channel_id,
        content="timeline\n09:00 paged\n",
        filename="timeline.txt",
        title="Timeline",
        initial_comment="Postmortem timeline",
    )
    assert response["file"]["title"] == "Timeline"
    stored = emulator.files[0]
    assert stored.content == b"timeline\n09:00 paged\n" and stored.channels == [channel_id]
    message = emulator.messages(channel_id)[-1]
    assert message.text == "Postmortem timeline" and message.files[0]["id"] == stored.id


# faults ---------------------------------------------------------------------------------------


async def test_injected_429_is_seen_and_retried_by_the_sdk(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    emulator.fail("chat.postMessage", status=429, retry_after=7)
    channel_id = emulator.add_channel("triage")
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=channel_id, text="x")
    assert caught.value.response.status_code == 429
    assert caught.value.response["error"] == "ratelimited"
    assert caught.value.response.headers["Retry-After"] == "7"
    await client.chat_postMessage(channel=channel_id, text="x")  # within Retry-After: hammering
    assert len(emulator.rate_limit_violations) == 1

    emulator.fail("chat.postMessage", status=429, retry_after=0)
    retrying = AsyncWebClient(
        token=emulator.bot_token,
        base_url=emulator.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert (await retrying.chat_postMessage(channel=channel_id, text="y"))["ok"]


async def test_server_errors_outage_and_error_codes(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    emulator.fail(None, status=500)
    with pytest.raises(SlackApiError) as caught:
        await client.auth_test()
    assert caught.value.response.status_code == 500
    assert (await client.auth_test())["ok"]
    emulator.outage()
    for _ in range(2):
        with pytest.raises(SlackApiError) as outage:
            await client.conversations_list()
        assert outage.value.response.status_code == 503
    emulator.recover()
    assert (await client.conversations_list())["ok"]
    emulator.fail("conversations.create", error="restricted_action", times=2)
    assert await error_of(client.conversations_create(name="a")) == "restricted_action"
    assert await error_of(client.conversations_create(name="b")) == "restricted_action"
    assert (await client.conversations_create(name="c"))["ok"]
    assert [c.http_status for c in emulator.calls[:2]] == [500, 200]


async def test_delay_provokes_client_timeout(emulator: SlackEmulator) -> None:
    emulator.delay("chat.postMessage", 0.5)
    channel_id = emulator.add_channel("triage")
    impatient = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url)
    impatient.timeout = 0.1  # type: ignore[assignment]
    with pytest.raises(asyncio.TimeoutError):
        await impatient.chat_postMessage(channel=channel_id, text="slow")
    assert len(emulator.messages(channel_id)) == 1  # it still reached "Slack"


async def test_rate_limit_enforcement_and_violations(clock: FakeClock) -> None:
    emulator = SlackEmulator(clock=clock, enforce_rate_limits=True, rate_limit_scale=60)
    await emulator.start()
    try:
        client = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url)
        channel_id = emulator.add_channel("triage")
        for _ in range(3):  # the per-channel burst
            await client.chat_postMessage(channel=channel_id, text="x")
        with pytest.raises(SlackApiError) as caught:
            await client.chat_postMessage(channel=channel_id, text="x")
        assert caught.value.response.status_code == 429
        assert int(caught.value.response.headers["Retry-After"]) >= 1
        assert emulator.rate_limit_violations == []
        other = emulator.add_channel("other")
        assert (await client.chat_postMessage(channel=other, text="x"))["ok"]  # own bucket
        assert await error_of(client.chat_postMessage(channel=channel_id, text="x")) == (
            "ratelimited"
        )
        assert len(emulator.rate_limit_violations) == 1
        clock.advance(1.0)  # Retry-After honoured; the bucket refilled (scale 60)
        assert (await client.chat_postMessage(channel=channel_id, text="x"))["ok"]
        assert len(emulator.rate_limit_violations) == 1
    finally:
        await emulator.stop()


async def test_direct_messages_and_event_listeners(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    seen: list[dict[str, Any]] = []

    async def listener(event: dict[str, Any]) -> None:
        seen.append(event)

    emulator.add_event_listener(listener)
    posted = await client.chat_postMessage(channel="U1", text="you are on call")
    dm = emulator.channels[posted["channel"]]
    assert dm.is_im and dm.members == {"UBOT", "U1"}
    opened = await client.conversations_open(users="U1")
    assert opened["channel"]["id"] == dm.id
    await client.conversations_create(name="inc-14")
    await asyncio.sleep(0.01)
    assert [event["type"] for event in seen] == ["member_joined_channel"]


# safety ---------------------------------------------------------------------------------------


async def test_unsafe_mentions(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    channel_id = (await client.conversations_create(name="inc-13"))["channel"]["id"]
    await client.chat_postMessage(channel=channel_id, text="safe &lt;!channel&gt;")
    await client.chat_postMessage(channel=channel_id, text="x", blocks=[section("<!here> boom")])
    await client.conversations_setTopic(channel=channel_id, topic="<!subteam^S1> paged")
    flagged = emulator.unsafe_mentions()
    assert [m.subtype for m in flagged] == [None, "channel_topic"]


# Socket Mode ----------------------------------------------------------------------------------


async def test_socket_mode_hello_envelope_ack_and_reconnect(emulator: SlackEmulator) -> None:
    client = AsyncWebClient(base_url=emulator.api_url)
    bot_token = client.apps_connections_open(app_token=emulator.bot_token)
    assert await error_of(bot_token) == "not_allowed_token_type"
    url = (await client.apps_connections_open(app_token=emulator.app_token))["url"]
    assert url.startswith("ws://127.0.0.1:")
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as socket:
        assert (await socket.receive_json(timeout=2))["type"] == "hello"
        sending = asyncio.create_task(
            emulator.socket_send("events_api", {"event": {"type": "app_mention"}}, 1)
        )
        envelope = await socket.receive_json(timeout=2)
        envelope_id = await sending
        assert envelope["envelope_id"] == envelope_id and envelope["retry_attempt"] == 1
        assert envelope["accepts_response_payload"] is False
        await socket.send_str(json.dumps({"envelope_id": envelope_id}))
        assert await emulator.socket_ack(envelope_id) == {"envelope_id": envelope_id}
        await emulator.socket_disconnect()
        closed = await socket.receive(timeout=2)
        assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert emulator.socket_connections == 1


async def test_socket_mode_with_slack_sdk_client(emulator: SlackEmulator) -> None:
    from slack_sdk.socket_mode.aiohttp import SocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest
    from slack_sdk.socket_mode.response import SocketModeResponse

    web = AsyncWebClient(base_url=emulator.api_url)
    socket_client = SocketModeClient(app_token=emulator.app_token, web_client=web)

    async def ack(client: Any, request: SocketModeRequest) -> None:
        response = SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "ok"})
        await client.send_socket_mode_response(response)

    socket_client.socket_mode_request_listeners.append(ack)
    await socket_client.connect()
    try:
        payload = {"command": "/incident", "text": "declare"}
        envelope_id = await emulator.socket_send("slash_commands", payload)
        acked = await emulator.socket_ack(envelope_id)
        assert acked["payload"] == {"text": "ok"}
        await emulator.socket_disconnect(graceful=True)
        await asyncio.sleep(0)
        second = await emulator.socket_send("slash_commands", payload, timeout=5)
        assert (await emulator.socket_ack(second))["envelope_id"] == second
        assert len(emulator.calls_to("apps.connections.open")) == 2
    finally:
        await socket_client.close()


async def test_edits_emit_message_changed_like_slack(
    emulator: SlackEmulator, client: AsyncWebClient, clock: FakeClock
) -> None:
    channel_id = (await client.conversations_create(name="inc-11"))["channel"]["id"]
    ts = (await client.chat_postMessage(channel=channel_id, text="draft"))["ts"]
    clock.advance(30)
    await client.chat_update(channel=channel_id, ts=ts, text="final")
    event = emulator.emitted_events[-1]
    assert event["type"] == "message" and event["subtype"] == "message_changed"
    assert event["hidden"] is True and event["channel"] == channel_id
    assert event["channel_type"] == "channel"
    assert event["message"]["text"] == "final" and event["previous_message"]["text"] == "draft"
    assert event["message"]["ts"] == ts and event["message"]["edited"]["ts"] == event["ts"]
    assert float(event["ts"]) - float(ts) > 29  # the edit's own time

    said = emulator.post_user_message(channel_id, "U1", "the attacker is 203.0.113.7")
    clock.advance(60)
    edit = emulator.edit_user_message(channel_id, said.ts, "the attacker is 203.0.113.9")
    assert edit is emulator.emitted_events[-1]
    assert edit["message"]["user"] == "U1" and edit["message"]["edited"]["user"] == "U1"
    assert edit["previous_message"]["text"] == "the attacker is 203.0.113.7"
    history = await client.conversations_history(
        channel=channel_id, latest=said.ts, inclusive=True, limit=1
    )
    [message] = history["messages"]
    assert message["text"] == "the attacker is 203.0.113.9"
    assert message["edited"] == {"user": "U1", "ts": edit["ts"]}


# -- Slack's limits on options and edits (FACTS.md section 7) --------------------------------------
def select_form(options: list[dict[str, Any]]) -> dict[str, Any]:
    element = {"type": "static_select", "action_id": "value", "options": options}
    block = {"type": "input", "block_id": "pick", "label": _plain("Pick"), "element": element}
    return modal(blocks=[block])


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text), "value": value}


@pytest.mark.parametrize(
    "options",
    [
        [option("t" * 76, "a")],
        [option("ok", "v" * 151)],
        [option(str(n), str(n)) for n in range(101)],
    ],
    ids=["option text 76", "option value 151", "101 options"],
)
async def test_views_open_refuses_options_past_slacks_limits(
    emulator: SlackEmulator,
    client: AsyncWebClient,
    options: list[dict[str, Any]],
) -> None:
    opened = client.views_open(trigger_id=emulator.new_trigger_id("U1"), view=select_form(options))
    assert await error_of(opened) == "invalid_arguments"


async def test_chat_update_refuses_text_over_4000_characters(
    emulator: SlackEmulator,
    client: AsyncWebClient,
) -> None:
    channel = (await client.conversations_create(name="inc-1"))["channel"]["id"]
    ts = (await client.chat_postMessage(channel=channel, text="v1"))["ts"]
    update = client.chat_update(channel=channel, ts=ts, text="x" * 4001, blocks=[section("v2")])
    assert await error_of(update) == "msg_too_long"
