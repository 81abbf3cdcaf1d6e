"""What closing an incident takes: the close form's values and the gate that refuses a close,
naming what is missing."""

from __future__ import annotations

from dataclasses import dataclass

FIELD_MAX = 3000
FOLLOW_UP_SLOTS = 3
# Clock states that are a decision (services/regulatory.py); anything else is still open.
DECIDED_CLOCKS = frozenset(
    {"notified", "done", "sent", "not_required", "none", "decided", "withdrawn"}
)


@dataclass(frozen=True)
class FollowUp:
    owner: str | None
    text: str


@dataclass(frozen=True)
class CloseForm:
    """What the close form (or `/incident close <summary>`) gives; None: not recorded."""

    summary: str | None
    root_cause: str | None = None
    went_well: str | None = None
    to_improve: str | None = None
    disposition: str | None = None
    follow_ups: tuple[FollowUp, ...] = ()
    to_tracker: bool = False  # the follow-ups become issues in the configured tracker

    def value(self, name: str) -> object:
        return self.follow_ups if name == "follow_ups" else getattr(self, name)


@dataclass(frozen=True)
class Gate:
    """Why an incident cannot close yet: required fields left empty, undecided clocks."""

    missing: tuple[str, ...] = ()
    undecided: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.missing or self.undecided)


def has_details(form: CloseForm) -> bool:
    return any(
        (form.root_cause, form.went_well, form.to_improve, form.disposition, form.follow_ups)
    )
