"""What services need to know about Slack's users and groups, behind a narrow interface."""

from __future__ import annotations

from typing import Any, Protocol

from bridgekeeper.domain.commands import UserRef


class Directory(Protocol):
    async def is_person(self, user: str) -> bool: ...

    async def find_user(self, name: str) -> str | None: ...

    async def user_by_email(self, email: str) -> str | None: ...

    async def user_time_zone(self, user: str) -> str | None: ...

    async def usergroup_members(self, group: str) -> list[str]: ...

    async def channel_members(self, channel: str) -> list[str]: ...

    async def message(self, channel: str, ts: str) -> dict[str, Any] | None: ...


async def named_person(directory: Directory, ref: UserRef) -> str | None:
    """The Slack user a command or form names (an id, else a name), if it is an active person:
    not a deactivated account, nor a bot or app, bridgekeeper included."""
    user = ref.id if ref.id else await directory.find_user(ref.name or "")
    return user if user and await directory.is_person(user) else None
