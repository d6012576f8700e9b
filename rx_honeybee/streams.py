"""What a connection shows: hot streams, status, per-label channels, faults, a bounded inbox.

The base of :class:`~rx_honeybee.connection.Connection`, kept apart from the socket's life.
The rarely used streams (``opened``, ``written``, ``latencies``) are made on first use, so
an idle connection costs little; every stream ends when the connection does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from reactivex import Observable, abc

from rx_honeybee.channels import ChannelHub
from rx_honeybee.config import ConnectionConfig
from rx_honeybee.errors import PongTimeout
from rx_honeybee.hot import HotStream
from rx_honeybee.inbox import Inbox
from rx_honeybee.metrics import Inbound, Metrics
from rx_honeybee.socket import Gate, Link
from rx_honeybee.state import StateMachine
from rx_roots import ConnectionStatus, standard_labels

__all__ = ["Streams"]


class Streams:
    """Hot ``messages``, ``state`` and ``errors``, plus ``opened``/``written``/``latencies``."""

    __slots__ = (
        "__weakref__",
        "_errors",
        "_gate",
        "_holds",
        "_counted",
        "_hub",
        "_latencies",
        "_machine",
        "_messages",
        "_misses",
        "_opened",
        "_scheduler",
        "_written",
        "config",
        "last_pong_at",
        "metrics",
        "url",
    )

    def __init__(
        self, url: str, config: ConnectionConfig, scheduler: abc.SchedulerBase | None
    ) -> None:
        self.url = url  # the peer
        self.config = config  # every knob
        self.metrics = Metrics()  # counters, bytes, latency; see ``metrics.snapshot()``
        # what the reader counts: the metrics' own counters, or private ones when disabled
        self._counted = self.metrics.inbound if config.metrics_enabled else Inbound(stamped=True)
        self._machine = StateMachine(self._report)  # status and its replaying stream
        self._errors: HotStream[Exception] = HotStream()  # faults; a faulty observer is logged
        self._messages: HotStream[str] = HotStream(self._report)  # inbound envelopes
        self._opened: HotStream[Link] | None = None  # each socket that came up, on demand
        self._written: HotStream[str] | None = None  # envelopes a socket took, on demand
        self._latencies: HotStream[float] | None = None  # pong round trips, on demand
        self._hub: ChannelHub | None = None  # per-label streams, once ``channels()`` is used
        self._scheduler = scheduler  # time source; a connection resolves it at connect()
        self.last_pong_at: datetime | None = None  # scheduler time of the latest pong
        self._misses = 0  # consecutive missed pongs on the current socket
        self._gate = Gate()  # shut while an inbox is full: the socket is not read
        self._holds: set[object] | None = None  # the full inboxes holding the gate shut

    # -- streams and status --------------------------------------------------------------

    @property
    def messages(self) -> Observable[str]:
        """Every inbound envelope; completes only when the connection ends for good."""
        return self._messages

    @property
    def state(self) -> Observable[ConnectionStatus]:
        """Every status change; a new subscriber first gets the current status."""
        return self._machine.stream

    @property
    def errors(self) -> Observable[Exception]:
        """Transport, protocol and subscriber faults; the connection goes on after most."""
        return self._errors

    @property
    def opened(self) -> Observable[Link]:
        """Each socket that came up (the first and every reconnection): restore state here."""
        if self._opened is None:
            self._opened = self._lazy_stream()
        return self._opened

    @property
    def written(self) -> Observable[str]:
        """Each envelope once a socket accepted it (written on socket ``generation``)."""
        if self._written is None:
            self._written = self._lazy_stream()
        return self._written

    @property
    def latencies(self) -> Observable[float]:
        """Each ping/pong round trip, in seconds (health monitoring must be enabled)."""
        if self._latencies is None:
            self._latencies = self._lazy_stream()
        return self._latencies

    def _lazy_stream(self) -> HotStream[Any]:
        stream: HotStream[Any] = HotStream(self._report)
        if self._messages.is_stopped:
            stream.on_completed()
        return stream

    @property
    def status(self) -> ConnectionStatus:
        """The current status."""
        return self._machine.status

    @property
    def scheduler(self) -> abc.SchedulerBase | None:
        """The time source: the one given, or the asyncio one chosen at ``connect()``."""
        return self._scheduler

    @property
    def is_healthy(self) -> bool:
        """CONNECTED, and no pong of the current socket is overdue."""
        return self._machine.status is ConnectionStatus.CONNECTED and self._misses == 0

    def channels(self, labels: Iterable[str] | None = None) -> dict[str, Observable[str]]:
        """One hot stream per envelope label: the eight standard ones plus ``labels``.

        Fed straight from the reader (no extra subscription per envelope); unreadable
        labels and channel subscribers' faults go to ``errors``. Every call shares one
        dispatcher; channels complete with ``messages``.
        """
        wanted = standard_labels() | frozenset(labels or ())
        return self._channel_hub().add(wanted)  # type: ignore[return-value]

    def tap(self, handlers: Mapping[str, Callable[[str], None]]) -> None:
        """Call each handler with every inbound envelope of its label, from the reader.

        For the connection's own layers (a session): no stream in between, so a handler
        must not raise (it guards the user callbacks it calls). One tap per label.

        Raises:
            ValueError: a label is tapped already.
        """
        self._channel_hub().tap(handlers)  # type: ignore[arg-type]

    def inbox(self, labels: Iterable[str] | None = None, *, max_buffer: int = 10_000) -> Inbox:
        """Every inbound envelope (or those with ``labels``) as a bounded async iterator.

        When ``max_buffer`` envelopes wait, the socket is not read (TCP back-pressure on
        the peer) and ``ChannelFull`` is reported once for the episode; nothing is dropped.
        ``async for envelope in conn.inbox(): ...``; ``await inbox.aclose()`` to stop.
        """
        return Inbox(self, labels, max_buffer=max_buffer)

    def hold_reading(self, holder: object) -> None:
        """Stop reading the socket until ``release_reading(holder)`` (and every other holder)."""
        if self._holds is None:
            self._holds = set()
        self._holds.add(holder)
        self._gate.shut()

    def _reading_held(self) -> bool:
        return not self._gate.is_open

    def _envelopes_read(self) -> int:
        return self._counted.count

    def release_reading(self, holder: object) -> None:
        """Drop ``holder``'s hold; the socket is read again once no one holds it."""
        if self._holds is not None:
            self._holds.discard(holder)
            if not self._holds:
                self._gate.open()

    # -- health: the monitor's callbacks ------------------------------------------------

    def _on_latency(self, seconds: float) -> None:
        self._misses = 0
        self.last_pong_at = self._scheduler.now if self._scheduler is not None else None
        if self.config.metrics_enabled:
            self.metrics.record_latency(seconds)
        latencies = self._latencies
        if latencies is not None and latencies.observed:
            latencies.on_next(seconds)

    def _on_miss(self, miss: PongTimeout) -> None:
        self._misses += 1
        self._report(miss)

    def _channel_hub(self) -> ChannelHub:
        if self._hub is None:
            self._hub = ChannelHub(on_error=self._report, standard=False)
            if self._messages.is_stopped:
                self._hub.complete()
        return self._hub

    def report(self, error: Exception) -> None:
        """Publish ``error`` on ``errors`` (and count it)."""
        self._report(error)

    def _end_streams(self) -> None:
        self._messages.on_completed()
        if self._hub is not None:
            self._hub.complete()
        for stream in (self._opened, self._written, self._latencies):
            if stream is not None:
                stream.on_completed()
        self._errors.on_completed()

    def _report(self, error: Exception) -> None:
        if self.config.metrics_enabled:
            self.metrics.record_error()
        self._errors.on_next(error)
