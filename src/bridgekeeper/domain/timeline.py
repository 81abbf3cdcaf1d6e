"""The timeline's hash chain: each entry's hash covers its content and the previous hash."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


def entry_hash(
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    kind: str,
    text: str,
    data: dict[str, Any],
) -> str:
    content = json.dumps(
        [prev_hash, seq, at.isoformat(timespec="microseconds"), actor, kind, text, data],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(content.encode()).hexdigest()
