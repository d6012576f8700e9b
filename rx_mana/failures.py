"""Failure categories of a dial, and how long each one waits before the next (SPEC §5 item 4).

A refused port, a missing DNS name, a relay answering 503 and one answering 401 are
different troubles: the first clears in seconds, the last needs a person. So a
:class:`~rx_mana.breaker.CircuitBreaker` sorts each failure by the honeybee error's
``category`` (see :class:`rx_honeybee.errors.ConnectionFailed`) and backs off by that
category's :class:`FailureStrategy`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "AUTH",
    "DEFAULT_CATEGORIES",
    "DNS",
    "NETWORK",
    "SERVER",
    "FailureStrategy",
    "classify",
    "jittered",
]

NETWORK = "network"
"""Refused, reset, timed out, dropped, or anything without a category: usually brief."""
DNS = "dns"
"""The host name did not resolve: slow to change, so waited out longer."""
SERVER = "server"
"""The relay answered the upgrade with an HTTP error (5xx, 429, ...): overloaded or down."""
AUTH = "auth"
"""The relay answered 401/403: retrying rarely helps, so it gives up soon."""

# honeybee's ConnectionFailed.category -> a breaker category (handshake: by HTTP status)
_BY_HONEYBEE = {"refused": NETWORK, "timeout": NETWORK, "network": NETWORK, "dns": DNS}
_AUTH_STATUSES = frozenset({401, 403})


@dataclass(frozen=True, slots=True)
class FailureStrategy:
    """How one category backs off: retry n (n = 0 first) waits
    ``min(base_delay * factor**n, max_delay)`` seconds (before jitter).

    Args:
        max_attempts: this many consecutive failures of the category end the connection
            (0: never).
        base_delay: the first wait, seconds.
        max_delay: no wait is longer, seconds.
        factor: growth per retry (>= 1).

    Raises:
        ValueError: a negative count or delay, ``max_delay < base_delay``, or ``factor < 1``.
    """

    max_attempts: int
    base_delay: float
    max_delay: float
    factor: float

    def __post_init__(self) -> None:
        if self.max_attempts < 0:
            raise ValueError(f"max_attempts must be >= 0, got {self.max_attempts}")
        if not self.base_delay >= 0:
            raise ValueError(f"base_delay must be >= 0, got {self.base_delay}")
        if not self.max_delay >= self.base_delay:
            raise ValueError(f"max_delay must be >= base_delay, got {self.max_delay}")
        if not self.factor >= 1:
            raise ValueError(f"factor must be >= 1, got {self.factor}")

    def delay(self, retry: int) -> float:
        """The wait before retry ``retry`` (0 first), without jitter."""
        if self.factor == 1 or self.base_delay == 0:
            return min(self.base_delay, self.max_delay)
        try:
            grown = self.base_delay * self.factor**retry
        except OverflowError:
            return self.max_delay
        return min(grown, self.max_delay)


DEFAULT_CATEGORIES: Mapping[str, FailureStrategy] = MappingProxyType(
    {
        NETWORK: FailureStrategy(max_attempts=5, base_delay=1.0, max_delay=30.0, factor=2.0),
        DNS: FailureStrategy(max_attempts=3, base_delay=5.0, max_delay=60.0, factor=2.0),
        SERVER: FailureStrategy(max_attempts=10, base_delay=0.5, max_delay=10.0, factor=1.5),
        AUTH: FailureStrategy(max_attempts=2, base_delay=10.0, max_delay=60.0, factor=2.0),
    }
)
"""The seed's strategies: network, dns, server, auth."""


def classify(error: BaseException, categories: Mapping[str, FailureStrategy]) -> str:
    """The category of a dial or socket failure, among ``categories``.

    honeybee's ``refused``, ``timeout`` and ``network`` are "network", ``dns`` is "dns", a
    ``handshake`` answered 401/403 is "auth" and any other HTTP status "server". A category
    that ``categories`` names itself (say a user's ``"invalid-url"``) is kept; everything
    else, errors without a ``category`` included, is "network".
    """
    raw = getattr(error, "category", None)
    if not isinstance(raw, str):
        return NETWORK
    if raw == "handshake":
        name = AUTH if getattr(error, "status", None) in _AUTH_STATUSES else SERVER
    elif raw in categories:
        name = raw
    else:
        name = _BY_HONEYBEE.get(raw, NETWORK)
    return name if name in categories else NETWORK


def jittered(delay: float, jitter: float, rng: random.Random) -> float:
    """``delay`` moved by up to ±``jitter`` of itself, uniformly: connections spread out."""
    if jitter == 0 or delay == 0:
        return delay
    return max(0.0, delay * (1.0 + jitter * (2.0 * rng.random() - 1.0)))
