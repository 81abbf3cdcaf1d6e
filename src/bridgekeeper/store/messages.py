"""Messages the bot posted that it updates later (cards), by key: a card is posted once and
then edited in place."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Table, bindparam, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.models import SlackMessage

_MESSAGES: Table = SlackMessage.__table__  # type: ignore[assignment]
_POSTED = select(_MESSAGES.c.id).where(_MESSAGES.c.key == bindparam("key"))
_NEW_MESSAGE = insert(_MESSAGES)


async def posted(session: AsyncSession, *, key: str) -> SlackMessage | None:
    return await session.scalar(select(SlackMessage).where(SlackMessage.key == key))


async def posted_channels(session: AsyncSession, *, key: str) -> dict[str, str]:
    """The channels a card of this key was posted in, one message each (the key, or the key
    and a channel after `@`), and each message's key."""
    query = select(SlackMessage.channel_id, SlackMessage.key).where(
        or_(SlackMessage.key == key, SlackMessage.key.startswith(f"{key}@", autoescape=True))
    )
    return {channel: found for channel, found in (await session.execute(query)).all()}


def remember(conn: Connection, *, key: str, channel: str, ts: str, now: datetime) -> None:
    """Keep where a card was posted, once (Core statements, in a transaction shared with other
    deliveries' bookkeeping: cards are posted in bursts, during alert storms)."""
    if conn.scalar(_POSTED, {"key": key}) is None:
        conn.execute(_NEW_MESSAGE, {"key": key, "channel_id": channel, "ts": ts, "posted_at": now})
