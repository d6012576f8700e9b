"""The relay side: responder functions, and a complete in-memory NIP-01 relay on them.

:class:`Relay` is what ``rxnostr relay`` runs; :mod:`rx_honeybee.testing` adds faults to it.
"""

from __future__ import annotations

from rx_honeybee.relay.core import DEFAULT_LIMIT, Relay, Verifier
from rx_honeybee.relay.hooks import RelayHooks, Silence
from rx_honeybee.relay.info import default_info
from rx_honeybee.relay.store import EventStore, Outcome

__all__ = [
    "DEFAULT_LIMIT",
    "EventStore",
    "Outcome",
    "Relay",
    "RelayHooks",
    "Silence",
    "Verifier",
    "default_info",
]
