"""A pool that can also pick ONE relay: for a query, a send, a key (SPEC §5 item 2).

A honeybee :class:`~rx_honeybee.Pool` sends every subscription to every relay. Often one
relay is enough (a lookup by id, a profile fetch), and asking all of them costs their
bandwidth and ours. :class:`BalancedPool` is that Pool, unchanged, plus :meth:`pick`
(a :mod:`~rx_mana.strategies` strategy chooses among the CONNECTED relays healthy
enough), :meth:`send_one` and :meth:`query` (REQ to one relay until EOSE, failing over
to the next pick on an error or a timeout)::

    async with BalancedPool(urls, strategy=ResponseTime()) as pool:
        events = await pool.query([{"ids": [event_id]}], timeout=3.0).pipe(ops.to_list())
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rx_honeybee.client.initiator import request
from rx_honeybee.client.pool import Pool
from rx_honeybee.client.seen import SeenIds
from rx_honeybee.config import ConnectionConfig
from rx_honeybee.connection import Connection
from rx_honeybee.errors import HoneybeeError, InvalidState, RelayAlreadyExists
from rx_honeybee.interfaces import ConnectionFactory, FanOut
from rx_honeybee.operators import resolve_scheduler
from rx_mana.strategies import Candidate, RoundRobin, Strategy
from rx_roots import ConnectionStatus, normalize_relay_url

if TYPE_CHECKING:
    from rx_mana.health import HealthTracker

__all__ = ["BalancedPool", "BalancedPoolStats", "NoHealthyRelay", "QueryTimeout"]

_SAMPLES_KEPT = 100  # round trips kept per relay (for the p95)
_RECENT = 10  # of which the newest make the "recent mean" a strategy sees
_SEEN_CAP = 50_000  # event ids one query remembers to drop repeats after a failover


class NoHealthyRelay(HoneybeeError):
    """No relay of the pool may serve now: none CONNECTED with a good enough health score."""


class QueryTimeout(HoneybeeError, TimeoutError):
    """One relay sent no EOSE within the query's timeout (``url``, ``timeout``)."""

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__(f"{url} sent no EOSE within {timeout} s")
        self.url = url  # the relay that was too slow
        self.timeout = timeout  # seconds it was given


@dataclass(frozen=True, slots=True)
class BalancedPoolStats:
    """What the pool chose and how fast it was answered.

    ``picks``: picks per relay; ``failovers``: queries moved on to another relay;
    ``response_p95``: the 95th percentile of each relay's recent query round trips
    (REQ to EOSE, a failed attempt counting as the full timeout), in seconds, for relays
    with at least one; ``queries``: queries started; ``queries_failed``: those that
    ran out of relays.
    """

    picks: dict[str, int]
    failovers: int
    response_p95: dict[str, float]
    queries: int
    queries_failed: int


class BalancedPool(Pool):
    """A :class:`~rx_honeybee.Pool` that can pick one relay by a strategy.

    Args:
        urls, config, scheduler, connection_factory, fan_out: as for ``Pool``.
        strategy: chooses among the candidates (``RoundRobin()`` by default).
        health_threshold: the health score (0..1) a relay needs to be picked; above 0 a
            ``rx_mana.health.HealthTracker`` follows each relay.
        max_per_host: at most this many relays of one host name (``add_relay`` refuses
            more with ``RelayAlreadyExists``).

    Raises:
        ValueError: ``health_threshold`` outside 0..1, ``max_per_host`` < 1, or ``urls``
            with more than ``max_per_host`` relays of one host.
    """

    def __init__(
        self,
        urls: Iterable[str] = (),
        config: ConnectionConfig | None = None,
        *,
        strategy: Strategy | None = None,
        health_threshold: float = 0.0,
        max_per_host: int | None = None,
        scheduler: abc.SchedulerBase | None = None,
        connection_factory: ConnectionFactory | None = None,
        fan_out: FanOut | None = None,
    ) -> None:
        if not 0.0 <= health_threshold <= 1.0:
            raise ValueError(f"health_threshold must be in 0..1, got {health_threshold}")
        if max_per_host is not None and max_per_host < 1:
            raise ValueError(f"max_per_host must be >= 1, got {max_per_host}")
        urls = list(dict.fromkeys(normalize_relay_url(u) for u in urls))
        if max_per_host is not None:
            for url in urls:
                if sum(_host(u) == _host(url) for u in urls) > max_per_host:
                    raise ValueError(f"more than {max_per_host} relays of {_host(url)}")
        super().__init__(
            urls,
            config,
            scheduler=scheduler,
            connection_factory=connection_factory,
            fan_out=fan_out,
        )
        self.strategy: Strategy = strategy if strategy is not None else RoundRobin()  # chooser
        self.health_threshold = health_threshold  # minimum score to be a candidate
        self.max_per_host = max_per_host  # relays per host name, at most
        self._health: dict[str, tuple[HealthTracker, abc.DisposableBase]] = {}  # url → tracker
        self._samples: dict[str, deque[float]] = {}  # url → recent round trips (s)
        self.membership.subscribe(self._on_membership)  # relays joining and leaving
        self._picks: dict[str, int] = {}  # url → times picked
        self._failovers = 0  # queries moved on to another relay
        self._queries = 0  # queries started
        self._queries_failed = 0  # queries that ran out of relays

    async def __aenter__(self) -> BalancedPool:
        await super().__aenter__()
        return self

    # -- relays --------------------------------------------------------------------------

    async def add_relay(self, url: str) -> None:
        """Add ``url`` (see ``Pool.add_relay``), unless its host has ``max_per_host`` relays.

        Raises:
            RelayAlreadyExists: in the pool already, or its host is full.
            InvalidState: the pool is closed.
        """
        if self.max_per_host is not None:
            key = normalize_relay_url(url)
            host = _host(key)
            same = [u for u in self.relays if _host(u) == host and u != key]
            if len(same) >= self.max_per_host:
                raise RelayAlreadyExists(
                    f"{host} has {len(same)} relays already (max_per_host={self.max_per_host})"
                )
        await super().add_relay(url)

    def _on_membership(self, change: tuple[str, Connection | None]) -> None:
        """A relay joined (its health is followed) or left (forgotten)."""
        url, conn = change
        if conn is not None:
            if self.health_threshold > 0:
                self._watch_health(url, conn)
            return
        watched = self._health.pop(url, None)
        if watched is not None:
            watched[1].dispose()
        self._samples.pop(url, None)

    def _watch_health(self, url: str, conn: Connection) -> None:
        """Follow ``conn`` with a health tracker of its own."""
        from rx_mana.health import HealthTracker, track_health  # only pools that use it pay

        tracker = HealthTracker(scheduler=self._scheduler)
        self._health[url] = (tracker, track_health(conn, tracker))

    def score(self, url: str) -> float:
        """``url``'s health score in 0..1 (1.0 when health is not tracked)."""
        watched = self._health.get(normalize_relay_url(url))
        return 1.0 if watched is None else float(watched[0].score)

    # -- picking -------------------------------------------------------------------------

    def candidates(self, exclude: Iterable[str] = ()) -> list[Candidate]:
        """The relays that may serve now: CONNECTED, score ≥ ``health_threshold``."""
        skip = set(exclude)
        found = []
        for url in self.relays:
            if url in skip:
                continue
            conn = self.connection(url)
            if conn.status is not ConnectionStatus.CONNECTED:
                continue
            score = self.score(url)
            if score < self.health_threshold:
                continue
            found.append(Candidate(url, _load(conn), self._recent(url), score))
        return found

    def pick(self, key: str | None = None) -> str:
        """Choose one relay by the strategy (``key`` for ``ConsistentHash``).

        Raises:
            NoHealthyRelay: no relay may serve now (at once; it never waits for one).
        """
        return self._pick(key, ())

    def _pick(self, key: str | None, exclude: Iterable[str]) -> str:
        found = self.candidates(exclude)
        if not found:
            raise NoHealthyRelay(
                f"no relay of {len(self.relays)} is CONNECTED with health score "
                f">= {self.health_threshold}"
            )
        url = self.strategy.choose(found, key)
        self._picks[url] = self._picks.get(url, 0) + 1
        return url

    def send_one(self, envelope: str, key: str | None = None) -> str:
        """Queue ``envelope`` on one picked relay; return its url.

        Raises:
            NoHealthyRelay: no relay may serve now.
        """
        url = self.pick(key)
        self.connection(url).send(envelope)
        return url

    def query(
        self,
        filters: Sequence[Mapping[str, Any]],
        key: str | None = None,
        *,
        timeout: float = 10.0,
        verify: bool = True,
    ) -> Observable[dict[str, Any]]:
        """REQ ``filters`` on one picked relay; emit its stored events, complete at EOSE.

        ::

            picked relay answers:     -e-e-E        →  -e-e-|
            picked relay silent:      ---------     →  (timeout) REQ on the next pick
            every relay failed:                     →  # the last failure

        A relay that errs (``SubscriptionClosed``...) or sends no EOSE within ``timeout``
        seconds is left (CLOSE sent) for the next pick; each relay is tried at most once.
        Events already emitted are not emitted again by the next relay. Each attempt's
        round trip (REQ to EOSE; a failure counts as ``timeout``) feeds ``ResponseTime``
        and :meth:`stats`.

        Raises:
            ValueError: ``timeout`` <= 0 (at call time).

        Errors:
            NoHealthyRelay: no relay could serve at subscription; else the last failure
            (``QueryTimeout`` for a silent relay).
        """
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0, got {timeout}")
        wanted = [dict(f) for f in filters]

        def subscribe(
            observer: abc.ObserverBase[dict[str, Any]], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            clock = resolve_scheduler(self._scheduler, scheduler, "BalancedPool.query")
            run = _Query(self, wanted, key, timeout, verify, clock, observer)
            run.next_relay(None)
            return Disposable(run.dispose)

        return Observable(subscribe)

    # -- measurements --------------------------------------------------------------------

    def _record(self, url: str, seconds: float) -> None:
        self._samples.setdefault(url, deque(maxlen=_SAMPLES_KEPT)).append(seconds)

    def _recent(self, url: str) -> float | None:
        samples = self._samples.get(url)
        if not samples:
            return None
        recent = list(samples)[-_RECENT:]
        return sum(recent) / len(recent)

    def stats(self) -> BalancedPoolStats:
        """Picks, failovers and response times so far."""
        return BalancedPoolStats(
            picks=dict(self._picks),
            failovers=self._failovers,
            response_p95={url: _p95(s) for url, s in self._samples.items() if s},
            queries=self._queries,
            queries_failed=self._queries_failed,
        )


class _Query:
    """One subscription to ``BalancedPool.query``: the relay tried now and those before."""

    def __init__(
        self,
        pool: BalancedPool,
        filters: list[dict[str, Any]],
        key: str | None,
        timeout: float,
        verify: bool,
        clock: abc.SchedulerBase,
        observer: abc.ObserverBase[dict[str, Any]],
    ) -> None:
        self.pool = pool  # whose relays
        self.filters = filters  # what to ask
        self.key = key  # the strategy's hint
        self.timeout = timeout  # seconds each relay gets to reach EOSE
        self.verify = verify  # check ids and signatures
        self.clock = clock  # timers and round trips
        self.observer = observer  # downstream
        self.tried: list[str] = []  # relays asked, in order
        self.attempt = 0  # bumps on each relay; callbacks of older attempts are ignored
        self.started: datetime = clock.now  # when the current attempt sent its REQ
        self.conn: Connection | None = None  # the current relay's connection
        self.inner: abc.DisposableBase | None = None  # the current relay's request
        self.timer: abc.DisposableBase | None = None  # the current relay's deadline
        self.seen = SeenIds(_SEEN_CAP)  # ids emitted, so a failover repeats none
        self.done = False  # completed, failed or disposed
        pool._queries += 1

    def next_relay(self, failure: Exception | None) -> None:
        """Ask the next pick; with none left, fail with ``failure`` (or NoHealthyRelay)."""
        try:
            url = self.pool._pick(self.key, self.tried)
        except NoHealthyRelay as none:
            self.done = True
            self.pool._queries_failed += 1
            self.observer.on_error(failure if failure is not None else none)
            return
        if failure is not None:
            self.pool._failovers += 1
        self.tried.append(url)
        self.attempt += 1
        attempt = self.attempt
        self.started = self.clock.now
        conn = self.conn = self.pool.connection(url)
        self.timer = self.clock.schedule_relative(
            self.timeout, lambda _s, _st: self._failed(attempt, QueryTimeout(url, self.timeout))
        )
        try:
            inner = request(
                conn,
                self.filters,
                close_on_eose=True,
                verify=self.pool._checker(self.verify),
            ).subscribe(
                lambda event: self._event(attempt, event),
                lambda error: self._failed(attempt, error),
                lambda: self._eose(attempt),
            )
        except Exception as exc:
            self._failed(attempt, exc)
            return
        if self.attempt == attempt and not self.done:
            self.inner = inner
        else:  # it ended while subscribing
            inner.dispose()

    def _event(self, attempt: int, event: dict[str, Any]) -> None:
        if attempt == self.attempt and not self.done and self.seen.add(event["id"]):
            self.observer.on_next(event)

    def _eose(self, attempt: int) -> None:
        if attempt != self.attempt or self.done:
            return
        if self.conn is not None and self.conn.status is ConnectionStatus.CLOSED:
            # request() also completes when its connection is closed: that is no answer
            self._failed(attempt, InvalidState(f"{self.tried[-1]} closed before EOSE"))
            return
        self.pool._record(self.tried[-1], self._elapsed())
        self._stop_attempt()
        self.done = True
        self.observer.on_completed()

    def _failed(self, attempt: int, error: Exception) -> None:
        if attempt != self.attempt or self.done:
            return
        self.pool._record(self.tried[-1], max(self._elapsed(), self.timeout))
        self._stop_attempt()
        self.next_relay(error)

    def _elapsed(self) -> float:
        return (self.clock.now - self.started).total_seconds()

    def _stop_attempt(self) -> None:
        self.attempt += 1  # whatever the old request still says is ignored
        for held in (self.timer, self.inner):
            if held is not None:
                held.dispose()
        self.timer = self.inner = None

    def dispose(self) -> None:
        if not self.done:
            self.done = True
            self._stop_attempt()


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def _load(conn: Connection) -> int:
    """Live subscriptions + pending publishes of ``conn``'s session (0 without one)."""
    session = conn.session
    if session is None:
        return 0
    return len(session.subscriptions.live) + len(session.publishes.pending)


def _p95(samples: Iterable[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
