"""clock events: when an incident was classified, found material or fixed, per regulatory clock

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 16:00:00

A notification regime's deadlines count from events besides awareness: DORA's initial
notification from the classification as major, the SEC's Form 8-K from the materiality
determination, the EU CRA's final report from the corrective measure. `events` keeps each such
event's time (ISO 8601) by name; a clock from before has none, its deadlines count from awareness.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification_clocks") as batch:
        batch.add_column(sa.Column("events", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notification_clocks") as batch:
        batch.drop_column("events")
