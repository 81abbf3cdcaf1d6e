"""indexes for long queues and long incidents: the channels still to be created, a card's
pending renders, an incident's latest entry of a kind

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 23:50:00

The outbox worker asks on every pass which incidents' bridge channels are still to be created
(their messages elsewhere wait for the channel), and each card it delivers asks for the card's
renders due. Both were answered from the index on status: every pending effect was read, a
failing channel's backlog of thousands, on every pass and for every card. A partial index holds
only the pending channel creations; a card's effects are indexed by status and due time.

Moving an incident's update reminder (on a severity change, a new role, a close) looks for its
latest stakeholder update: read backwards through the whole timeline when there was none
recently, 0.2 s on an incident of 200,000 entries, in the change's transaction. Entries are
indexed by kind within their incident.

On PostgreSQL the indexes are built CONCURRENTLY, outside the migration's transaction: writes
go on while they are built (the upgrade holds a session advisory lock, so replicas upgrading at
once still take turns).
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPENING = sa.text("status = 'pending' AND kind = 'create_channel'")


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        # Built without blocking writes to tables a long-running team has made large; CREATE
        # INDEX CONCURRENTLY cannot run in a transaction.
        with op.get_context().autocommit_block():
            _build(concurrently=True)
    else:
        _build(concurrently=False)


def _build(*, concurrently: bool) -> None:
    opening = ["kind", "status", "incident_id"]
    _index("ix_effects_opening", "effects", opening, concurrently, where=OPENING)
    op.drop_index(
        "ix_effects_card_key",
        table_name="effects",
        if_exists=True,
        postgresql_concurrently=concurrently,
    )
    card = ["card_key", "status", "next_attempt_at"]
    _index("ix_effects_card", "effects", card, concurrently)
    entries = ["incident_id", "kind", "seq"]
    _index("ix_timeline_entries_kind", "timeline_entries", entries, concurrently)


def _index(
    name: str, table: str, columns: list[str], concurrently: bool, where: Any = None
) -> None:
    if concurrently:  # an interrupted build leaves an invalid index behind: build it again
        op.drop_index(name, table_name=table, if_exists=True, postgresql_concurrently=True)
    op.create_index(
        name,
        table,
        columns,
        sqlite_where=where,
        postgresql_where=where,
        postgresql_concurrently=concurrently,
    )


def downgrade() -> None:
    op.drop_index("ix_timeline_entries_kind", table_name="timeline_entries")
    op.drop_index("ix_effects_card", table_name="effects")
    op.create_index("ix_effects_card_key", "effects", ["card_key"])
    op.drop_index("ix_effects_opening", table_name="effects")
