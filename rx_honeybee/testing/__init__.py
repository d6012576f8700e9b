"""A fault-injecting in-memory Nostr relay to test against (SPEC §6, §7).

``Relay`` is a complete NIP-01 relay (with NIP-11 and optional NIP-42) built on the
responder API; ``relay.faults`` scripts its misbehaviour. The filter and store modules are
pure and usable on their own::

    from rx_honeybee.testing import Relay

    async with Relay() as relay:           # ws://127.0.0.1:<free port>
        relay.faults.drop_after(1)         # the next message from each client kills it
        ...
"""

from __future__ import annotations

from rx_honeybee.testing.faults import GARBAGE, Faults
from rx_honeybee.testing.filters import (
    Filter,
    InvalidFilter,
    check_filter,
    matches,
    matches_any,
    newest_first,
    select,
    sort_key,
)
from rx_honeybee.testing.relay import DEFAULT_LIMIT, Relay, Verifier, default_info
from rx_honeybee.testing.store import (
    EventStore,
    InvalidEvent,
    Outcome,
    address_of,
    check_event,
    is_addressable,
    is_ephemeral,
    is_replaceable,
)

__all__ = [
    "DEFAULT_LIMIT",
    "GARBAGE",
    "EventStore",
    "Faults",
    "Filter",
    "InvalidEvent",
    "InvalidFilter",
    "Outcome",
    "Relay",
    "Verifier",
    "address_of",
    "check_event",
    "check_filter",
    "default_info",
    "is_addressable",
    "is_ephemeral",
    "is_replaceable",
    "matches",
    "matches_any",
    "newest_first",
    "select",
    "sort_key",
]
