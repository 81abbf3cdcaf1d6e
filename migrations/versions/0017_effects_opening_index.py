"""effects: an index of the channels still to be created

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 23:50:00

The outbox worker asks on every pass which incidents' bridge channels are still to be created
(their other messages wait for the channel). Answered from the index on status, it read every
pending effect: a failing channel's backlog of thousands, on every pass. This partial index
holds only the pending channel creations.
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


def downgrade() -> None:
    op.drop_index("ix_effects_opening", table_name="effects")
