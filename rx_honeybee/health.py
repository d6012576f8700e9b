"""Ping/pong health monitoring as an operator over a socket Observable.

aiohttp does not notice a frozen peer without a heartbeat (sends keep succeeding into the
kernel buffer), so a silent socket must be caught by our own pings. The operator sits
between the socket and the reconnection pipeline: when pongs stop, it errors the socket
Observable, and ``retry_when`` dials again.

Timeline, from ``Opened``: a ping every ``ping_interval``; a pong due within
``pong_timeout``. A missed pong is one failure (reported through ``on_miss``) and is
followed by another ping at once, so a dead peer is dropped after
``ping_interval + failure_threshold * pong_timeout`` at most.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from reactivex import Observable, abc
from reactivex.scheduler.eventloop import AsyncIOScheduler

from rx_honeybee.config import HealthConfig
from rx_honeybee.errors import ConnectionUnhealthy, PongTimeout
from rx_honeybee.lean import SerialSlot, Sink, later, lean
from rx_honeybee.socket import Link, Opened, Pong, SocketItem

__all__ = ["monitor_health"]


def monitor_health(
    config: HealthConfig,
    url: str = "",
    *,
    scheduler: abc.SchedulerBase | None = None,
    on_latency: Callable[[float], None] | None = None,
    on_miss: Callable[[PongTimeout], None] | None = None,
    paused: Callable[[], bool] | None = None,
    activity: Callable[[], int] | None = None,
) -> Callable[[Observable[SocketItem]], Observable[SocketItem]]:
    """Ping the socket and error it with ``ConnectionUnhealthy`` when pongs stop.

    Items pass through unchanged except :class:`Pong`, which the monitor consumes.

    Args:
        config: interval, timeout and failure threshold.
        url: the peer, for error messages.
        scheduler: time source; else the subscriber's, else the running asyncio loop.
        on_latency: called with each pong round trip, in seconds.
        on_miss: called with a ``PongTimeout`` for each missed pong.
        paused: tells whether we ourselves stopped reading the socket (a full consumer):
            a pong we did not read then is not the peer's fault, so no miss is counted
            and the next ping waits one ``ping_interval``.
        activity: how many envelopes were read so far: if any arrived since the ping,
            the peer is alive and its pong is only queued behind them (we were busy
            reading), so that is no miss either.

    Returns:
        An operator over socket Observables.
    """

    def operator(source: Observable[SocketItem]) -> Observable[SocketItem]:
        def subscribe(observer: Sink, subscribed: abc.SchedulerBase | None = None) -> _Monitor:
            sched = scheduler or subscribed or AsyncIOScheduler(asyncio.get_running_loop())
            monitor = _Monitor(config, url, sched, observer, on_latency, on_miss)
            monitor.paused, monitor.activity = paused, activity
            monitor.upstream = source.subscribe(
                monitor.on_next, monitor.on_error, monitor.on_completed, scheduler=subscribed
            )
            return monitor

        return lean(subscribe)

    return operator


class _Monitor(abc.DisposableBase):
    """One monitored socket (a class with slots: every connection holds one for its life)."""

    __slots__ = (
        "activity",
        "config",
        "failures",
        "read_at_ping",
        "link",
        "observer",
        "on_latency",
        "on_miss",
        "paused",
        "scheduler",
        "sent_at",
        "seq",
        "timer",
        "upstream",
        "url",
    )

    def __init__(
        self,
        config: HealthConfig,
        url: str,
        scheduler: abc.SchedulerBase,
        observer: Sink,
        on_latency: Callable[[float], None] | None,
        on_miss: Callable[[PongTimeout], None] | None,
    ) -> None:
        self.config = config  # interval, timeout, threshold
        self.url = url  # for error messages
        self.scheduler = scheduler  # time source
        self.observer = observer  # the socket items, minus pongs
        self.on_latency = on_latency  # each round trip
        self.on_miss = on_miss  # each missed pong below the threshold
        self.paused: Callable[[], bool] | None = None  # we stopped reading: no miss then
        self.activity: Callable[[], int] | None = None  # envelopes read: proof of life
        self.read_at_ping = 0  # ``activity()`` when the outstanding ping left
        self.timer = SerialSlot()  # the next ping, or the pong deadline
        self.link: Link | None = None  # where pings go, once the socket is up
        self.seq = 0  # payload counter of the outstanding ping
        self.sent_at: datetime | None = None  # when the outstanding ping left
        self.failures = 0  # consecutive missed pongs
        self.upstream: abc.DisposableBase | None = None  # the socket's subscription

    def at(self, delay: float, action: Callable[[], None]) -> None:
        self.timer.disposable = later(self.scheduler, delay, action)

    def ping(self) -> None:
        if self.link is None:
            return
        self.seq += 1
        self.sent_at = self.scheduler.now
        if self.activity is not None:
            self.read_at_ping = self.activity()
        self.link.ping(self.seq.to_bytes(8, "big"))
        self.at(self.config.pong_timeout, self.missed)

    def missed(self) -> None:
        if self._excused():
            self.sent_at = None  # its pong waits unread behind data: ask again later
            self.failures = 0
            self.at(self.config.ping_interval, self.ping)
            return
        self.failures += 1
        self.sent_at = None
        miss = PongTimeout(self.url, self.failures, self.config.pong_timeout)
        if self.failures >= self.config.failure_threshold:
            self.timer.dispose()
            unhealthy = ConnectionUnhealthy(self.url, self.failures, str(miss))
            unhealthy.__cause__ = miss
            self.observer.on_error(unhealthy)
            return
        if self.on_miss is not None:
            self.on_miss(miss)
        self.ping()

    def _excused(self) -> bool:
        """Whether an overdue pong is ours to blame: not reading, or reading a backlog."""
        if self.paused is not None and self.paused():
            return True
        return self.activity is not None and self.activity() != self.read_at_ping

    def pong(self, payload: bytes) -> None:
        sent_at = self.sent_at
        if sent_at is None or payload != self.seq.to_bytes(8, "big"):
            return  # late or unsolicited
        latency = (self.scheduler.now - sent_at).total_seconds()
        self.sent_at = None
        self.failures = 0
        if self.on_latency is not None:
            self.on_latency(latency)
        self.at(max(0.0, self.config.ping_interval - latency), self.ping)

    def on_next(self, item: SocketItem) -> None:
        if type(item) is Pong:
            self.pong(item.payload)
            return
        if type(item) is Opened:
            self.link = item.link
            self.at(self.config.ping_interval, self.ping)
        self.observer.on_next(item)

    def on_error(self, exc: Exception) -> None:
        self.timer.dispose()
        self.observer.on_error(exc)

    def on_completed(self) -> None:
        self.timer.dispose()
        self.observer.on_completed()

    def dispose(self) -> None:
        if self.upstream is not None:
            self.upstream.dispose()
        self.timer.dispose()
