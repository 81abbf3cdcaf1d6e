"""Downloading a file shared in Slack to hash it: a stream, never the whole file in memory.

Slack's file objects carry no SHA-256, so the bytes are fetched from `url_private_download` with
the bot token (scope files:read), only from Slack's own file host, outside any transaction. Slack
answers a request it does not accept with a redirect to its sign-in page, so a redirect, like
any other answer but 200, means the file could not be fetched.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import aiohttp

from bridgekeeper.slack.gateway import SlackGateway
from bridgekeeper.slack.urls import on_slack

CHUNK = 1 << 16


@dataclass(frozen=True)
class Hashed:
    sha256: str | None
    unhashed: str | None = None  # why not: "too_big" or "unreachable"


def is_slack_file_url(url: str, api_url: str) -> bool:
    """Whether `url` is on the Slack the bot talks to (its API host, or files.<that host>), so
    the bot token may be sent there."""
    return on_slack(url, api_url, "files")


async def sha256_of(gateway: SlackGateway, url: str, *, size: int, max_bytes: int) -> Hashed:
    """The SHA-256 of a shared file's bytes, or why there is none."""
    if size > max_bytes:
        return Hashed(None, "too_big")
    if not url or not is_slack_file_url(url, gateway.client.base_url):
        return Hashed(None, "unreachable")
    headers = {"Authorization": f"Bearer {gateway.client.token}"}
    timeout = aiohttp.ClientTimeout(total=None, sock_read=gateway.timeout)
    digest, seen = hashlib.sha256(), 0
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, headers=headers, allow_redirects=False) as response,
        ):
            if response.status != 200:
                return Hashed(None, "unreachable")
            async for chunk in response.content.iter_chunked(CHUNK):
                seen += len(chunk)
                if seen > max_bytes:
                    return Hashed(None, "too_big")
                digest.update(chunk)
    except (TimeoutError, aiohttp.ClientError):
        return Hashed(None, "unreachable")
    if size and seen != size:  # not the file: Slack answers 200 with its sign-in page to a
        return Hashed(None, "unreachable")  # token without files:read
    return Hashed(digest.hexdigest())
