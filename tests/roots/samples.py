"""What the rx_roots tests (and the relay's) share: well-formed events and JSON strategies.

Standard library and hypothesis only, so the pure tests stay pure.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

__all__ = ["ALICE", "BOB", "fake_verify", "json_values", "make_event", "scalars", "texts"]

ALICE = "a1" * 32
BOB = "b2" * 32

_serial = itertools.count()


def _serialize(pubkey: str, created_at: int, kind: int, tags: Any, content: str) -> bytes:
    text = json.dumps(
        [0, pubkey, created_at, kind, tags, content], separators=(",", ":"), ensure_ascii=False
    )
    return text.encode()


def make_event(
    kind: int = 1,
    created_at: int = 1000,
    *,
    pubkey: str = ALICE,
    tags: Sequence[Sequence[str]] = (),
    content: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A well-formed event whose id is its NIP-01 hash and whose "sig" is a SHA-512 of it.

    ``event_id`` forces an id (the fake signature then no longer verifies).
    """
    text = content if content is not None else f"note {next(_serial)}"
    tag_list = [list(tag) for tag in tags]
    serial = _serialize(pubkey, created_at, kind, tag_list, text)
    return {
        "id": event_id or hashlib.sha256(serial).hexdigest(),
        "pubkey": pubkey,
        "created_at": created_at,
        "kind": kind,
        "tags": tag_list,
        "content": text,
        "sig": hashlib.sha512(serial).hexdigest(),
    }


def fake_verify(event: Mapping[str, Any]) -> bool:
    """Check the id hash and the fake signature of ``make_event``."""
    serial = _serialize(
        event["pubkey"], event["created_at"], event["kind"], event["tags"], event["content"]
    )
    return bool(
        event["id"] == hashlib.sha256(serial).hexdigest()
        and event["sig"] == hashlib.sha512(serial).hexdigest()
    )


texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)))
"""Any text that has a UTF-8 form (no lone surrogates)."""

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
"""Any JSON value (as decoded: None, bools, numbers, text, lists, objects)."""
