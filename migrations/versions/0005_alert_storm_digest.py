"""triage cards under a storm: when each alert's card started, and the digest it joined

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 09:00:00

`alerts.carded_at` is when an alert's triage card (its own, or its line in a storm's digest)
was first queued: the cards of the last minute say whether a storm is on. `alerts.digest` names
the digest card an alert went into instead of a card of its own (the id of the digest's first
alert); null for every other alert.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("carded_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("digest", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
    op.create_index("ix_alerts_carded_at", "alerts", ["carded_at"])
    op.create_index("ix_alerts_digest", "alerts", ["digest"])


def downgrade() -> None:
    op.drop_index("ix_alerts_digest", table_name="alerts")
    op.drop_index("ix_alerts_carded_at", table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("digest")
        batch.drop_column("carded_at")
