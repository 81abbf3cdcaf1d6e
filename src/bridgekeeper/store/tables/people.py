"""People's records outside incidents: on-call overrides and console sign-outs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from bridgekeeper.store.tables.base import Base, BigId


class OnCallOverride(Base):
    """Someone on call for a team instead of its rota, for a while. A removed override is kept,
    with who removed it and when."""

    __tablename__ = "oncall_overrides"
    __table_args__ = (Index("ix_oncall_overrides_team_ends_at", "team", "ends_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    removed_by: Mapped[str | None] = mapped_column(String(32))
    removed_at: Mapped[datetime | None]


class ConsoleSignout(Base):
    """When a person last signed out of the web console: every session of theirs made before is
    over, a copied cookie included."""

    __tablename__ = "console_signouts"
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    signed_out_at: Mapped[datetime]
