"""What a change asks of Slack (and of the other services bridgekeeper calls), as values: one
small dataclass per kind of effect. Services build them, store/outbox.py enqueues them in the
transaction of the change, effects/deliver.py carries them out.

A target is "bridge" (the incident's channel), "stakeholders", "triage", a channel id or a
user id (a direct message).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


def to_person(target: str) -> bool:
    """Whether a target (or whoever is to be told) is a person's id: a direct message."""
    return target.startswith(("U", "W"))


@dataclass(frozen=True)
class Outgoing:
    KIND: ClassVar[str]

    def payload(self) -> dict[str, Any]:
        """The stored payload: the fields that are set (None and False are left out)."""
        return {k: v for k, v in asdict(self).items() if v is not None and v is not False}


@dataclass(frozen=True)
class CreateChannel(Outgoing):
    """The incident's bridge channel."""

    KIND = "create_channel"


@dataclass(frozen=True)
class Invite(Outgoing):
    """People into the bridge channel."""

    KIND = "invite"
    users: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Topic(Outgoing):
    """The bridge channel's topic, rendered from current state at delivery."""

    KIND = "topic"


@dataclass(frozen=True)
class Post(Outgoing):
    """A new message, rendered when enqueued; `fold`: may be posted together with the messages
    waiting for the same channel (timeline entries)."""

    KIND = "post"
    target: str
    text: str
    fold: bool = False


@dataclass(frozen=True)
class PostCard(Outgoing):
    """A new message showing a card as it stands at delivery (the status card on request)."""

    KIND = "post"
    target: str
    card: str
    owner: int


@dataclass(frozen=True)
class Archive(Outgoing):
    KIND = "archive"


@dataclass(frozen=True)
class Unarchive(Outgoing):
    """The bridge channel of a reopened incident."""

    KIND = "unarchive"


@dataclass(frozen=True)
class UploadFile(Outgoing):
    """A file shared in a channel (files upload v2): a stored report by id, or text."""

    KIND = "upload_file"
    target: str
    filename: str
    title: str
    comment: str = ""
    report_id: int | None = None
    content: str | None = None


@dataclass(frozen=True)
class HomeView(Outgoing):
    """A person's App Home tab, rendered from current state at delivery."""

    KIND = "home"
    user: str


@dataclass(frozen=True)
class TrackerIssue(Outgoing):
    """A follow-up task's issue in the team's tracker (a lane of its own per incident)."""

    KIND = "tracker_issue"
    task: int


@dataclass(frozen=True)
class PagerDutyEvent(Outgoing):
    """A page's event in PagerDuty: trigger, acknowledge or resolve."""

    KIND = "pagerduty_event"
    page: int
    action: str
