"""Reading who is on call from a paging tool: PagerDuty's REST API and GoAlert's GraphQL API.

Each client answers the shifts of one schedule between two moments, people named by e-mail (the
service maps them to Slack users), or raises ScheduleUnreadable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Duty:
    """One person's shift as the tool tells it."""

    name: str
    email: str
    start: datetime
    end: datetime


class ScheduleUnreadable(Exception):
    """The tool did not answer the shifts: `refused` when it turned the token away (a retry will
    not help), else it was down, slow or answered something unexpected."""

    def __init__(self, tool: str, reason: str, *, refused: bool = False) -> None:
        super().__init__(f"{tool}: {reason}")
        self.tool = tool
        self.reason = reason
        self.refused = refused
