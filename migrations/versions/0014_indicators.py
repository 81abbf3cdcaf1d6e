"""indicators of compromise: found in notes, pins and alerts, confirmed or dismissed

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 16:00:00

`indicators` holds each indicator of an incident once (by type and value), numbered, with the
first few places it was seen and a responder's decision; the decisions are on the timeline too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "indicators",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("incident_id", BIG_ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_indicators_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicators")),
        sa.UniqueConstraint(
            "incident_id", "type", "value", name=op.f("uq_indicators_incident_id_type_value")
        ),
        sa.UniqueConstraint(
            "incident_id", "number", name=op.f("uq_indicators_incident_id_number")
        ),
    )


def downgrade() -> None:
    op.drop_table("indicators")
