"""The emulator's files upload v2: a file is the bytes its declared length covers."""

from __future__ import annotations

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bridgekeeper.sandbox import SlackEmulator
from tests.sandbox.test_emulator import client as client  # fixtures
from tests.sandbox.test_emulator import clock as clock
from tests.sandbox.test_emulator import emulator as emulator


async def test_an_upload_is_the_length_it_declared(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    """A length counted in characters, not bytes, cuts a non-ASCII file short."""
    channel_id = (await client.conversations_create(name="inc-13"))["channel"]["id"]
    for text, length in (("café ☕", len("café ☕")), ("déjà ✅", len("déjà ✅".encode()))):
        ticket = await client.files_getUploadURLExternal(filename="note.txt", length=length)
        async with aiohttp.ClientSession() as http:
            await http.post(ticket["upload_url"], data=text.encode())
        files = [{"id": ticket["file_id"], "title": "Note"}]
        await client.files_completeUploadExternal(files=files, channel_id=channel_id)
    short, whole = emulator.files
    assert short.content == "café ☕".encode()[: len("café ☕")] != "café ☕".encode()
    assert whole.content.decode() == "déjà ✅"
