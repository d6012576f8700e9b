"""What the loopback tests share: shaped events, and the kit's fast config and bounded wait."""

from __future__ import annotations

import hashlib
from typing import Any

from rx_honeybee.testing import FAST, until

__all__ = ["FAST", "make_event", "until"]


def make_event(n: int, *, seed: str = "event", kind: int = 1, **fields: Any) -> dict[str, Any]:
    """Event number ``n``: well-formed (64-hex id, 128-hex sig) but not really signed."""
    return {
        "id": hashlib.sha256(f"{seed} {n}".encode()).hexdigest(),
        "pubkey": hashlib.sha256(seed.encode()).hexdigest(),
        "created_at": 1_700_000_000 + n,
        "kind": kind,
        "tags": [],
        "content": f"{seed} note {n} ☕",
        "sig": "cd" * 64,
        **fields,
    }
