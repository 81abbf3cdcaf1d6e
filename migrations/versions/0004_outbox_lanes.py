"""outbox lanes, lane claims and the shared Slack rate limits

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 06:30:00

Effects are delivered in order per lane (a channel, or one message) instead of per incident, so
a lane that keeps failing holds up nobody else. Pending effects get their lane here; done ones
keep an empty lane. `outbox_lanes` holds which replica is delivering a lane (a lease, taken over
when it runs out); `slack_rate_buckets` holds the workspace's Slack rate-limit buckets, shared
by every replica.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("effects") as batch:
        batch.add_column(
            sa.Column("lane", sa.String(length=160), server_default=sa.text("''"), nullable=False)
        )
    op.execute(
        "UPDATE effects SET lane = CASE"
        " WHEN incident_id IS NOT NULL THEN 'bridge:' || CAST(incident_id AS VARCHAR(20))"
        " WHEN card_key IS NOT NULL THEN 'card:' || card_key"
        " ELSE 'effect:' || CAST(id AS VARCHAR(20)) END"
        " WHERE status = 'pending'"
    )
    op.create_index("ix_effects_lane", "effects", ["status", "lane", "id"])
    op.create_table(
        "outbox_lanes",
        sa.Column("lane", sa.String(length=160), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lane", name=op.f("pk_outbox_lanes")),
    )
    op.create_table(
        "slack_rate_buckets",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("held_until", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_slack_rate_buckets")),
    )


def downgrade() -> None:
    op.drop_table("slack_rate_buckets")
    op.drop_table("outbox_lanes")
    op.drop_index("ix_effects_lane", table_name="effects")
    with op.batch_alter_table("effects") as batch:
        batch.drop_column("lane")
