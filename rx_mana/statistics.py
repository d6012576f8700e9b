"""Connection statistics: totals, load-average rates, latency percentiles, a quality score.

SPEC §5 item 10. :class:`ConnectionStatistics` holds counters and decaying averages on its
scheduler's clock and does no I/O (feed it with the ``record_*`` methods in a unit test);
:func:`watch` wires it to an unmodified ``Connection`` over its public streams
(``messages``, ``written``, ``errors``, ``state``, ``latencies``)::

    stats = ConnectionStatistics()
    watching = watch(conn, stats)      # dispose() to stop counting
    print(stats.report())              # a JSON-ready dict; stats.stats() a frozen snapshot

Rates are exponentially weighted like Unix load averages, in continuous time: each event
adds ``1/tau`` to an average that decays by ``exp(-dt/tau)``, so a steady ``r`` events per
second reads ``r`` once a few ``tau`` have passed, and a burst fades with time constant
``tau`` (60, 300, 900 s). They are computed when read: no timer runs.

Quality (each part in 0..1, 1 = perfect), documented here because dashboards depend on it:

* ``stability = 1 / (1 + reconnects_per_hour / 6)``: reconnects per hour is the 15-minute
  rate of reconnections times 3600; six an hour halves it.
* ``reliability = 1 - errors / (errors + messages)`` over the 5-minute rates (1 when both
  are zero): the share of events on the connection that were not faults.
* ``performance``: p90 pong latency, 1 at or below 50 ms, 0 at or above 500 ms, linear
  between (1 while no latency was measured).
* ``score = 0.4 * stability + 0.3 * reliability + 0.3 * performance`` (the seed's weights).
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable

from rx_honeybee.operators import resolve_scheduler
from rx_honeybee.write_queue import encoded_size
from rx_mana._labels import read_label
from rx_roots import ConnectionStatus

__all__ = [
    "LATENCY_WINDOW",
    "WINDOWS",
    "ConnectionStats",
    "ConnectionStatistics",
    "Watchable",
    "quality_parts",
    "watch",
]

WINDOWS = (60.0, 300.0, 900.0)
"""The time constants of the 1, 5 and 15 minute rates, in seconds."""

LATENCY_WINDOW = 100
"""Percentiles are over this many most recent pong round trips."""

UNKNOWN_LABEL = "?"  # what an envelope without a readable label is counted under

_RECONNECTS_HALVING = 6.0  # reconnects per hour that halve stability
_FAST, _SLOW = 0.050, 0.500  # p90 latency (s) scoring 1 and 0


class Watchable(Protocol):
    """What :func:`watch` reads from a connection (a honeybee ``Connection`` fits)."""

    @property
    def url(self) -> str: ...
    @property
    def scheduler(self) -> abc.SchedulerBase | None: ...
    @property
    def messages(self) -> Observable[str]: ...
    @property
    def written(self) -> Observable[str]: ...
    @property
    def errors(self) -> Observable[Exception]: ...
    @property
    def state(self) -> Observable[ConnectionStatus]: ...
    @property
    def latencies(self) -> Observable[float]: ...


@dataclass(frozen=True, slots=True)
class ConnectionStats:
    """A snapshot of :class:`ConnectionStatistics` (rates per second, times in seconds).

    ``message_rates`` and ``error_rates`` are the 1, 5 and 15 minute averages; a latency
    percentile is None until a pong was measured; ``uptime`` is the time since the latest
    CONNECTED (0 while not connected).
    """

    url: str | None
    sent: int
    received: int
    bytes_sent: int
    bytes_received: int
    sent_by_label: dict[str, int]
    received_by_label: dict[str, int]
    errors: int
    message_rates: tuple[float, float, float]
    error_rates: tuple[float, float, float]
    p50: float | None
    p90: float | None
    p99: float | None
    reconnections: int
    uptime: float
    stability: float
    reliability: float
    performance: float
    quality: float


class _Decaying:
    """Three exponentially weighted rates (events per second), brought up to date lazily."""

    __slots__ = ("stamp", "values")

    def __init__(self) -> None:
        self.values = [0.0, 0.0, 0.0]
        self.stamp: float | None = None  # clock time ``values`` are up to date at

    def at(self, now: float) -> tuple[float, float, float]:
        """Decay to ``now`` and return the rates."""
        if self.stamp is not None and now > self.stamp:
            elapsed = now - self.stamp
            for i, tau in enumerate(WINDOWS):
                self.values[i] *= math.exp(-elapsed / tau)
        if self.stamp is None or now > self.stamp:
            self.stamp = now
        one, five, fifteen = self.values
        return one, five, fifteen

    def add(self, now: float, count: int = 1) -> None:
        self.at(now)
        for i, tau in enumerate(WINDOWS):
            self.values[i] += count / tau


def _percentile(ordered: list[float], q: float) -> float | None:
    """Nearest rank, as the seed: ``ordered[min(int(n * q), n - 1)]``."""
    if not ordered:
        return None
    return ordered[min(int(len(ordered) * q), len(ordered) - 1)]


def quality_parts(
    reconnects_per_hour: float, errors_rate: float, messages_rate: float, p90: float | None
) -> tuple[float, float, float, float]:
    """Return ``(score, stability, reliability, performance)`` (see the module docstring)."""
    stability = 1.0 / (1.0 + max(0.0, reconnects_per_hour) / _RECONNECTS_HALVING)
    total = errors_rate + messages_rate
    reliability = 1.0 - errors_rate / total if total > 0 else 1.0
    if p90 is None or p90 <= _FAST:
        performance = 1.0
    elif p90 >= _SLOW:
        performance = 0.0
    else:
        performance = 1.0 - (p90 - _FAST) / (_SLOW - _FAST)
    score = 0.4 * stability + 0.3 * reliability + 0.3 * performance
    return min(1.0, max(0.0, score)), stability, reliability, performance


class ConnectionStatistics:
    """Counts and rates for one connection (or several, added up), on a scheduler's clock.

    Time is ``scheduler=``, else the scheduler of the first connection :func:`watch`
    hands over, else an ``AsyncIOScheduler`` on the running loop (resolved on first use).
    """

    def __init__(self, *, scheduler: abc.SchedulerBase | None = None) -> None:
        self._scheduler = scheduler  # the clock; resolved on first use when None
        self.url: str | None = None  # the watched connection's peer, for report()
        self._sent = Counter[str]()  # outgoing envelopes by label
        self._received = Counter[str]()  # inbound envelopes by label
        self._bytes_sent = 0
        self._bytes_received = 0
        self._errors = 0
        self._messages = _Decaying()  # both directions
        self._faults = _Decaying()
        self._reconnects = _Decaying()
        self._latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._reconnections = 0
        self._ever_connected = False
        self._connected_at: float | None = None  # clock time of the latest CONNECTED

    # -- recording (what watch() calls) --------------------------------------------------

    def record_received(self, envelope: str) -> None:
        """Count one inbound envelope."""
        self._received[read_label(envelope) or UNKNOWN_LABEL] += 1
        self._bytes_received += encoded_size(envelope)
        self._messages.add(self._now())

    def record_sent(self, envelope: str) -> None:
        """Count one envelope a socket accepted."""
        self._sent[read_label(envelope) or UNKNOWN_LABEL] += 1
        self._bytes_sent += encoded_size(envelope)
        self._messages.add(self._now())

    def record_error(self, error: Exception | None = None) -> None:
        """Count one fault."""
        self._errors += 1
        self._faults.add(self._now())

    def record_latency(self, seconds: float) -> None:
        """Keep one pong round trip (the latest :data:`LATENCY_WINDOW` are kept)."""
        self._latencies.append(seconds)

    def record_status(self, status: ConnectionStatus) -> None:
        """Follow the status: each CONNECTED after the first is a reconnection."""
        if status is ConnectionStatus.CONNECTED:
            if self._connected_at is not None:
                return  # repeated, not a new socket
            now = self._now()
            if self._ever_connected:
                self._reconnections += 1
                self._reconnects.add(now)
            self._ever_connected = True
            self._connected_at = now
        else:
            self._connected_at = None

    # -- reading -------------------------------------------------------------------------

    def stats(self) -> ConnectionStats:
        """A consistent snapshot, rates decayed to now."""
        now = self._now()
        messages = self._messages.at(now)
        faults = self._faults.at(now)
        reconnects_per_hour = self._reconnects.at(now)[2] * 3600.0
        ordered = sorted(self._latencies)
        p90 = _percentile(ordered, 0.9)
        score, stability, reliability, performance = quality_parts(
            reconnects_per_hour, faults[1], messages[1], p90
        )
        return ConnectionStats(
            url=self.url,
            sent=sum(self._sent.values()),
            received=sum(self._received.values()),
            bytes_sent=self._bytes_sent,
            bytes_received=self._bytes_received,
            sent_by_label=dict(self._sent),
            received_by_label=dict(self._received),
            errors=self._errors,
            message_rates=messages,
            error_rates=faults,
            p50=_percentile(ordered, 0.5),
            p90=p90,
            p99=_percentile(ordered, 0.99),
            reconnections=self._reconnections,
            uptime=0.0 if self._connected_at is None else max(0.0, now - self._connected_at),
            stability=stability,
            reliability=reliability,
            performance=performance,
            quality=score,
        )

    def report(self) -> dict[str, Any]:
        """The snapshot as a plain, JSON-serialisable dict (the shape SPEC §5 pins)."""
        s = self.stats()
        return {
            "url": s.url,
            "uptime": s.uptime,
            "messages": {
                "sent": s.sent,
                "received": s.received,
                "by_label": dict(Counter(s.sent_by_label) + Counter(s.received_by_label)),
            },
            "bytes": {"sent": s.bytes_sent, "received": s.bytes_received},
            "errors": s.errors,
            "rates": {
                "messages_1m": s.message_rates[0],
                "messages_5m": s.message_rates[1],
                "messages_15m": s.message_rates[2],
                "errors_1m": s.error_rates[0],
                "errors_5m": s.error_rates[1],
                "errors_15m": s.error_rates[2],
            },
            "latency": {"p50": s.p50, "p90": s.p90, "p99": s.p99},
            "reconnections": s.reconnections,
            "quality": {
                "score": s.quality,
                "stability": s.stability,
                "performance": s.performance,
                "reliability": s.reliability,
            },
        }

    # -- clock ---------------------------------------------------------------------------

    def _adopt(self, scheduler: abc.SchedulerBase | None) -> None:
        """Use ``scheduler`` as the clock unless one is set already."""
        if self._scheduler is None and scheduler is not None:
            self._scheduler = scheduler

    def _now(self) -> float:
        if self._scheduler is None:
            self._scheduler = resolve_scheduler(None, None, "ConnectionStatistics")
        clock = self._scheduler
        return clock.to_seconds(clock.now)


def watch(conn: Watchable, stats: ConnectionStatistics) -> abc.DisposableBase:
    """Count ``conn``'s traffic, faults, status and latencies into ``stats``.

    Subscribes to the connection's public streams (nothing in the connection changes);
    dispose the result to stop. ``stats.url`` becomes ``conn.url`` unless set.

    Raises:
        InvalidState: ``stats`` has no clock, ``conn`` none either, and no loop runs.
    """
    stats._adopt(conn.scheduler)
    if stats.url is None:
        stats.url = conn.url
    wiring: list[tuple[Observable[Any], Callable[[Any], None]]] = [
        (conn.state, stats.record_status),
        (conn.messages, stats.record_received),
        (conn.written, stats.record_sent),
        (conn.errors, stats.record_error),
        (conn.latencies, stats.record_latency),
    ]
    return CompositeDisposable(*(stream.subscribe(on_next) for stream, on_next in wiring))
