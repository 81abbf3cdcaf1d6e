"""on-call overrides: someone on call for a team instead of its rota, for a while

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-04 14:00:00

`oncall_overrides` holds the overrides set with `/incident oncall override`; a removed one is
kept with who removed it and when.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oncall_overrides",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("team", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_by", sa.String(length=32), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_overrides")),
    )
    op.create_index(
        "ix_oncall_overrides_team_ends_at", "oncall_overrides", ["team", "ends_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_oncall_overrides_team_ends_at", table_name="oncall_overrides")
    op.drop_table("oncall_overrides")
