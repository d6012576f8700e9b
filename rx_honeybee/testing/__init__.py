"""A fault-injecting in-memory Nostr relay to test against (SPEC §6, §7).

``Relay`` is a complete NIP-01 relay (with NIP-11 and optional NIP-42) built on the
responder API; ``relay.faults`` scripts its misbehaviour. The filter and store modules are
pure and usable on their own::

    from rx_honeybee.testing import Relay

    async with Relay() as relay:           # ws://127.0.0.1:<free port>
        relay.faults.drop_after(1)         # the next message from each client kills it
        ...

The marble kit (:mod:`rx_honeybee.testing.marbles`) runs a Connection, and what you build
on it, in virtual time without a network: ``RecordingLink`` (a socket's write side that
records, fails or holds writes), ``MarbleSockets`` (a socket factory handing out one cold
marble Observable per dial), ``start_connect`` and ``MarbleHarness`` (a TestScheduler, the
sockets, the link and a Connection, stepped so that writes keep up)::

    h = MarbleHarness(lambda link: ["-o-a"], lookup={"a": '["NOTICE","hi"]'})
    await h.start()                        # dialled at 0, CONNECTED at 1
    await h.run_until(5)                   # the NOTICE arrived at 3

For loopback tests against ``Relay`` (:mod:`rx_honeybee.testing.loopback`): ``FAST``, a
configuration that redials in milliseconds, and ``await until(predicate)``, a bounded wait.
"""

from __future__ import annotations

from rx_honeybee.relay.core import DEFAULT_LIMIT, Verifier
from rx_honeybee.relay.info import default_info
from rx_honeybee.relay.store import EventStore, Outcome
from rx_honeybee.testing.faults import GARBAGE, Faults
from rx_honeybee.testing.loopback import FAST, until
from rx_honeybee.testing.marbles import (
    Attempt,
    MarbleHarness,
    MarbleSockets,
    RecordingLink,
    start_connect,
)
from rx_honeybee.testing.relay import Relay
from rx_roots import (
    Filter,
    InvalidEvent,
    InvalidFilter,
    address_of,
    check_event,
    check_filter,
    is_addressable,
    is_ephemeral,
    is_replaceable,
    matches,
    matches_any,
    newest_first,
    select,
    sort_key,
)

__all__ = [
    "DEFAULT_LIMIT",
    "FAST",
    "GARBAGE",
    "Attempt",
    "EventStore",
    "Faults",
    "Filter",
    "InvalidEvent",
    "InvalidFilter",
    "MarbleHarness",
    "MarbleSockets",
    "Outcome",
    "RecordingLink",
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
    "start_connect",
    "until",
]
