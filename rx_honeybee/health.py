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
from rx_honeybee.lean import OnDispose, SerialSlot, Sink, later, lean
from rx_honeybee.socket import Link, Opened, Pong, SocketItem

__all__ = ["monitor_health"]


def monitor_health(
    config: HealthConfig,
    url: str = "",
    *,
    scheduler: abc.SchedulerBase | None = None,
    on_latency: Callable[[float], None] | None = None,
    on_miss: Callable[[PongTimeout], None] | None = None,
) -> Callable[[Observable[SocketItem]], Observable[SocketItem]]:
    """Ping the socket and error it with ``ConnectionUnhealthy`` when pongs stop.

    Items pass through unchanged except :class:`Pong`, which the monitor consumes.

    Args:
        config: interval, timeout and failure threshold.
        url: the peer, for error messages.
        scheduler: time source; else the subscriber's, else the running asyncio loop.
        on_latency: called with each pong round trip, in seconds.
        on_miss: called with a ``PongTimeout`` for each missed pong.

    Returns:
        An operator over socket Observables.
    """

    def operator(source: Observable[SocketItem]) -> Observable[SocketItem]:
        def subscribe(
            observer: Sink, sub_scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            sched = scheduler or sub_scheduler or AsyncIOScheduler(asyncio.get_running_loop())
            timer = SerialSlot()
            link: Link | None = None
            seq = 0  # payload counter of the outstanding ping
            sent_at: datetime | None = None  # when the outstanding ping left
            failures = 0  # consecutive missed pongs

            def at(delay: float, action: Callable[[], None]) -> None:
                timer.disposable = later(sched, delay, action)

            def ping() -> None:
                nonlocal seq, sent_at
                if link is None:
                    return
                seq += 1
                sent_at = sched.now
                link.ping(seq.to_bytes(8, "big"))
                at(config.pong_timeout, missed)

            def missed() -> None:
                nonlocal failures, sent_at
                failures += 1
                sent_at = None
                miss = PongTimeout(url, failures, config.pong_timeout)
                if failures >= config.failure_threshold:
                    timer.dispose()
                    unhealthy = ConnectionUnhealthy(url, failures, str(miss))
                    unhealthy.__cause__ = miss
                    observer.on_error(unhealthy)
                    return
                if on_miss is not None:
                    on_miss(miss)
                ping()

            def pong(payload: bytes) -> None:
                nonlocal failures, sent_at
                if sent_at is None or payload != seq.to_bytes(8, "big"):
                    return  # late or unsolicited
                latency = (sched.now - sent_at).total_seconds()
                sent_at = None
                failures = 0
                if on_latency is not None:
                    on_latency(latency)
                at(max(0.0, config.ping_interval - latency), ping)

            def on_next(item: SocketItem) -> None:
                nonlocal link
                if type(item) is Pong:
                    pong(item.payload)
                    return
                if type(item) is Opened:
                    link = item.link
                    at(config.ping_interval, ping)
                observer.on_next(item)

            def on_error(exc: Exception) -> None:
                timer.dispose()
                observer.on_error(exc)

            def on_completed() -> None:
                timer.dispose()
                observer.on_completed()

            upstream = source.subscribe(on_next, on_error, on_completed, scheduler=sub_scheduler)

            def dispose() -> None:
                upstream.dispose()
                timer.dispose()

            return OnDispose(dispose)

        return lean(subscribe)

    return operator
