"""A token bucket on an injected clock: the one inbound meter of the socket and the relay."""

from __future__ import annotations

from collections.abc import Callable

from rx_honeybee.config import InboundLimit

__all__ = ["TokenBucket"]


class TokenBucket:
    """``take()`` says whether one more envelope may pass now (``limit``'s rate and burst)."""

    __slots__ = ("_burst", "_last", "_now", "_rate", "_tokens")

    def __init__(self, limit: InboundLimit, now: Callable[[], float]) -> None:
        self._rate = limit.messages_per_sec  # tokens per second
        self._burst = float(limit.burst)  # capacity
        self._tokens = float(limit.burst)  # available now
        self._now = now  # monotonic seconds
        self._last = now()  # last refill

    def take(self) -> bool:
        now = self._now()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
