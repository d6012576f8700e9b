"""NIP-01 kind classes: which events replace each other and which are never stored.

https://github.com/nostr-protocol/nips/blob/master/01.md#kinds

- replaceable kinds (0, 3, 10000-19999): a relay keeps the newest per ``(pubkey, kind)``;
- ephemeral kinds (20000-29999): delivered live, never stored;
- addressable kinds (30000-39999): the newest per ``(pubkey, kind, d)``, where ``d`` is the
  value of the event's first ``d`` tag (``""`` without one);
- every other kind is regular: each event is stored.

"Newest" is the highest ``created_at``, ties going to the lowest ``id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["address_of", "is_addressable", "is_ephemeral", "is_replaceable"]


def is_replaceable(kind: int) -> bool:
    """Kinds 0, 3 and 10000-19999: the newest per author and kind replaces the rest (NIP-01)."""
    return kind in (0, 3) or 10000 <= kind < 20000


def is_ephemeral(kind: int) -> bool:
    """Kinds 20000-29999: delivered live, never stored (NIP-01)."""
    return 20000 <= kind < 30000


def is_addressable(kind: int) -> bool:
    """Kinds 30000-39999: the newest per author, kind and ``d`` tag replaces the rest (NIP-01)."""
    return 30000 <= kind < 40000


def address_of(event: Mapping[str, Any]) -> tuple[str, int, str] | None:
    """The ``(pubkey, kind, d)`` slot a replaceable or addressable event occupies, or None.

    Replaceable kinds use ``d = ""``; addressable kinds the first ``d`` tag's value (``""``
    when there is no ``d`` tag, or it has no value). Regular and ephemeral kinds occupy no
    slot. ``event`` is a checked event (see ``check_event``).
    """
    kind = event["kind"]
    if is_replaceable(kind):
        return event["pubkey"], kind, ""
    if is_addressable(kind):
        for tag in event["tags"]:
            if len(tag) >= 1 and tag[0] == "d":
                return event["pubkey"], kind, tag[1] if len(tag) >= 2 else ""
        return event["pubkey"], kind, ""
    return None
