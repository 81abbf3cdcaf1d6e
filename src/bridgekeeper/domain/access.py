"""Who may see and change an incident: the rules, with no I/O.

A private incident does not exist for anyone outside it: the answer is the same as for a number
that does not exist. Its members are the people in its bridge channel and the incident managers.
Addressed by number from outside its bridge channel it is hidden even from them (an answer read
in a public place leaks). Privileged actions are allowed to the roles named in `[permissions]`
(default: commander, deputy, incident managers); every other action needs membership of a
private incident and nothing for a public one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# Actions that change who leads the incident or what the outside world is told.
PRIVILEGED_ACTIONS: tuple[str, ...] = (
    "severity",
    "close",
    "reopen",
    "role",
    "update",
    "notify",
    "snooze",
    "oncall",  # on-call overrides: no incident, so only managers or anyone apply
)
# Actions open to every member of a private incident (to anyone for a public one).
MEMBER_ACTIONS: tuple[str, ...] = ("read", "note", "task", "stage", "impact", "pin", "link")
MANAGERS = "managers"
ANYONE = "anyone"


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    HIDDEN = "hidden"  # answered exactly like an incident that does not exist
    DENIED = "denied"  # the user is told who may do it


@dataclass(frozen=True)
class Asker:
    """What is known of the person asking, for one incident."""

    member: bool  # in the bridge channel, or an incident manager
    manager: bool
    roles: frozenset[str]  # the roles they hold on this incident


@dataclass(frozen=True)
class Request:
    action: str
    private: bool
    addressed_from_outside: bool = False  # by number, from outside its bridge channel
    claims_vacant_command: bool = False  # `role commander @me` while nobody holds it


def verdict(request: Request, asker: Asker, allowed: tuple[str, ...]) -> Verdict:
    if request.private and (request.addressed_from_outside or not asker.member):
        return Verdict.HIDDEN
    if request.action not in PRIVILEGED_ACTIONS:
        return Verdict.ALLOWED
    if may(asker, allowed) or request.claims_vacant_command:
        return Verdict.ALLOWED
    return Verdict.DENIED


def may(asker: Asker, allowed: tuple[str, ...]) -> bool:
    """Whether the asker is one of those `allowed` (role names, "managers", "anyone")."""
    if ANYONE in allowed or asker.roles.intersection(allowed):
        return True
    return asker.manager and MANAGERS in allowed


def who_may(allowed: tuple[str, ...]) -> list[str]:
    """The holders named in a refusal: roles first, the incident managers last."""
    roles = [name for name in allowed if name not in (MANAGERS, ANYONE)]
    return roles + ([MANAGERS] if MANAGERS in allowed else [])
