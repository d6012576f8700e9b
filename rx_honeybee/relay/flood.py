"""A client's inbound budget at the relay: a token bucket whose refusals are answered.

The socket's own bucket drops envelopes silently; the relay's answers each refusal
(``CLOSED``/``OK false rate-limited:``) so honest clients slow down, and cuts off a client
that keeps flooding.
"""

from __future__ import annotations

import time

from rx_honeybee.bucket import TokenBucket
from rx_honeybee.config import InboundLimit

__all__ = ["Flood", "backstop"]


class Flood:
    """A client's token bucket on the envelopes the relay answers, and its refusals.

    Refusals count toward a cut-off until the client has gone a second without one: a
    client that keeps sending over the limit reaches ``max_dropped`` and is disconnected,
    however fast the bucket refills (counting only refusals *in a row* never got there).
    """

    __slots__ = ("_bucket", "_last_refusal", "refused")

    def __init__(self, limit: InboundLimit) -> None:
        self._bucket = TokenBucket(limit, time.monotonic)  # the rate and burst
        self._last_refusal = -1e9  # when the last envelope was refused
        self.refused = 0  # refusals since the client last went a second without one

    def take(self) -> bool:
        """True when an envelope may be handled now; counts a refusal otherwise."""
        now = time.monotonic()
        if now - self._last_refusal > 1.0:
            self.refused = 0
        if self._bucket.take():
            return True
        self.refused += 1
        self._last_refusal = now
        return False


def backstop(limit: InboundLimit) -> InboundLimit:
    """The socket's own bucket: roomier than the relay's, which answers what it refuses."""
    return InboundLimit(
        messages_per_sec=2 * limit.messages_per_sec,
        burst=2 * limit.burst + limit.max_dropped,
        max_dropped=limit.max_dropped,
    )
