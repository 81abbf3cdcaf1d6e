"""Each tracker's webhook proof: a wrong one of any characters is refused, not an error."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from bridgekeeper.trackers.signatures import verified

SECRET = "webhook-secret"
BODY = b'{"action": "closed"}'
SIGNED = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("kind", "header", "right"),
    [
        ("github", "X-Hub-Signature-256", SIGNED),
        ("gitlab", "X-Gitlab-Token", SECRET),
        ("jira", "X-Hub-Signature", SIGNED),
    ],
)
def test_only_the_right_proof_is_taken(kind: str, header: str, right: str) -> None:
    assert verified(kind, SECRET, {header: right}, BODY, {})
    for wrong in ("", "sha256=00", "sha256=\u00e9t\u00e9", right + "\n"):
        assert not verified(kind, SECRET, {header: wrong}, BODY, {})


def test_jira_data_center_takes_the_secret_in_its_url() -> None:
    assert verified("jira-dc", SECRET, {}, BODY, {"secret": SECRET})
    for wrong in ("", "\u00e9t\u00e9", SECRET.upper()):
        assert not verified("jira-dc", SECRET, {}, BODY, {"secret": wrong})
