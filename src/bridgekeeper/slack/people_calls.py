"""Look-ups of people and channels in Slack (users.info, users.list, users.lookupByEmail,
conversations.info, conversations.members, usergroups.users.list), answered through the
gateway's one call path."""

from __future__ import annotations

from typing import Any

from bridgekeeper.domain.text import MENTION
from bridgekeeper.errors import SlackError


class PeopleCalls:
    """The gateway's look-ups; `call` is the gateway's single call path."""

    async def call(self, method: str, **args: Any) -> dict[str, Any]:
        raise NotImplementedError

    async def is_person(self, user: str) -> bool:
        """Whether `user` is an active person: not deactivated, nor a bot or app."""
        try:
            data = (await self.call("users.info", user=user)).get("user", {})
        except SlackError as exc:
            if exc.error in ("user_not_found", "user_not_visible"):
                return False
            raise
        bot = data.get("is_bot") or data.get("is_app_user") or user == "USLACKBOT"
        return not (data.get("deleted") or bot)

    async def user_name(self, user: str) -> str:
        """The name people know a user by (display name, else real name, else handle)."""
        try:
            data = (await self.call("users.info", user=user)).get("user", {})
        except SlackError:
            return user
        profile = data.get("profile") or {}
        return str(
            profile.get("display_name") or profile.get("real_name") or data.get("name") or user
        )

    async def names_for(self, markup: str) -> str:
        """Each person mentioned (<@U…>) as @name, for text Slack shows as typed (a form's
        errors)."""
        names = {user: await self.user_name(user) for user in set(MENTION.findall(markup))}
        return MENTION.sub(lambda m: "@" + names[m[1]], markup)

    async def user_time_zone(self, user: str) -> str | None:
        """The user's time zone name (users.info `tz`), or None when Slack will not say."""
        try:
            data = (await self.call("users.info", user=user)).get("user", {})
        except SlackError:
            return None
        return str(data["tz"]) if data.get("tz") else None

    async def channel_name(self, channel: str) -> str:
        """A channel's name (without '#'), or its id when Slack will not say."""
        try:
            data = (await self.call("conversations.info", channel=channel)).get("channel", {})
        except SlackError:
            return channel
        return str(data.get("name") or channel)

    async def find_user(self, name: str) -> str | None:
        """A user id from a handle or display name typed as plain @name (Slack leaves a
        mention as typed when it cannot tell who is meant): the one whose handle it is, else
        the one person going by it; None when nobody, or several, do."""
        wanted = name.lstrip("@").lower()
        handles: list[str] = []
        named: list[str] = []
        cursor = ""
        while True:
            data = await self.call("users.list", limit=200, cursor=cursor)
            for member in data.get("members", []):
                if member.get("deleted"):
                    continue
                profile = member.get("profile") or {}
                names = {profile.get("display_name"), profile.get("real_name")}
                if str(member.get("name") or "").lower() == wanted:
                    handles.append(str(member["id"]))
                elif wanted in {str(n).lower() for n in names if n}:
                    named.append(str(member["id"]))
            cursor = data.get("response_metadata", {}).get("next_cursor", "")
            if not cursor:
                found = handles or named
                return found[0] if len(found) == 1 else None

    async def user_by_email(self, email: str) -> str | None:
        """The user with this e-mail (users.lookupByEmail); None: nobody, or Slack will not say."""
        try:
            data = await self.call("users.lookupByEmail", email=email)
        except SlackError:
            return None
        user = data.get("user") or {}
        return None if user.get("deleted") else str(user.get("id") or "") or None

    async def usergroup_members(self, group: str) -> list[str]:
        data = await self.call("usergroups.users.list", usergroup=group)
        return [str(u) for u in data.get("users", [])]

    async def channel_members(self, channel: str) -> list[str]:
        """Everyone in a channel (conversations.members, every page)."""
        found: list[str] = []
        cursor = ""
        while True:
            data = await self.call(
                "conversations.members", channel=channel, limit=200, cursor=cursor
            )
            found.extend(str(u) for u in data.get("members", []))
            cursor = data.get("response_metadata", {}).get("next_cursor", "")
            if not cursor:
                return found
