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
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPENING = sa.text("status = 'pending' AND kind = 'create_channel'")


def upgrade() -> None:
    op.create_index(
        "ix_effects_opening",
        "effects",
        ["kind", "status", "incident_id"],
        sqlite_where=OPENING,
        postgresql_where=OPENING,
    )
    op.drop_index("ix_effects_card_key", table_name="effects")
    op.create_index("ix_effects_card", "effects", ["card_key", "status", "next_attempt_at"])
    op.create_index("ix_timeline_entries_kind", "timeline_entries", ["incident_id", "kind", "seq"])


def downgrade() -> None:
    op.drop_index("ix_timeline_entries_kind", table_name="timeline_entries")
    op.drop_index("ix_effects_card", table_name="effects")
    op.create_index("ix_effects_card_key", "effects", ["card_key"])
    op.drop_index("ix_effects_opening", table_name="effects")
