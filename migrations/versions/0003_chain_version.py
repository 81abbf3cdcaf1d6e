"""incident chain version

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 04:00:00

Existing incidents keep version 1: their timelines were hashed from the shared genesis and go on
verifying under it. Nothing is recomputed. New incidents are declared with version 2, whose chain
starts from a hash of the incident's id and number (bridgekeeper.domain.timeline).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(
            sa.Column("chain_version", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("chain_version")
