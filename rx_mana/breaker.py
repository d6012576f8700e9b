"""Circuit breaker: stop dialling a relay that keeps failing, then probe it (SPEC §5 item 4).

Plain backoff keeps dialling a dead relay forever, and a pool of connections to one host
storms it the moment it comes back. :class:`CircuitBreaker` backs off per failure
category (:mod:`rx_mana.failures`), and after ``failure_threshold`` consecutive failures
opens the circuit: nobody it serves dials for ``reset_timeout``; then, HALF_OPEN, at most
``half_open_max_calls`` probes dial; one that stays up closes the circuit, one that fails
opens it again. It plugs in as honeybee's ``retry_when`` notifier (no I/O of its own)::

    breaker = CircuitBreaker(failure_threshold=5, reset_timeout=60.0)
    conn = Connection(url, config, reconnect=breaker.notifier)

One breaker may serve several connections (all those of one host): the counts, the state
and the probe budget are shared. The notifier only sees failures, so success is inferred:
a retry the breaker released that no failure follows within ``stable_after`` seconds was a
connection that came up. Consecutive failures (and a category's ``max_attempts``) count
from the last such success; a new Connection's first dial is not held back (the breaker
only decides redials).
"""

from __future__ import annotations

import enum
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from reactivex import Observable, abc

from rx_honeybee.errors import MaxReconnectAttemptsExceeded
from rx_honeybee.hot import HotStream
from rx_honeybee.lean import SerialSlot, Sink, later, lean
from rx_honeybee.operators import resolve_scheduler
from rx_mana.failures import DEFAULT_CATEGORIES, NETWORK, FailureStrategy, classify, jittered

__all__ = ["BreakerStats", "CircuitBreaker", "CircuitState", "FailureRecord"]

HISTORY = 10  # failures kept in ``history``


class CircuitState(enum.Enum):
    """Whether the breaker lets connections dial."""

    CLOSED = "closed"  # dial, backing off per category
    OPEN = "open"  # nobody dials until ``reset_timeout`` has passed
    HALF_OPEN = "half-open"  # up to ``half_open_max_calls`` probes dial


@dataclass(frozen=True, slots=True)
class FailureRecord:
    """One failure in ``history``: when (scheduler seconds), its category, its message."""

    time: float
    category: str
    message: str


@dataclass(frozen=True, slots=True)
class BreakerStats:
    """What the breaker saw since construction, and where it stands now.

    ``failures``: every failure; ``by_category``: those per category; ``consecutive``:
    failures since the last success; ``retries``: dials released (probes included);
    ``probes``: dials released while HALF_OPEN; ``successes``: released dials that stayed
    up ``stable_after``; ``opened``/``closed``: circuit transitions to OPEN / from
    HALF_OPEN to CLOSED; ``given_up``: connections ended by a category's ``max_attempts``;
    ``waiting``: connections held back by the circuit now.
    """

    state: CircuitState
    failures: int
    by_category: dict[str, int]
    consecutive: int
    retries: int
    probes: int
    successes: int
    opened: int
    closed: int
    given_up: int
    waiting: int


class CircuitBreaker:
    """A shared reconnect policy: per-category backoff plus a circuit with half-open probes.

    Args:
        failure_threshold: consecutive failures (any category) that open the circuit.
        reset_timeout: seconds the circuit stays OPEN before it lets probes through.
        half_open_max_calls: probes allowed to dial at once while HALF_OPEN.
        probe_timeout: seconds a HALF_OPEN circuit waits for its probes' verdict; if none
            has failed or stayed up by then (``stable_after`` is longer), it opens again.
        categories: each category's :class:`FailureStrategy`; must include "network".
        jitter: each wait moves by up to ± this fraction of itself (0..1).
        stable_after: seconds without a failure after a released dial that count as
            a connection that came up (as ``ReconnectConfig.stable_after``).
        scheduler: the clock and timers; default: the first scheduler a notifier
            subscription hands over (the connection's), else the running asyncio loop.
        rng: the jitter's source (seed one in tests).

    Raises:
        ValueError: a setting out of range, or ``categories`` without "network".
    """

    def __init__(
        self,
        failure_threshold: int = 10,
        reset_timeout: float = 300.0,
        half_open_max_calls: int = 3,
        probe_timeout: float = 10.0,
        categories: Mapping[str, FailureStrategy] = DEFAULT_CATEGORIES,
        jitter: float = 0.2,
        *,
        stable_after: float = 5.0,
        scheduler: abc.SchedulerBase | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {failure_threshold}")
        if not reset_timeout >= 0:
            raise ValueError(f"reset_timeout must be >= 0, got {reset_timeout}")
        if half_open_max_calls < 1:
            raise ValueError(f"half_open_max_calls must be >= 1, got {half_open_max_calls}")
        if not probe_timeout > 0:
            raise ValueError(f"probe_timeout must be > 0, got {probe_timeout}")
        if not 0 <= jitter <= 1:
            raise ValueError(f"jitter must be in 0..1, got {jitter}")
        if not stable_after >= 0:
            raise ValueError(f"stable_after must be >= 0, got {stable_after}")
        if NETWORK not in categories:
            raise ValueError(f"categories must include {NETWORK!r} (the fallback)")
        for name, strategy in categories.items():
            if not isinstance(strategy, FailureStrategy):
                raise ValueError(f"category {name!r} needs a FailureStrategy, got {strategy!r}")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.half_open_max_calls = half_open_max_calls
        self.probe_timeout = probe_timeout
        self.categories: Mapping[str, FailureStrategy] = dict(categories)
        self.jitter = jitter
        self.stable_after = stable_after
        self._scheduler: abc.SchedulerBase | None = scheduler  # resolved at first use
        self._rng = rng if rng is not None else random.Random()  # jitter source
        self._state = CircuitState.CLOSED  # changed only by _move
        self._states: HotStream[CircuitState] = HotStream(
            replay_last=True, initial=CircuitState.CLOSED
        )  # ``state``, replaying the current one
        self._consecutive = 0  # failures since the last success
        self._counts: dict[str, int] = {}  # failures per category since the last success
        self._waiting: dict[_Watch, None] = {}  # held back by the circuit, in arrival order
        self._probes: set[_Watch] = set()  # released while HALF_OPEN, verdict pending
        self._reset_timer = SerialSlot()  # OPEN -> HALF_OPEN
        self._probe_timer = SerialSlot()  # HALF_OPEN without a verdict -> OPEN
        self._history: deque[FailureRecord] = deque(maxlen=HISTORY)  # the last failures
        self._failures = 0
        self._by_category: dict[str, int] = {}
        self._retries = 0
        self._probed = 0
        self._successes = 0
        self._opened = 0
        self._closed = 0
        self._given_up = 0

    # -- public --------------------------------------------------------------------------

    @property
    def state(self) -> Observable[CircuitState]:
        """The circuit's state: the current one at once, then every change."""
        return self._states

    @property
    def current(self) -> CircuitState:
        """The circuit's state now."""
        return self._state

    @property
    def history(self) -> list[FailureRecord]:
        """The last ten failures, oldest first."""
        return list(self._history)

    def stats(self) -> BreakerStats:
        """A snapshot of the counters and the state."""
        return BreakerStats(
            state=self._state,
            failures=self._failures,
            by_category=dict(self._by_category),
            consecutive=self._consecutive,
            retries=self._retries,
            probes=self._probed,
            successes=self._successes,
            opened=self._opened,
            closed=self._closed,
            given_up=self._given_up,
            waiting=len(self._waiting),
        )

    def notifier(self, failures: Observable[Exception]) -> Observable[float]:
        """A ``retry_when`` notifier: emits (the seconds waited) to dial again, errors to stop.

        Pass the bound method as ``Connection(url, config, reconnect=breaker.notifier)``;
        each subscription (each connection) shares this breaker's counts and circuit.
        """

        def subscribe(observer: Sink, scheduler: abc.SchedulerBase | None = None) -> _Watch:
            watch = _Watch(self, observer)
            try:
                self._resolve(scheduler)
            except Exception as exc:
                observer.on_error(exc)
                return watch
            watch.start(failures, scheduler)
            return watch

        return lean(subscribe)

    # -- the policy ----------------------------------------------------------------------

    def _resolve(self, subscribed: abc.SchedulerBase | None) -> abc.SchedulerBase:
        if self._scheduler is None:
            # no scheduler= was given (it would be set): the subscriber's, else the loop's
            self._scheduler = resolve_scheduler(None, subscribed, "CircuitBreaker")
        return self._scheduler

    def _now(self) -> float:
        scheduler = self._resolve(None)
        return scheduler.to_seconds(scheduler.now)

    def _failed(self, watch: _Watch, error: Exception) -> None:
        """One failure from ``watch``: count it, move the circuit, then retry, hold or stop."""
        category = classify(error, self.categories)
        self._history.append(FailureRecord(self._now(), category, str(error)))
        self._failures += 1
        self._by_category[category] = self._by_category.get(category, 0) + 1
        self._probes.discard(watch)
        self._consecutive += 1
        count = self._counts[category] = self._counts.get(category, 0) + 1
        if self._state is CircuitState.HALF_OPEN or (
            self._state is CircuitState.CLOSED and self._consecutive >= self.failure_threshold
        ):
            self._open()
        strategy = self.categories[category]
        if strategy.max_attempts and count >= strategy.max_attempts:
            self._given_up += 1
            give_up = MaxReconnectAttemptsExceeded(count - 1)
            give_up.__cause__ = error
            watch.fail(give_up)
        elif self._state is CircuitState.OPEN:
            self._waiting[watch] = None
        else:
            delay = jittered(strategy.delay(count - 1), self.jitter, self._rng)
            watch.wait(delay)

    def _release(self, watch: _Watch) -> None:
        """``watch`` waited out its delay: dial if the circuit lets it, else hold it."""
        if self._state is CircuitState.CLOSED:
            self._grant(watch)
        elif self._state is CircuitState.HALF_OPEN and len(self._probes) < self.half_open_max_calls:
            self._grant_probe(watch)
        else:
            self._waiting[watch] = None

    def _grant(self, watch: _Watch) -> None:
        self._retries += 1
        watch.dial()

    def _grant_probe(self, watch: _Watch) -> None:
        self._probes.add(watch)  # before dialling: a dial may fail on this very stack
        self._probed += 1
        if self._probe_timer.disposable is None:
            self._probe_timer.disposable = later(
                self._resolve(None), self.probe_timeout, self._probe_timed_out
            )
        self._grant(watch)

    def _stayed_up(self, watch: _Watch) -> None:
        """A released dial saw no failure for ``stable_after``: the relay works again."""
        if self._state is CircuitState.OPEN:
            return  # a later failure opened the circuit: the newer evidence wins
        self._successes += 1
        self._consecutive = 0
        self._counts.clear()
        self._probes.discard(watch)
        if self._state is CircuitState.HALF_OPEN:
            self._closed += 1
            self._move(CircuitState.CLOSED)
            self._probes.clear()
            while self.current is CircuitState.CLOSED and self._waiting:
                self._grant(self._pop_waiting())

    def _open(self) -> None:
        self._opened += 1
        self._probes.clear()
        self._move(CircuitState.OPEN)
        self._reset_timer.disposable = later(
            self._resolve(None), self.reset_timeout, self._half_open
        )

    def _half_open(self) -> None:
        self._reset_timer.disposable = None
        self._move(CircuitState.HALF_OPEN)
        self._let_probes_through()

    def _let_probes_through(self) -> None:
        while (
            self._state is CircuitState.HALF_OPEN
            and self._waiting
            and len(self._probes) < self.half_open_max_calls
        ):
            self._grant_probe(self._pop_waiting())

    def _probe_timed_out(self) -> None:
        self._probe_timer.disposable = None
        if self._state is CircuitState.HALF_OPEN and self._probes:
            self._open()

    def _move(self, state: CircuitState) -> None:
        self._state = state
        if state is not CircuitState.HALF_OPEN:
            self._probe_timer.disposable = None
        self._states.on_next(state)

    def _pop_waiting(self) -> _Watch:
        watch = next(iter(self._waiting))
        del self._waiting[watch]
        return watch

    def _left(self, watch: _Watch) -> None:
        """``watch`` was disposed: it holds no place in line and no probe slot."""
        self._waiting.pop(watch, None)
        if watch in self._probes:
            self._probes.discard(watch)
            self._let_probes_through()


class _Watch(abc.DisposableBase):
    """One notifier subscription (one connection's ``retry_when``) of a breaker."""

    __slots__ = ("breaker", "delay", "done", "main", "observer", "stable", "stopped", "timer")

    def __init__(self, breaker: CircuitBreaker, observer: Sink) -> None:
        self.breaker = breaker  # the shared policy
        self.observer = observer  # the output: one item per released dial
        self.main: abc.DisposableBase | None = None  # subscription to the failures
        self.timer = SerialSlot()  # the backoff being waited out
        self.stable = SerialSlot()  # "stayed up" timer after a released dial
        self.delay = 0.0  # the backoff last waited, emitted with the dial
        self.done = False  # the failures completed: complete once nothing is pending
        self.stopped = False  # the output terminated or was disposed

    def start(self, failures: Observable[Exception], scheduler: abc.SchedulerBase | None) -> None:
        self.main = failures.subscribe(
            self.on_failure, self.on_upstream_error, self.on_upstream_completed, scheduler=scheduler
        )

    def on_failure(self, error: Exception) -> None:
        if self.stopped:
            return
        self.stable.disposable = None  # a failure after the dial: it did not stay up
        self.timer.disposable = None  # never with retry_when; the newest failure decides
        self.breaker._waiting.pop(self, None)
        self.breaker._failed(self, error)

    def wait(self, delay: float) -> None:
        self.delay = delay
        self.timer.disposable = later(self.breaker._resolve(None), delay, self.waited)

    def waited(self) -> None:
        self.timer.disposable = None
        self.breaker._release(self)

    def dial(self) -> None:
        breaker = self.breaker
        self.stable.disposable = later(breaker._resolve(None), breaker.stable_after, self.stayed_up)
        self.observer.on_next(self.delay)
        if self.done and not self.stopped:
            self.finish()

    def stayed_up(self) -> None:
        self.stable.disposable = None
        self.breaker._stayed_up(self)

    def fail(self, error: Exception) -> None:
        self.dispose()
        self.observer.on_error(error)

    def finish(self) -> None:
        self.dispose()
        self.observer.on_completed()

    def on_upstream_error(self, error: Exception) -> None:
        if not self.stopped:
            self.fail(error)

    def on_upstream_completed(self) -> None:
        self.done = True
        if not self.stopped and self.timer.disposable is None and self not in self.breaker._waiting:
            self.finish()

    def dispose(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.timer.dispose()
        self.stable.dispose()
        self.breaker._left(self)
        if self.main is not None:
            self.main.dispose()
