"""Category rate limiter: one token bucket per kind of outgoing traffic (SPEC §5 item 8).

Relays throttle publishers and subscribers, and answer ``rate-limited:`` before they cut
a client off. :class:`CategoryRateLimiter` meters each category (control, event,
subscription, see :mod:`rx_mana.categories`) on its own bucket, so a backlog of EVENTs
never holds back a CLOSE; it slows down when told to (:meth:`~CategoryRateLimiter.adapt`,
:meth:`~CategoryRateLimiter.halve`). It holds only policy and state, on its scheduler's
clock; the wiring is :func:`limit_by_category` (an operator on a stream of outgoing
envelopes) and :func:`limit_connection` (a sender in front of one ``Connection`` that
halves that connection's event and subscription rates when its relay says
``rate-limited:``)::

    limiter = CategoryRateLimiter()
    sender = limit_connection(conn, limiter)   # one limiter per connection
    sender.send(enclose_event(event))          # waits for an "event" token, then conn.send
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from reactivex import abc
from reactivex.disposable import Disposable, SerialDisposable

from rx_honeybee.operators import resolve_scheduler
from rx_mana.categories import (
    DEFAULT_RATE_CATEGORIES,
    CategoryLimit,
)

__all__ = ["CategoryRateLimiter", "RateLimiterStats"]

# Clocks report datetimes with microsecond resolution: a token due less than this far in
# the future is due now (else a wake-up could find 0.9999999 tokens and sleep 0 s forever).
_SLACK = 1e-6
_NO_CLAIM = Disposable()  # what acquire() returns when the token was taken at once


@dataclass(frozen=True, slots=True)
class RateLimiterStats:
    """Counts per category since construction, and the rates now.

    ``allowed``: tokens taken; ``delayed``: requests that had to wait for theirs;
    ``refused``: ``allow()`` answered False or ``wait()`` timed out; ``waiting``: requests
    waiting now; ``rates``: tokens per second now; ``adaptations``: ``adapt()`` calls that
    changed the rates; ``halvings``: ``halve()`` calls that did.
    """

    allowed: dict[str, int]
    delayed: dict[str, int]
    refused: dict[str, int]
    rates: dict[str, float]
    waiting: dict[str, int]
    adaptations: int
    halvings: int


class _Claim:
    """A request waiting for a token; ``live`` turns False when it is given up."""

    __slots__ = ("grant", "live")

    def __init__(self, grant: Callable[[], None]) -> None:
        self.grant = grant  # called once the token is taken
        self.live = True  # False once granted or given up


class _Lane:
    """One category: its bucket, its FIFO of waiting claims and its counters."""

    __slots__ = (
        "allowed",
        "burst",
        "delayed",
        "name",
        "priority",
        "queue",
        "rate",
        "refused",
        "stamp",
        "tokens",
        "waiting",
    )

    def __init__(self, name: str, limit: CategoryLimit) -> None:
        self.name = name  # the category
        self.priority = limit.priority  # higher is served first when due together
        self.rate = float(limit.rate)  # tokens per second, now
        self.burst = float(limit.burst)  # most tokens saved up
        self.tokens = self.burst  # starts full, like an idle connection
        self.stamp: float | None = None  # clock time ``tokens`` is up to date at
        self.queue: deque[_Claim] = deque()  # waiting claims in arrival order (some dead)
        self.waiting = 0  # live claims in ``queue``
        self.allowed = 0
        self.delayed = 0
        self.refused = 0

    def refill(self, now: float) -> None:
        if self.stamp is None:
            self.stamp = now
        elif now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def has_token(self) -> bool:
        return self.tokens + self.rate * _SLACK >= 1.0

    def take(self) -> None:
        self.tokens = max(0.0, self.tokens - 1.0)
        self.allowed += 1

    def due(self) -> float:
        """When the next token is due (clock seconds); ``refill`` must have run."""
        assert self.stamp is not None
        return self.stamp + max(0.0, (1.0 - self.tokens) / self.rate)

    def pop(self) -> _Claim:
        """Remove and return the oldest live claim (``waiting`` must be > 0)."""
        while True:
            claim = self.queue.popleft()
            if claim.live:
                claim.live = False
                self.waiting -= 1
                return claim


class CategoryRateLimiter:
    """Token buckets per traffic category: delay (or refuse) what exceeds a category's rate.

    Each category has ``rate`` tokens per second and saves up to ``burst``; a request
    takes one token. Waiting requests of a category are served in arrival order, each
    category on its own, so control envelopes never wait behind events. A category that
    is not configured is limited as the lowest-priority one (``"subscription"`` by
    default): an unknown kind of traffic gets the strictest budget, never a free pass.

    Time is the scheduler's clock: ``scheduler=``, else the first scheduler an adapter
    hands over (``limit_connection``: the connection's; ``limit_by_category``: the one
    given to ``subscribe``), else an ``AsyncIOScheduler`` on the running loop.

    Args:
        categories: the budget of each category (:data:`DEFAULT_RATE_CATEGORIES`).
        adaptive: whether :meth:`adapt` changes the rates.
        min_rate: no rate goes below this (adapt, halve).
        max_rate: no rate goes above this (adapt).
        adapt_period: :meth:`adapt` changes the rates at most once per this many seconds.
        scheduler: the clock and timers.

    Raises:
        ValueError: no category, a value that is not a ``CategoryLimit``, a rate outside
            ``min_rate..max_rate``, ``min_rate`` not > 0, ``max_rate < min_rate``, or a
            negative ``adapt_period``.
    """

    def __init__(
        self,
        categories: Mapping[str, CategoryLimit] = DEFAULT_RATE_CATEGORIES,
        adaptive: bool = True,
        min_rate: float = 1.0,
        max_rate: float = 100.0,
        *,
        adapt_period: float = 5.0,
        scheduler: abc.SchedulerBase | None = None,
    ) -> None:
        if not (min_rate > 0 and math.isfinite(min_rate)):
            raise ValueError(f"min_rate must be > 0 and finite, got {min_rate}")
        if not (max_rate >= min_rate and math.isfinite(max_rate)):
            raise ValueError(f"max_rate must be finite and >= min_rate, got {max_rate}")
        if not (adapt_period >= 0 and math.isfinite(adapt_period)):
            raise ValueError(f"adapt_period must be >= 0 and finite, got {adapt_period}")
        if not categories:
            raise ValueError("categories must name at least one category")
        for name, limit in categories.items():
            if not isinstance(limit, CategoryLimit):
                raise ValueError(f"category {name!r}: expected a CategoryLimit, got {limit!r}")
            if not min_rate <= limit.rate <= max_rate:
                raise ValueError(
                    f"category {name!r}: rate {limit.rate} outside {min_rate}..{max_rate}"
                )
        self._lanes = {name: _Lane(name, limit) for name, limit in categories.items()}
        # served first when tokens come due together: highest priority, then config order
        self._order = sorted(self._lanes.values(), key=lambda lane: -lane.priority)
        # what limits an unknown category: the lowest priority, then the slowest
        self._fallback = min(self._lanes.values(), key=lambda lane: (lane.priority, lane.rate))
        self._adaptive = adaptive  # adapt() acts
        self._min_rate = float(min_rate)  # floor of adapt() and halve()
        self._max_rate = float(max_rate)  # ceiling of adapt()
        self._adapt_period = float(adapt_period)  # seconds between adaptations
        self._scheduler = scheduler  # the clock; resolved on first use when None
        self._timer = SerialDisposable()  # the one wake-up for the earliest due claim
        self._armed_at: float | None = None  # when that wake-up fires
        self._adapted_at: float | None = None  # clock time of the last adaptation
        self._adaptations = 0  # adapt() calls that changed the rates
        self._halvings = 0  # halve() calls that changed a rate

    # -- reading -------------------------------------------------------------------------

    @property
    def categories(self) -> tuple[str, ...]:
        """The configured categories, in configuration order."""
        return tuple(self._lanes)

    def resolve(self, category: str) -> str:
        """Return the category that limits ``category``: itself, or the fallback."""
        return self._lane(category).name

    def rate(self, category: str) -> float:
        """Return the current rate of ``category`` (tokens per second)."""
        return self._lane(category).rate

    def stats(self) -> RateLimiterStats:
        """Return the counts per category and the current rates."""
        lanes = self._lanes.values()
        return RateLimiterStats(
            allowed={lane.name: lane.allowed for lane in lanes},
            delayed={lane.name: lane.delayed for lane in lanes},
            refused={lane.name: lane.refused for lane in lanes},
            rates={lane.name: lane.rate for lane in lanes},
            waiting={lane.name: lane.waiting for lane in lanes},
            adaptations=self._adaptations,
            halvings=self._halvings,
        )

    # -- taking tokens -------------------------------------------------------------------

    def allow(self, category: str) -> bool:
        """Take a token of ``category`` if one is there now; never jumps waiting requests.

        Raises:
            InvalidState: no scheduler was given and no asyncio loop runs.
        """
        lane = self._lane(category)
        lane.refill(self._now())
        if lane.waiting == 0 and lane.has_token():
            lane.take()
            return True
        lane.refused += 1
        return False

    def acquire(self, category: str, on_token: Callable[[], None]) -> abc.DisposableBase:
        """Call ``on_token`` once a token of ``category`` is taken for it (at once if free).

        Requests of one category are served in the order they came; disposing the result
        gives the request up (its token is not taken). ``on_token`` runs on the
        scheduler's timer when it had to wait.

        Raises:
            InvalidState: no scheduler was given and no asyncio loop runs.
        """
        lane = self._lane(category)
        now = self._now()
        lane.refill(now)
        if lane.waiting == 0 and lane.has_token():
            lane.take()
            on_token()
            return _NO_CLAIM
        claim = _Claim(on_token)
        lane.queue.append(claim)
        lane.waiting += 1
        lane.delayed += 1
        self._arm(now)
        return Disposable(partial(self._give_up, lane, claim))

    async def wait(self, category: str, timeout: float | None = None) -> None:
        """Wait for a token of ``category`` on the scheduler's clock, and take it.

        Args:
            category: the category to take a token of.
            timeout: give up after this many seconds (None: wait as long as it takes).

        Raises:
            TimeoutError: no token within ``timeout`` (counted as refused).
            ValueError: ``timeout`` is negative.
            InvalidState: no scheduler was given and no asyncio loop runs.
        """
        if timeout is not None and not timeout >= 0:
            raise ValueError(f"timeout must be >= 0, got {timeout}")
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def grant() -> None:
            if not granted.done():
                granted.set_result(None)

        claim = self.acquire(category, grant)
        if granted.done():
            return
        expiry: abc.DisposableBase | None = None
        if timeout is not None:

            def expire(_: abc.SchedulerBase, __: Any = None) -> None:
                if not granted.done():
                    granted.set_exception(TimeoutError(f"no {category!r} token within {timeout} s"))

            expiry = self._clock().schedule_relative(timeout, expire)
        try:
            await granted
        except TimeoutError:
            claim.dispose()
            self._lane(category).refused += 1
            raise
        except BaseException:
            claim.dispose()
            raise
        finally:
            if expiry is not None:
                expiry.dispose()

    # -- changing rates ------------------------------------------------------------------

    def adapt(self, queue_utilisation: float) -> bool:
        """Follow the write queue's load: above 0.8 every rate × 0.8, below 0.5 × 1.2.

        Rates stay within ``min_rate..max_rate``; the rates change at most once per
        ``adapt_period`` seconds, and a call that changes nothing does not start one.

        Args:
            queue_utilisation: queued / capacity of the write queue (0 = empty).

        Returns:
            Whether the rates changed.

        Raises:
            ValueError: ``queue_utilisation`` negative or not a number.
        """
        if not (queue_utilisation >= 0 and math.isfinite(queue_utilisation)):
            raise ValueError(f"queue_utilisation must be >= 0, got {queue_utilisation}")
        if not self._adaptive:
            return False
        if queue_utilisation > 0.8:
            factor = 0.8
        elif queue_utilisation < 0.5:
            factor = 1.2
        else:
            return False
        now = self._now()
        if self._adapted_at is not None and now - self._adapted_at < self._adapt_period - _SLACK:
            return False
        changed = False
        for lane in self._lanes.values():
            rate = min(self._max_rate, max(self._min_rate, lane.rate * factor))
            if rate != lane.rate:
                self._set_rate(lane, rate, now)
                changed = True
        if changed:
            self._adapted_at = now
            self._adaptations += 1
            self._arm(now)
        return changed

    def halve(self, category: str) -> float:
        """Halve the rate of ``category`` (not below ``min_rate``); return the new rate.

        What a relay's ``rate-limited:`` answer calls for: the sender slows down before
        the relay has to cut it off. Not subject to ``adaptive`` nor ``adapt_period``.
        """
        lane = self._lane(category)
        rate = max(self._min_rate, lane.rate / 2)
        if rate != lane.rate:
            now = self._now()
            self._set_rate(lane, rate, now)
            self._halvings += 1
            self._arm(now)
        return rate

    # -- internals -----------------------------------------------------------------------

    def _lane(self, category: str) -> _Lane:
        return self._lanes.get(category, self._fallback)

    def _adopt(self, scheduler: abc.SchedulerBase | None) -> None:
        """Use ``scheduler`` as the clock unless one is set already."""
        if self._scheduler is None and scheduler is not None:
            self._scheduler = scheduler

    def _clock(self) -> abc.SchedulerBase:
        if self._scheduler is None:
            self._scheduler = resolve_scheduler(None, None, "CategoryRateLimiter")
        return self._scheduler

    def _now(self) -> float:
        clock = self._clock()
        return clock.to_seconds(clock.now)

    def _set_rate(self, lane: _Lane, rate: float, now: float) -> None:
        lane.refill(now)  # tokens earned so far are earned at the old rate
        lane.rate = rate

    def _give_up(self, lane: _Lane, claim: _Claim) -> None:
        if claim.live:
            claim.live = False
            lane.waiting -= 1
            if lane.waiting == 0:
                lane.queue.clear()

    def _arm(self, now: float) -> None:
        """Set the wake-up for the earliest due claim (unless an earlier one is set)."""
        due: float | None = None
        for lane in self._order:
            if lane.waiting:
                lane.refill(now)
                lane_due = lane.due()
                due = lane_due if due is None else min(due, lane_due)
        if due is None:
            self._timer.disposable = None
            self._armed_at = None
            return
        if self._armed_at is not None and self._armed_at <= due + _SLACK:
            return
        self._armed_at = due
        self._timer.disposable = self._clock().schedule_relative(max(0.0, due - now), self._wake)

    def _wake(self, _: abc.SchedulerBase, __: Any = None) -> None:
        self._armed_at = None
        now = self._now()
        try:
            for lane in self._order:  # highest priority first
                if not lane.waiting:
                    continue
                lane.refill(now)
                while lane.waiting and lane.has_token():
                    claim = lane.pop()
                    lane.take()
                    claim.grant()
        finally:
            self._arm(now)
