"""The timeline's hash chain: each entry's hash covers its content and the previous hash.

The first entry's previous hash is the chain's genesis. Chains of version 1 (incidents declared
before chain versions existed) start from GENESIS, the same for every incident, so a whole
timeline could be moved to another incident, or an incident renumbered, without a broken link.
From version 2 the genesis is a hash of the incident's id and number: the chain belongs to one
incident. The version is stored per incident (`incidents.chain_version`, migration 0003), and
entries already written keep verifying under the formula they were written with.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

GENESIS = "0" * 64
CHAIN_VERSION = 2  # what new incidents get


def genesis(*, chain_version: int, incident_id: int, number: int) -> str:
    """The previous hash of an incident's first entry."""
    if chain_version < 2:
        return GENESIS
    content = json.dumps(["bridgekeeper-incident", incident_id, number], separators=(",", ":"))
    return hashlib.sha256(content.encode()).hexdigest()


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
