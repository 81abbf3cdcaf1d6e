"""Escalation policies: whom a page reaches at each level, and what comes after a level nobody
acknowledged. Pure Python: no Slack, HTTP or database here.

A policy has levels, each a list of targets: `oncall` (whoever the team's rota has on call now,
overrides included), `other-layers` (whoever each of the team's other layers has on call now),
or a user ID. Unacknowledged, a page moves to the next level after the policy's delay; after the
last level it starts again from the first `repeat` times, then it is exhausted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bridgekeeper.domain.oncall import Team, on_call

ONCALL = "oncall"
OTHER_LAYERS = "other-layers"
TARGET_WORDS = (ONCALL, OTHER_LAYERS)
DEFAULT_DELAY_MINUTES = 15


@dataclass(frozen=True)
class Policy:
    levels: tuple[tuple[str, ...], ...]
    delay: timedelta = timedelta(minutes=DEFAULT_DELAY_MINUTES)
    repeat: int = 0  # times the levels start again after the last one; 0: stop there


@dataclass(frozen=True)
class Step:
    level: int  # 1-based
    cycle: int  # 0: the first pass through the levels


def default_policy(team: Team) -> Policy:
    """The team's on-call, then (with more than one layer) the other layers', then stop."""
    levels = ((ONCALL,), (OTHER_LAYERS,)) if len(team.layers) > 1 else ((ONCALL,),)
    return Policy(levels)


def user_policy(user: str) -> Policy:
    """A page to one person: them, once."""
    return Policy(((user,),))


def people(targets: tuple[str, ...], team: Team | None, at: datetime) -> list[str]:
    """The users the targets name at `at`, each once, in order."""
    found: list[str] = []
    for target in targets:
        if target == ONCALL and team is not None:
            shift = on_call(team, at)
            found += [shift.user] if shift else []
        elif target == OTHER_LAYERS and team is not None:
            found += _other_layers(team, at)
        elif target not in TARGET_WORDS:
            found.append(target)
    return list(dict.fromkeys(found))


def after(policy: Policy, step: Step) -> Step | None:
    """The step after one nobody acknowledged; None: the page is exhausted."""
    if step.level < len(policy.levels):
        return Step(step.level + 1, step.cycle)
    if step.cycle < policy.repeat:
        return Step(1, step.cycle + 1)
    return None


def _other_layers(team: Team, at: datetime) -> list[str]:
    current = on_call(team, at)
    found = []
    for layer in reversed(team.layers):
        shift = on_call(Team(team.name, team.zone, (layer,)), at)
        if shift and (current is None or shift.user != current.user):
            found.append(shift.user)
    return found
