"""The test relay: the runtime NIP-01 relay plus scripted faults and a log of what it got."""

from __future__ import annotations

from collections import deque
from typing import Any

from rx_honeybee.relay.core import Relay as _Relay
from rx_honeybee.testing.faults import Faults

__all__ = ["Relay"]


class Relay(_Relay):
    """:class:`rx_honeybee.relay.Relay` with ``faults`` (scripts) and ``received`` (a log).

    Args:
        max_received: how many received envelopes ``received`` keeps (the newest).
        *args, **kwargs: as for :class:`rx_honeybee.relay.Relay`.

    Raises:
        ValueError: ``max_received`` (or a relay limit) below 1.
    """

    def __init__(self, *args: Any, max_received: int = 10_000, **kwargs: Any) -> None:
        if max_received < 1:
            raise ValueError(f"max_received must be >= 1, got {max_received}")
        super().__init__(*args, **kwargs)
        self.received: deque[str] = deque(maxlen=max_received)  # newest envelopes received
        self.faults = Faults(  # scripted misbehaviour
            self._server,
            clients=lambda: list(self._clients),
            drop=self._drop,
            challenge=self._send_challenge,
            replay=self._replay,
            record=self.received.append,
        )
        self.hooks = self.faults
