"""Each tracker's way of proving a webhook came from it.

Jira Data Center's webhooks (System -> WebHooks) carry no signature: the documented way to
authenticate them is a secret in the URL the admin registers, so the URL must be HTTPS.
https://developer.atlassian.com/server/jira/platform/webhooks/
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from bridgekeeper.domain.text import same_secret


def verified(
    kind: str, secret: str, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]
) -> bool:
    if kind == "github":  # X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return same_secret(headers.get("X-Hub-Signature-256", ""), expected)
    if kind == "gitlab":  # X-Gitlab-Token: the secret token itself
        return same_secret(headers.get("X-Gitlab-Token", ""), secret)
    if kind == "jira":  # X-Hub-Signature: sha256=<HMAC-SHA256 of the body>
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return same_secret(headers.get("X-Hub-Signature", ""), expected)
    if kind == "jira-dc":  # ?secret=<the secret> in the webhook's URL: Data Center signs nothing
        return same_secret(query.get("secret", ""), secret)
    return False
