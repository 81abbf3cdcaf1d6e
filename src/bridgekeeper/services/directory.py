"""What services need to know about Slack's users and groups, behind a narrow interface."""

from __future__ import annotations

from typing import Any, Protocol


class Directory(Protocol):
    async def user_exists(self, user: str) -> bool: ...

    async def find_user(self, name: str) -> str | None: ...

    async def usergroup_members(self, group: str) -> list[str]: ...

    async def channel_members(self, channel: str) -> list[str]: ...

    async def message(self, channel: str, ts: str) -> dict[str, Any] | None: ...
