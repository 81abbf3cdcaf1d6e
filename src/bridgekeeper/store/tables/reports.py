"""Reports compiled at close, stored in parts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bridgekeeper.store.tables.base import Base, BigId


class Report(Base):
    """An incident's report as compiled at one close: one row per version and format, kept."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("incident_id", "version", "format"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(10))  # md, html, json
    body: Mapped[str] = mapped_column(Text)  # all of it, or its first part (see `text`)
    sha256: Mapped[str] = mapped_column(String(64))  # of the UTF-8 text
    timeline_head: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]  # reserved by its close, or taken over to compile again
    closed_at: Mapped[datetime | None]  # its close's time (None: stored before 0018)
    closed_facts: Mapped[dict[str, Any] | None]  # the incident as closed, to compile from
    parts: Mapped[list[ReportPart]] = relationship(
        lazy="selectin", order_by="ReportPart.number", viewonly=True
    )

    @property
    def text(self) -> str:
        """The whole report: `body`, then the parts a long report continues in, in order."""
        return self.body + "".join(part.body for part in self.parts)


class ReportPart(Base):
    """The rest of a long report, in parts of a few megabytes (its first is `Report.body`):
    written as it is rendered, so no process holds a whole long report at once."""

    __tablename__ = "report_parts"
    __table_args__ = (UniqueConstraint("report_id", "number"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... (0 is Report.body)
    body: Mapped[str] = mapped_column(Text)
