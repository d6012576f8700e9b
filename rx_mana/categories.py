"""Rate categories of outgoing envelopes: what each one may send, and which one a label is.

Relays meter kinds of traffic differently: publishing (``EVENT``) and opening
subscriptions (``REQ``, ``COUNT``) cost them storage and queries, while control traffic
(``CLOSE``, ``AUTH``, answers) frees resources or unblocks the peer and must never starve.
So :class:`~rx_mana.rate_limit.CategoryRateLimiter` keeps one token bucket per category.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from rx_mana._labels import CONTROL_LABELS, read_label

__all__ = [
    "CONTROL",
    "DEFAULT_CATEGORY",
    "DEFAULT_RATE_CATEGORIES",
    "EVENT",
    "SUBSCRIPTION",
    "CategoryLimit",
    "label_category",
]

CONTROL = "control"
"""Envelopes that close, authenticate or answer: cheap for the relay, urgent for us."""
EVENT = "event"
"""``EVENT``: a publish (or, from a relay, a delivered event)."""
SUBSCRIPTION = "subscription"
"""``REQ`` and ``COUNT``: each makes the relay run a query."""

DEFAULT_CATEGORY = SUBSCRIPTION
"""The category of an unknown or unreadable label: the most metered one, so that what we
cannot name never jumps ahead of control traffic nor escapes the strictest budget."""


@dataclass(frozen=True, slots=True)
class CategoryLimit:
    """One category's token bucket: ``rate`` tokens per second, at most ``burst`` saved.

    ``priority`` (higher = more important) orders categories whose tokens come due at the
    same instant, and the lowest-priority category limits unknown categories.

    Raises:
        ValueError: ``rate`` not a finite number > 0, or ``burst`` < 1.
    """

    rate: float
    burst: int
    priority: int = 0

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise ValueError(f"rate must be > 0 and finite, got {self.rate}")
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, got {self.burst}")


DEFAULT_RATE_CATEGORIES: Mapping[str, CategoryLimit] = MappingProxyType(
    {
        CONTROL: CategoryLimit(rate=50.0, burst=100, priority=10),
        EVENT: CategoryLimit(rate=5.0, burst=20, priority=5),
        SUBSCRIPTION: CategoryLimit(rate=2.0, burst=10, priority=3),
    }
)
"""The seed's budgets: control 50/s (burst 100), event 5/s (20), subscription 2/s (10)."""

_CATEGORY_OF_LABEL: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(CONTROL_LABELS, CONTROL),  # the same set the priority queue puts first
        "EVENT": EVENT,
        "REQ": SUBSCRIPTION,
        "COUNT": SUBSCRIPTION,
    }
)


def label_category(envelope: str) -> str:
    """Return the rate category of ``envelope`` from its label (NIP-01, NIP-42, NIP-45).

    ``CLOSE``, ``AUTH``, ``EOSE``, ``OK``, ``NOTICE``, ``CLOSED`` → ``"control"``;
    ``EVENT`` → ``"event"``; ``REQ``, ``COUNT`` → ``"subscription"``; any other label,
    or text that is not an envelope, → :data:`DEFAULT_CATEGORY` (``"subscription"``).
    Never raises: a limiter must not fail on what it only meters.
    """
    label = read_label(envelope)
    return DEFAULT_CATEGORY if label is None else _CATEGORY_OF_LABEL.get(label, DEFAULT_CATEGORY)
