"""What the relay stores and echoes: canonical NIP-01 events and sub ids that encode.

One client's poison (a lone surrogate, a NaN in an extra field) must never reach the
store or another client's delivery: events are cut to NIP-01's seven fields and refused
when they have no JSON text form; a sub id that cannot be echoed is never echoed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ujson

from rx_honeybee.relay.store import text_and_size
from rx_roots import InvalidEvent, RootsError, enclose_eose

__all__ = ["canonical", "encodable", "sub_id_of"]

_FIELDS = ("id", "pubkey", "created_at", "kind", "tags", "content", "sig")  # NIP-01's


def canonical(event: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The seven NIP-01 fields of a checked event, and their JSON text.

    Extra fields are dropped (a NaN there is no longer anyone's problem); a lone
    surrogate in content or tags has no UTF-8 form, and stored it would break every
    query that matched it. The text is encoded here once: the size checks, the store
    and every delivery use it.

    Raises:
        InvalidEvent: the event cannot be encoded.
    """
    canonical = {name: event[name] for name in _FIELDS}
    text = text_and_size(canonical)[0]
    if text is None:
        raise InvalidEvent("the event cannot be encoded as JSON text (UTF-8)")
    return canonical, text


def sub_id_of(env: str) -> str | None:
    """The sub id of a REQ whose filters cannot be parsed, if it can be read and echoed."""
    try:
        parts = ujson.loads(env)
    except ValueError:
        return None
    if isinstance(parts, list) and len(parts) >= 2 and isinstance(parts[1], str):
        sub_id = parts[1]
        if encodable(sub_id):
            return sub_id
    return None


def encodable(sub_id: str) -> bool:
    """True when ``sub_id`` can be echoed back (no lone surrogate)."""
    try:
        enclose_eose(sub_id)
    except RootsError:
        return False
    return True
