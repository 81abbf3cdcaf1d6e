"""report parts: a long report is stored in parts as it is rendered

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 12:00:00

`reports.body` keeps a report whole when it is short, and holds the first part of a long one;
`report_parts` holds the rest, numbered from 1, so closing an incident with a long timeline
never holds a whole report in memory.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_parts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "report_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_parts_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_parts")),
        sa.UniqueConstraint("report_id", "number", name=op.f("uq_report_parts_report_id_number")),
    )


def downgrade() -> None:
    op.drop_table("report_parts")
