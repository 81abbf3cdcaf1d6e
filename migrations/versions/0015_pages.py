"""pages: a team's on-call or a person paged for an incident, and its escalation

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 15:30:00

One row per page: its target (a team or a user), the level of the escalation policy it has
reached, everyone paged so far, who acknowledged it and when, and the dedup key PagerDuty's
events carry. Escalations are scheduled jobs (`page-escalation:<id>`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pages",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("incident_id", BIG_ID, nullable=False),
        sa.Column("team", sa.String(length=40), nullable=True),
        sa.Column("user_id", sa.String(length=40), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("paged", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acked_by", sa.String(length=40), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dedup_key", sa.String(length=80), nullable=False),
        sa.Column("pagerduty", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_pages_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pages")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_pages_dedup_key")),
    )
    op.create_index(op.f("ix_pages_incident_id"), "pages", ["incident_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_pages_incident_id"), table_name="pages")
    op.drop_table("pages")
