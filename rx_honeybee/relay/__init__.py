"""The relay side: responder functions, and a complete NIP-01 relay on them.

:class:`Relay` is what ``rxnostr relay`` runs, its events in memory (:class:`EventStore`)
or, with ``--db``, in an SQLite file (:class:`SqliteStore`); :mod:`rx_honeybee.testing`
adds faults to it.
"""

from __future__ import annotations

from rx_honeybee.relay.backend import Store
from rx_honeybee.relay.core import (
    DEFAULT_LIMIT,
    DEFAULT_MAX_OUTPUT,
    DEFAULT_MAX_QUEUED,
    DEFAULT_MAX_SUBSCRIPTION_BYTES,
    Relay,
    Verifier,
)
from rx_honeybee.relay.hooks import RelayHooks, Silence
from rx_honeybee.relay.info import default_info
from rx_honeybee.relay.sqlite_store import SqliteStore
from rx_honeybee.relay.store import EventStore, Outcome

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_MAX_OUTPUT",
    "DEFAULT_MAX_QUEUED",
    "DEFAULT_MAX_SUBSCRIPTION_BYTES",
    "EventStore",
    "Outcome",
    "Relay",
    "RelayHooks",
    "Silence",
    "SqliteStore",
    "Store",
    "Verifier",
    "default_info",
]
