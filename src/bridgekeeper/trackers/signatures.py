"""Each tracker's way of proving a webhook came from it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def verified(kind: str, secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    if kind == "github":  # X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, headers.get("X-Hub-Signature-256", ""))
    if kind == "gitlab":  # X-Gitlab-Token: the secret token itself
        return hmac.compare_digest(secret, headers.get("X-Gitlab-Token", ""))
    if kind == "jira":  # X-Hub-Signature: sha256=<HMAC-SHA256 of the body>
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, headers.get("X-Hub-Signature", ""))
    return False
