"""Health tracker: pong latencies and misses become a status, a score and a risk (SPEC §5 item 5).

Honeybee's own monitor only knows "answered" or "dropped after N misses". A pool choosing
among relays wants more: which relay is slow, which is getting slower, which is skipping
pongs and will soon be dropped. :class:`HealthTracker` keeps the last ``window`` samples (a
pong round trip, or a missed pong) and derives, after every sample, a :class:`HealthReport`:
latency percentiles, the trend, a ``score`` (1 = perfect) and a ``failure_risk``. It holds
policy and state only; :func:`track_health` feeds it from a connection's ``latencies``,
``errors`` and ``state`` streams, and :func:`health_reports` is the same wiring as an
operator over any merged stream of those::

    tracker = HealthTracker(latency_threshold=0.5)
    link = track_health(conn, tracker)       # one tracker per connection
    tracker.reports.subscribe(print)         # a HealthReport after every pong or miss
    if tracker.is_healthy(0.8): ...          # score >= 0.8
    link.dispose()

Status, decided in one place (:meth:`HealthTracker._status`), first rule that holds:

    FAILING    the connection is in BACKOFF or ERROR (its socket is gone)
    UNHEALTHY  misses in the window >= failure_threshold
    DEGRADED   p90 > latency_threshold, or misses in the window >= degradation_threshold
    HEALTHY    otherwise

Score, in 0..1: 0 while FAILING; else ``reliability × performance`` where
``reliability = max(0, 1 - misses / failure_threshold)`` (0 once UNHEALTHY) and
``performance = min(1, latency_threshold / p90)`` (1 while p90 is within the threshold).

Failure risk, in 0..1: 1 while FAILING; else ``1 - (1 - m) × (1 - r)`` with the miss risk
``m = min(1, misses / failure_threshold)`` and the rising-latency risk
``r = clamp(trend × window / latency_threshold, 0, 1)`` (latency climbing by a whole
threshold over one window is certain trouble; a flat or falling trend is none).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Protocol

from reactivex import Observable, abc
from reactivex import merge as rx_merge

from rx_honeybee.errors import InvalidState
from rx_honeybee.hot import HotStream
from rx_honeybee.operators import resolve_scheduler
from rx_mana.health_report import (
    HealthReport,
    HealthStats,
    HealthStatus,
    category_of,
    is_miss,
)
from rx_roots import ConnectionStatus

__all__ = [
    "HealthItem",
    "HealthReport",
    "HealthSource",
    "HealthStats",
    "HealthStatus",
    "HealthTracker",
    "category_of",
    "health_reports",
    "is_miss",
    "track_health",
]

_INITIAL = HealthReport(HealthStatus.HEALTHY, 1.0, None, None, None, 0.0, 0.0, 0)
_DOWN = frozenset({ConnectionStatus.BACKOFF, ConnectionStatus.ERROR})  # → FAILING
_MAX_ERRORS = 1000  # errors remembered for the per-category rates (between samples too)


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of a sorted, non-empty list."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of ``(x, y)`` points; 0.0 with fewer than two."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


class HealthTracker:
    """Derive a connection's health from its last ``window`` pong round trips and misses.

    One tracker per connection. Feed it with :meth:`record_latency`, :meth:`record_miss`,
    :meth:`record_error` and :meth:`record_status` (or let :func:`track_health` do it);
    every sample makes a report (:attr:`reports`), and so does a change of status caused
    by the connection's state. See the module docstring for the status rules and the
    score and risk formulas.

    Args:
        latency_threshold: seconds; a p90 round trip above it is DEGRADED.
        degradation_threshold: misses in the window that make it DEGRADED.
        failure_threshold: misses in the window that make it UNHEALTHY.
        window: how many samples (round trips and misses) are kept.
        scheduler: the clock of ``stats().status_seconds``; else the connection's
            (``track_health``), else the one given to ``subscribe`` (``health_reports``),
            else the running asyncio loop's; without any, time is not counted.

    Raises:
        ValueError: ``latency_threshold`` not > 0 and finite, or not
            ``1 <= degradation_threshold <= failure_threshold <= window``.
    """

    def __init__(
        self,
        latency_threshold: float = 0.5,
        degradation_threshold: int = 2,
        failure_threshold: int = 3,
        window: int = 10,
        *,
        scheduler: abc.SchedulerBase | None = None,
    ) -> None:
        if not (latency_threshold > 0 and math.isfinite(latency_threshold)):
            raise ValueError(f"latency_threshold must be > 0 and finite, got {latency_threshold}")
        if not 1 <= degradation_threshold <= failure_threshold <= window:
            raise ValueError(
                "need 1 <= degradation_threshold <= failure_threshold <= window, got "
                f"{degradation_threshold}, {failure_threshold}, {window}"
            )
        self._latency_threshold = float(latency_threshold)  # DEGRADED above, as p90
        self._degradation_threshold = degradation_threshold  # misses → DEGRADED
        self._failure_threshold = failure_threshold  # misses → UNHEALTHY
        self._window: deque[float | None] = deque(maxlen=window)  # round trips; None = miss
        self._down = False  # the connection is in BACKOFF or ERROR
        self._current = _INITIAL  # the latest report
        self._reports: HotStream[HealthReport] = HotStream()  # every report, hot
        self._scheduler = scheduler  # the clock; adopted or resolved on use when None
        self._since: float | None = None  # clock time the current status began (if known)
        self._seconds: dict[HealthStatus, float] = {}  # time spent in past statuses
        self._latencies = 0  # round trips recorded
        self._misses = 0  # misses recorded
        self._errors: dict[str, int] = {}  # every error, by category
        self._recent: deque[tuple[int, str]] = deque(maxlen=_MAX_ERRORS)  # (sample no, cat)
        self._transitions = 0  # status changes
        self._made = 0  # reports made
        if scheduler is not None:
            self._since = self._now()

    # -- reading -------------------------------------------------------------------------

    @property
    def reports(self) -> Observable[HealthReport]:
        """A report after every sample and every status change; hot, never completes."""
        return self._reports

    @property
    def score(self) -> float:
        """The current score, 0..1 (1 = perfect); what a balanced pool compares."""
        return self._current.score

    @property
    def status(self) -> HealthStatus:
        """The current status."""
        return self._current.status

    def report(self) -> HealthReport:
        """Return the current report (HEALTHY, score 1.0 before any sample)."""
        return self._current

    def is_degraded(self) -> bool:
        """Whether the status is anything but HEALTHY."""
        return self._current.status is not HealthStatus.HEALTHY

    def is_healthy(self, threshold: float = 0.5) -> bool:
        """Whether ``score >= threshold``."""
        return self._current.score >= threshold

    def stats(self) -> HealthStats:
        """Return the counts, the error rates over the window and the time per status."""
        samples = self._latencies + self._misses
        self._prune(samples)
        rates: dict[str, float] = {}
        for _, category in self._recent:
            rates[category] = rates.get(category, 0.0) + 1.0
        span = max(1, len(self._window))
        seconds = {status.value: spent for status, spent in self._seconds.items()}
        now = self._now()
        if now is not None and self._since is not None:
            current = self._current.status.value
            seconds[current] = seconds.get(current, 0.0) + (now - self._since)
        return HealthStats(
            status=self._current.status,
            samples=samples,
            latencies=self._latencies,
            misses=self._misses,
            errors=dict(self._errors),
            error_rates={category: count / span for category, count in rates.items()},
            transitions=self._transitions,
            reports=self._made,
            status_seconds=seconds,
        )

    # -- feeding -------------------------------------------------------------------------

    def record_latency(self, seconds: float) -> HealthReport:
        """Record a pong round trip, in seconds; return (and emit) the new report.

        Raises:
            ValueError: ``seconds`` negative or not finite.
        """
        if not (seconds >= 0 and math.isfinite(seconds)):
            raise ValueError(f"a latency must be >= 0 and finite, got {seconds}")
        self._latencies += 1
        self._window.append(float(seconds))
        return self._update()

    def record_miss(self) -> HealthReport:
        """Record a missed pong; return (and emit) the new report."""
        self._misses += 1
        self._window.append(None)
        return self._update()

    def record_error(self, error: BaseException) -> HealthReport | None:
        """Count ``error`` by category; a missed pong (see :func:`is_miss`) is a sample too.

        Returns:
            The new report for a miss, else None (other errors are not samples).
        """
        category = category_of(error)
        self._errors[category] = self._errors.get(category, 0) + 1
        self._recent.append((self._latencies + self._misses, category))
        return self.record_miss() if is_miss(error) else None

    def record_status(self, status: ConnectionStatus) -> HealthReport | None:
        """Follow the connection's status: BACKOFF or ERROR is FAILING, anything else not.

        Returns:
            The new report when FAILING began or ended, else None.
        """
        down = status in _DOWN
        if down == self._down:
            return None
        self._down = down  # FAILING begins or ends: the status changes either way
        return self._update()

    # -- internals -----------------------------------------------------------------------

    def _adopt(self, scheduler: abc.SchedulerBase | None) -> None:
        """Use ``scheduler`` as the clock unless one is known already."""
        if self._scheduler is None and scheduler is not None:
            self._scheduler = scheduler

    def _now(self) -> float | None:
        if self._scheduler is None:
            try:
                self._scheduler = resolve_scheduler(None, None, "HealthTracker")
            except InvalidState:
                return None  # no loop, no clock: time is not counted
        clock = self._scheduler
        return clock.to_seconds(clock.now)

    def _prune(self, samples: int) -> None:
        """Forget errors that came before the oldest sample of the window."""
        oldest = samples - len(self._window)
        recent = self._recent
        while recent and recent[0][0] < oldest:
            recent.popleft()

    def _status(self, misses: int, p90: float | None) -> HealthStatus:
        if self._down:
            return HealthStatus.FAILING
        if misses >= self._failure_threshold:
            return HealthStatus.UNHEALTHY
        if misses >= self._degradation_threshold or (
            p90 is not None and p90 > self._latency_threshold
        ):
            return HealthStatus.DEGRADED
        return HealthStatus.HEALTHY

    def _assess(self) -> HealthReport:
        """Derive the report from the window (see the module docstring for the formulas)."""
        points = [(x, y) for x, y in enumerate(self._window) if y is not None]
        misses = len(self._window) - len(points)
        ordered = sorted(y for _, y in points)
        p50 = p90 = p99 = None
        if ordered:
            p50, p90, p99 = (_percentile(ordered, q) for q in (0.5, 0.9, 0.99))
        trend = _slope(points)
        status = self._status(misses, p90)
        threshold = self._latency_threshold
        miss_risk = min(1.0, misses / self._failure_threshold)
        if status is HealthStatus.FAILING:
            score, risk = 0.0, 1.0
        else:
            performance = 1.0 if not p90 or p90 <= threshold else threshold / p90
            score = (1.0 - miss_risk) * performance
            rising = _clamp(trend * (self._window.maxlen or 1) / threshold)
            risk = 1.0 - (1.0 - miss_risk) * (1.0 - rising)
        return HealthReport(status, score, p50, p90, p99, trend, risk, misses)

    def _update(self) -> HealthReport:
        """Reassess, account for a status change, store and emit the report."""
        report = self._assess()
        before = self._current.status
        now = self._now()
        if report.status is not before:
            self._transitions += 1
            if now is not None and self._since is not None:
                self._seconds[before] = self._seconds.get(before, 0.0) + (now - self._since)
            self._since = now
        elif self._since is None:
            self._since = now  # the clock became known: count from here
        self._current = report
        self._made += 1
        self._reports.on_next(report)
        return report


class HealthSource(Protocol):
    """What :func:`track_health` reads: a honeybee ``Connection`` has all of it."""

    @property
    def latencies(self) -> Observable[float]: ...

    @property
    def errors(self) -> Observable[Exception]: ...

    @property
    def state(self) -> Observable[ConnectionStatus]: ...

    @property
    def scheduler(self) -> abc.SchedulerBase | None: ...


HealthItem = float | BaseException | ConnectionStatus
"""What :func:`health_reports` takes: a round trip, an error, or a connection status."""


def health_reports(
    tracker: HealthTracker,
) -> Callable[[Observable[HealthItem]], Observable[HealthReport]]:
    """Feed ``tracker`` from a stream of samples; emit each report it makes from them.

    A float (or int) is a pong round trip; an exception goes to ``record_error`` (a missed
    pong is a sample); a ``ConnectionStatus`` to ``record_status``. Items that make no
    report (an ordinary error, a status that changes nothing) emit nothing::

        ---0.1---PongTimeout---BACKOFF---CONNECTED---0.1--->
        ---r1----r2------------r3(FAILING)-r4--------r5---->

    Example:
        >>> merge(conn.latencies, conn.errors, conn.state).pipe(health_reports(tracker))

    Args:
        tracker: the tracker to feed (its state is shared by every subscription).

    Returns:
        An operator from samples to reports; an item of any other type, or a negative
        round trip, errors the output (``TypeError``/``ValueError``).
    """

    def operator(source: Observable[HealthItem]) -> Observable[HealthReport]:
        def subscribe(
            observer: abc.ObserverBase[HealthReport], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            tracker._adopt(scheduler)

            def on_next(item: HealthItem) -> None:
                report: HealthReport | None
                try:
                    if isinstance(item, ConnectionStatus):
                        report = tracker.record_status(item)
                    elif isinstance(item, BaseException):
                        report = tracker.record_error(item)
                    elif isinstance(item, int | float) and not isinstance(item, bool):
                        report = tracker.record_latency(float(item))
                    else:
                        raise TypeError(f"not a health sample: {item!r}")
                except (TypeError, ValueError) as exc:
                    observer.on_error(exc)
                    return
                if report is not None:
                    observer.on_next(report)

            return source.subscribe(
                on_next, observer.on_error, observer.on_completed, scheduler=scheduler
            )

        return Observable(subscribe)

    return operator


def track_health(conn: HealthSource, tracker: HealthTracker) -> abc.DisposableBase:
    """Feed ``tracker`` from ``conn``'s ``latencies``, ``errors`` and ``state``.

    The connection's scheduler becomes the tracker's clock (unless it has one). Health
    monitoring must be enabled on the connection (``config.health``) for round trips and
    misses to arrive. Dispose the result to stop; the tracker keeps its state.
    """
    tracker._adopt(conn.scheduler)
    samples: Observable[HealthItem] = rx_merge(conn.latencies, conn.errors, conn.state)
    # No scheduler= to subscribe: merge would then subscribe its sources on it, later (never,
    # on a TestScheduler nobody advances), and miss the status the state stream replays.
    return samples.pipe(health_reports(tracker)).subscribe(
        on_error=lambda _: None,  # the connection's streams only complete
    )
