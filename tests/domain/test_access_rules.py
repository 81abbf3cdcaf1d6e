"""The access rules themselves (domain/access.py), over every case they take: a role only ever
adds a right, which is what lets `Access.check` skip reading the roles when the answer without
them is already yes; and whether an incident is hidden never depends on roles."""

from __future__ import annotations

import itertools
from dataclasses import replace

from bridgekeeper.domain.access import (
    ANYONE,
    MANAGERS,
    MEMBER_ACTIONS,
    PRIVILEGED_ACTIONS,
    Asker,
    Request,
    Verdict,
    verdict,
)

ROLES = ("commander", "deputy", "scribe")
HOLDERS = (*ROLES, MANAGERS, ANYONE)


def _subsets(names: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [
        combo for size in range(len(names) + 1) for combo in itertools.combinations(names, size)
    ]


def _cases() -> itertools.product[tuple[object, ...]]:
    actions = (*PRIVILEGED_ACTIONS, *MEMBER_ACTIONS)
    flags = (False, True)
    return itertools.product(actions, flags, flags, flags, flags, _subsets(HOLDERS))


def test_a_role_or_a_claim_to_vacant_command_never_takes_a_right_away() -> None:
    checked = 0
    for action, private, outside, member, manager, allowed in _cases():
        request = Request(str(action), bool(private), addressed_from_outside=bool(outside))
        bare = Asker(member=bool(member), manager=bool(manager), roles=frozenset())
        without = verdict(request, bare, tuple(allowed))  # type: ignore[arg-type]
        for held, claims in itertools.product(_subsets(ROLES), (False, True)):
            asker = replace(bare, roles=frozenset(held))
            asked = replace(request, claims_vacant_command=claims)
            found = verdict(asked, asker, tuple(allowed))  # type: ignore[arg-type]
            if without is Verdict.ALLOWED:
                assert found is Verdict.ALLOWED, (action, allowed, held, claims)
            assert (found is Verdict.HIDDEN) == (without is Verdict.HIDDEN)
            checked += 1
    assert checked > 100_000  # every case was taken, not an empty product


def test_a_privileged_action_is_denied_without_the_role_and_allowed_with_it() -> None:
    request = Request("close", private=False)
    nobody = Asker(member=True, manager=False, roles=frozenset())
    assert verdict(request, nobody, ("commander",)) is Verdict.DENIED
    commander = replace(nobody, roles=frozenset({"commander"}))
    assert verdict(request, commander, ("commander",)) is Verdict.ALLOWED
