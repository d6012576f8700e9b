"""How a balanced pool picks ONE relay among those that may serve (SPEC §5 item 2).

Each strategy is a small object with ``choose(candidates, key) -> url`` and no I/O: the
pool builds the :class:`Candidate` tuples (load, recent round trip, health score) and
calls it, so every strategy is unit-tested on plain tuples::

    RoundRobin()               # each in turn
    LeastConnections()         # fewest live subscriptions + pending publishes
    ResponseTime()             # untried first, then the lowest recent round trip
    WeightedRandom({"wss://a": 3, "wss://b": 1})
    ConsistentHash()           # the same key goes to the same relay (a hash ring)
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

from rx_roots import normalize_relay_url

__all__ = [
    "Candidate",
    "ConsistentHash",
    "LeastConnections",
    "ResponseTime",
    "RoundRobin",
    "Strategy",
    "WeightedRandom",
]


class Candidate(NamedTuple):
    """A relay that may serve: what a strategy knows about it.

    ``load``: live subscriptions + pending publishes on its session; ``response_time``:
    the mean of its recent EOSE round trips in seconds, None when untried; ``score``: its
    health score in 0..1 (1.0 when health is not tracked).
    """

    url: str
    load: int
    response_time: float | None
    score: float


class Strategy(Protocol):
    """Chooses one url among non-empty ``candidates``; ``key`` is the caller's hint."""

    def choose(self, candidates: Sequence[Candidate], key: str | None) -> str: ...


def _require(candidates: Sequence[Candidate]) -> None:
    if not candidates:
        raise ValueError("no candidates to choose from")


class RoundRobin:
    """Each candidate in turn (by position, so a changing set still spreads evenly)."""

    def __init__(self) -> None:
        self._turn = 0  # how many choices were made

    def choose(self, candidates: Sequence[Candidate], key: str | None = None) -> str:
        _require(candidates)
        url = candidates[self._turn % len(candidates)].url
        self._turn += 1
        return url


class LeastConnections:
    """The candidate with the lowest load; ties taken in turn so they share the work."""

    def __init__(self) -> None:
        self._turn = 0  # breaks ties

    def choose(self, candidates: Sequence[Candidate], key: str | None = None) -> str:
        _require(candidates)
        least = min(c.load for c in candidates)
        tied = [c for c in candidates if c.load == least]
        url = tied[self._turn % len(tied)].url
        self._turn += 1
        return url


class ResponseTime:
    """Untried candidates first (to learn their speed), then the fastest recent one."""

    def choose(self, candidates: Sequence[Candidate], key: str | None = None) -> str:
        _require(candidates)
        for c in candidates:
            if c.response_time is None:
                return c.url
        return min(candidates, key=lambda c: c.response_time or 0.0).url


class WeightedRandom:
    """At random, in proportion to each relay's weight.

    Args:
        weights: weight per relay url (any spelling); a relay not listed weighs ``default``.
        rng: the random source (seed one for reproducible picks).
        default: the weight of an unlisted relay.

    Raises:
        ValueError: a negative (or NaN) weight.
    """

    def __init__(
        self,
        weights: Mapping[str, float],
        rng: random.Random | None = None,
        *,
        default: float = 1.0,
    ) -> None:
        for url, weight in [*weights.items(), ("default", default)]:
            if not weight >= 0:
                raise ValueError(f"weight of {url} must be >= 0, got {weight}")
        self.weights = {normalize_relay_url(u): float(w) for u, w in weights.items()}  # by url
        self.default = float(default)  # weight of an unlisted relay
        self._rng = rng if rng is not None else random.Random()  # the draws

    def choose(self, candidates: Sequence[Candidate], key: str | None = None) -> str:
        _require(candidates)
        weights = [self.weights.get(c.url, self.default) for c in candidates]
        if sum(weights) <= 0:  # every weight zero: none is preferred
            return self._rng.choice(candidates).url
        return self._rng.choices(candidates, weights=weights)[0].url


_RINGS_KEPT = 8  # rings remembered, by candidate set (a few sets alternate in failover)


def _point(text: str) -> int:
    """A stable 64-bit position on the ring (Python's ``hash`` differs per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class _Ring(NamedTuple):
    points: list[int]  # sorted positions
    owners: list[str]  # the url at each position


class ConsistentHash:
    """The same key goes to the same relay; a relay joining or leaving moves few keys.

    Each relay owns ``replicas`` points of a 64-bit ring (blake2b of ``url#i``); a key goes
    to the first point at or after its own hash. Adding one relay to N takes about 1/(N+1)
    of the keys, all to the new relay; removing one moves only the keys it had. A call
    without a key falls back to round robin.

    Raises:
        ValueError: ``replicas`` < 1.
    """

    def __init__(self, replicas: int = 100) -> None:
        if replicas < 1:
            raise ValueError(f"replicas must be >= 1, got {replicas}")
        self.replicas = replicas  # points per relay
        self._rings: OrderedDict[frozenset[str], _Ring] = OrderedDict()  # by candidate set
        self._keyless = RoundRobin()  # for calls without a key

    def choose(self, candidates: Sequence[Candidate], key: str | None = None) -> str:
        _require(candidates)
        if key is None:
            return self._keyless.choose(candidates)
        ring = self._ring(frozenset(c.url for c in candidates))
        at = bisect.bisect_left(ring.points, _point(key))
        return ring.owners[at % len(ring.owners)]

    def _ring(self, urls: frozenset[str]) -> _Ring:
        ring = self._rings.get(urls)
        if ring is not None:
            self._rings.move_to_end(urls)
            return ring
        placed = sorted(
            (_point(f"{url}#{i}"), url) for url in sorted(urls) for i in range(self.replicas)
        )
        ring = _Ring([p for p, _ in placed], [u for _, u in placed])
        self._rings[urls] = ring
        if len(self._rings) > _RINGS_KEPT:
            self._rings.popitem(last=False)
        return ring
