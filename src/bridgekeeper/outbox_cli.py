"""`bridgekeeper outbox list|retry`: what the outbox set aside, and putting it back."""

from __future__ import annotations

import argparse
import sys

from bridgekeeper.clock import SystemClock
from bridgekeeper.config import Settings
from bridgekeeper.rendering import Renderer
from bridgekeeper.store import outbox
from bridgekeeper.store.db import Database


async def outbox_command(settings: Settings, args: argparse.Namespace) -> int:
    """Exit status 0, or 2 when `retry` does not name its deliveries in exactly one way (ids
    with --all would have retried the ids alone)."""
    renderer = Renderer()
    if args.outbox_command == "retry" and sum((bool(args.ids), bool(args.lane), args.all)) != 1:
        print(renderer.text("cli/outbox_retry_usage.txt.j2").strip(), file=sys.stderr)
        return 2
    db = Database(settings.database_url, settings.database)
    try:
        await db.check_schema()
        if args.outbox_command == "list":
            async with db.sessions() as session:
                parked = await outbox.parked(session)
                pending = await outbox.pending_by_lane(session)
            print(renderer.text("cli/outbox_list.txt.j2", parked=parked, pending=pending).strip())
            return 0
        async with db.transaction() as session:
            count = await outbox.retry(
                session, now=SystemClock().now(), effect_ids=args.ids, lane=args.lane
            )
        print(renderer.text("cli/outbox_retried.txt.j2", count=count).strip())
        return 0
    finally:
        await db.dispose()
