"""console sign-outs: signing out of the web console ends every session made before it

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-04 13:00:00

The console's session is a signed cookie; `console_signouts` keeps, per person, when they last
signed out, so a cookie made before (copied, or left in another browser) is refused.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_signouts",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("signed_out_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_console_signouts")),
    )


def downgrade() -> None:
    op.drop_table("console_signouts")
