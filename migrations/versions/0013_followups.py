"""follow-ups: tasks marked as follow-ups become issues in the team's tracker

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 14:00:00

`tasks.followup` marks a task as a follow-up. `followups` holds its issue: the row is written
before the tracker is called (with the marker label the issue is found again by), then its key
and link, and the state the tracker's webhook or poll last reported.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(
            sa.Column("followup", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "followups",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("task_id", BIG_ID, nullable=False),
        sa.Column("incident_id", BIG_ID, nullable=False),
        sa.Column("tracker", sa.String(length=20), nullable=False),
        sa.Column("marker", sa.String(length=80), nullable=False),
        sa.Column("called", sa.Boolean(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=80), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_followups_task_id_tasks")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_followups_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followups")),
        sa.UniqueConstraint("task_id", name=op.f("uq_followups_task_id")),
        sa.UniqueConstraint("marker", name=op.f("uq_followups_marker")),
    )
    op.create_index(op.f("ix_followups_incident_id"), "followups", ["incident_id"])
    op.create_index(op.f("ix_followups_key"), "followups", ["key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_followups_key"), table_name="followups")
    op.drop_index(op.f("ix_followups_incident_id"), table_name="followups")
    op.drop_table("followups")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("followup")
