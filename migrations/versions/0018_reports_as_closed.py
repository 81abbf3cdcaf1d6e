"""reports as closed: each version keeps when its close was and the incident as closed

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 05:30:00

A close reserves its report's version and compiles it afterwards; a compile that fails, or whose
process stopped, is done again later, when the incident may have been reopened or changed. The
version keeps the incident's facts as closed (`closed_facts`) to be compiled from, and the time of
its close (`closed_at`), which a takeover does not change. Rows from before have neither.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_facts", sa.JSON(), nullable=True))


def downgrade() -> None:
    # SQLite drops a column in place (3.35 and later): copying the table, as batch mode does by
    # default, is refused while report_parts refers to it.
    with op.batch_alter_table("reports", recreate="never") as batch:
        batch.drop_column("closed_facts")
        batch.drop_column("closed_at")
