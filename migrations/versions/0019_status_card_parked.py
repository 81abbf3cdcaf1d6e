"""the incident says whether its status card's latest render was parked

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 23:30:00

Every timeline entry asked the outbox whether the incident's status card had a parked render with
nothing queued after it (a card left out of date, drawn again by the next change): a query in
each note's transaction. The incident row, read and locked by that transaction anyway, now says
so. Incidents whose card is out of date at the upgrade are marked from the outbox.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUT_OF_DATE = sa.text(
    """
    UPDATE incidents SET status_card_parked = :parked
    WHERE EXISTS (
        SELECT 1 FROM effects AS parked
        WHERE parked.card_key = 'status:' || CAST(incidents.id AS VARCHAR(20))
          AND parked.status = 'parked'
          AND NOT EXISTS (
              SELECT 1 FROM effects AS later
              WHERE later.card_key = parked.card_key AND later.id > parked.id
          )
    )
    """
).bindparams(parked=True)


def upgrade() -> None:
    # added in place on both databases (copying the table is refused on SQLite while other
    # tables refer to it)
    op.add_column(
        "incidents",
        sa.Column("status_card_parked", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(OUT_OF_DATE)


def downgrade() -> None:
    # dropped in place too (SQLite 3.35 and later)
    with op.batch_alter_table("incidents", recreate="never") as batch:
        batch.drop_column("status_card_parked")
