"""Connection metrics: counters a connection updates as it works, read as a snapshot.

The seed's "Connection Metrics" collector, translated: one small object per connection,
updated on the hot path (every envelope in or out) and read rarely (a dashboard, a log
line, a health check). So the write side is plain attribute arithmetic — no lock, no
container, no per-call allocation beyond the float a clock returns — and everything
derived (uptime, rate, latency statistics) is computed when it is read.

Two clocks are injected so tests run without sleeping and without a wall clock: ``clock``
(monotonic) measures durations, ``wall`` stamps the last message times that humans read.

Not thread-safe by design: a connection updates its metrics from its own event loop. A
reader on another thread may see values from slightly different instants, never a crash.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

__all__ = ["Inbound", "Metrics"]


class Inbound:
    """Inbound counters, kept apart so a connection's per-envelope path can bump them in
    place (``count += 1; size += n``, then ``Metrics.stamp_received()`` when
    ``stamp_due`` is False) without a method call per envelope; ``record_received`` does
    the same for everyone else."""

    __slots__ = ("count", "size", "stamp_due")

    def __init__(self, *, stamped: bool = False) -> None:
        self.count = 0  # envelopes read
        self.size = 0  # their bytes, as given by the caller
        self.stamp_due = stamped  # a last-received stamp is scheduled (True: never stamp)


def _call_now(action: Callable[[], None]) -> None:
    action()


class Metrics:
    """Collect one connection's traffic, error, reconnection and latency figures.

    Example:
        >>> m = Metrics()
        >>> m.mark_connected()
        >>> m.record_received(700)
        >>> m.snapshot()["messages_received"]
        1

    Args:
        clock: Monotonic seconds; durations (uptime, rate) are differences of it.
        wall: Epoch seconds; used only to stamp ``last_message_*_at``.
        latency_window: How many recent latency samples the statistics cover, so one
            slow pong an hour ago does not weigh on today's average.

    Raises:
        ValueError: ``latency_window`` is not positive.
    """

    __slots__ = (
        "_bytes_sent",
        "_clock",
        "_compressed",
        "_connected_since",
        "_defer",
        "_errors",
        "_last_received_at",
        "_last_sent_at",
        "_latencies",
        "inbound",
        "_reconnections",
        "_rejected",
        "_sent",
        "_start",
        "_wall",
        "_window",
    )

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        *,
        latency_window: int = 100,
    ) -> None:
        if latency_window <= 0:
            raise ValueError(f"latency_window must be > 0, got {latency_window}")
        self._clock = clock  # monotonic seconds, for durations
        self._wall = wall  # epoch seconds, for the last-message stamps
        self._start = clock()  # when counting began (construction or reset)
        self._connected_since: float | None = None  # clock() when the socket came up
        self._sent = 0  # envelopes written
        self.inbound = Inbound()  # envelopes and bytes read: the hot path updates it in place
        self._bytes_sent = 0  # bytes written, as given by the caller
        self._errors = 0  # faults of any kind
        self._rejected = 0  # events dropped as malformed or forged (also counted as faults)
        self._reconnections = 0  # reconnection attempts; survives reset()
        self._last_sent_at: float | None = None  # wall() of the last write
        self._last_received_at: float | None = None  # wall() of the last read
        self._window = latency_window  # how many latencies are kept
        self._latencies: deque[float] | tuple[()] = ()  # recent pong RTTs, made at the first
        self._compressed = False  # permessage-deflate negotiated on the current socket
        self._defer: Callable[[Callable[[], None]], object] = _call_now  # runs stamps

    # -- hot path -------------------------------------------------------------------------

    def record_sent(self, size_bytes: int) -> None:
        """Count one envelope written to the socket.

        Args:
            size_bytes: Its size as written (the caller knows whether that is UTF-8
                bytes or characters; nothing is checked here, to stay cheap).
        """
        self._sent += 1
        self._bytes_sent += size_bytes
        self._last_sent_at = self._wall()

    def record_received(self, size_bytes: int) -> None:
        """Count one envelope read from the socket (called once per inbound message).

        Args:
            size_bytes: Its size as read; not validated, to keep the per-message cost to
                two counter updates (the time stamp may be deferred: ``defer_stamps``).
        """
        inbound = self.inbound
        inbound.count += 1
        inbound.size += size_bytes
        if not inbound.stamp_due:
            self.stamp_received()

    def stamp_received(self) -> None:
        """Schedule the last-received stamp (through ``defer``); see ``Inbound``."""
        self.inbound.stamp_due = True
        self._defer(self._stamp_received)

    def _stamp_received(self) -> None:
        self.inbound.stamp_due = False
        self._last_received_at = self._wall()

    def defer_stamps(self, defer: Callable[[Callable[[], None]], object]) -> None:
        """Stamp ``last_message_received_at`` through ``defer`` (e.g. ``loop.call_soon``).

        A burst of envelopes read in one event-loop iteration then costs one clock call
        instead of one each; the stamp is the end of that iteration (microseconds later).
        By default every envelope is stamped at once.
        """
        self._defer = defer

    # -- rare events ----------------------------------------------------------------------

    def record_error(self) -> None:
        """Count one fault (transport, protocol or subscriber)."""
        self._errors += 1

    def record_rejected_event(self) -> None:
        """Count one event dropped as malformed or forged (its report counts as a fault)."""
        self._rejected += 1

    def record_reconnection(self) -> None:
        """Count one reconnection attempt; this count survives :meth:`reset`."""
        self._reconnections += 1

    def record_latency(self, seconds: float) -> None:
        """Record one ping/pong round trip.

        Only the last ``latency_window`` samples are kept, so the statistics describe the
        connection as it is now.

        Raises:
            ValueError: ``seconds`` is negative (a clock mix-up in the caller).
        """
        if seconds < 0:
            raise ValueError(f"latency must be >= 0, got {seconds}")
        if not self._latencies:
            self._latencies = deque(maxlen=self._window)
        self._latencies.append(seconds)

    def mark_connected(self, compressed: bool = False) -> None:
        """Note that a socket is up now (``compressed``: permessage-deflate negotiated)."""
        self._connected_since = self._clock()
        self._compressed = compressed

    def mark_disconnected(self) -> None:
        """Note that the socket is gone; uptime reads 0 until the next connect."""
        self._connected_since = None

    def reset(self, reset_start_time: bool = True) -> None:
        """Zero the counters, byte totals, error count and latencies.

        The reconnection count is kept: it describes the connection's whole life, which
        is exactly what a reset after a reconnect must not hide. The connected state and
        uptime are kept too (they describe the socket, not the counting).

        Args:
            reset_start_time: Also restart the clock the rate is measured against and
                forget the last message times (as the seed's "reset timestamps if
                requested"). Leave it False to keep the rate's time base.
        """
        self._sent = 0
        self.inbound.count = 0
        self._bytes_sent = 0
        self.inbound.size = 0
        self._errors = 0
        self._rejected = 0
        self._latencies = ()
        if reset_start_time:
            self._start = self._clock()
            self._last_sent_at = None
            self._last_received_at = None

    # -- reading --------------------------------------------------------------------------

    @property
    def messages_sent(self) -> int:
        """Envelopes written since the start (or the last reset)."""
        return self._sent

    @property
    def messages_received(self) -> int:
        """Envelopes read since the start (or the last reset)."""
        return self.inbound.count

    @property
    def bytes_sent(self) -> int:
        """Bytes written since the start (or the last reset)."""
        return self._bytes_sent

    @property
    def bytes_received(self) -> int:
        """Bytes read since the start (or the last reset)."""
        return self.inbound.size

    @property
    def errors(self) -> int:
        """Faults counted since the start (or the last reset)."""
        return self._errors

    @property
    def events_rejected(self) -> int:
        """Events dropped as malformed or forged since the start (or the last reset)."""
        return self._rejected

    @property
    def reconnections(self) -> int:
        """Reconnection attempts over the collector's whole life."""
        return self._reconnections

    @property
    def last_message_sent_at(self) -> float | None:
        """Wall-clock time of the last write, or None if nothing was written."""
        return self._last_sent_at

    @property
    def last_message_received_at(self) -> float | None:
        """Wall-clock time of the last read, or None if nothing was read."""
        return self._last_received_at

    @property
    def connected(self) -> bool:
        """Whether a socket is up (between mark_connected and mark_disconnected)."""
        return self._connected_since is not None

    @property
    def uptime(self) -> float:
        """Seconds the current socket has been up; 0.0 while disconnected."""
        since = self._connected_since
        return 0.0 if since is None else self._clock() - since

    @property
    def messages_per_second(self) -> float:
        """Messages in and out per second since the start (0.0 when no time has passed)."""
        elapsed = self._clock() - self._start
        if elapsed <= 0:
            return 0.0
        return (self._sent + self.inbound.count) / elapsed

    def snapshot(self) -> dict[str, object]:
        """Return every figure at once, under stable keys, for logs and dashboards.

        Keys: ``messages_sent``, ``messages_received``, ``bytes_sent``, ``bytes_received``,
        ``errors``, ``events_rejected``, ``reconnections``, ``last_message_sent_at``,
        ``last_message_received_at`` (epoch seconds or None), ``uptime``,
        ``messages_per_second``, ``latency_last``, ``latency_min``, ``latency_max``,
        ``latency_avg`` (seconds over the recent window, or None without samples),
        ``connected``, ``compressed`` (permessage-deflate negotiated on the current
        socket; aiohttp does not expose the compressed frame sizes, so no byte savings).
        """
        window = self._latencies
        return {
            "messages_sent": self._sent,
            "messages_received": self.inbound.count,
            "bytes_sent": self._bytes_sent,
            "bytes_received": self.inbound.size,
            "errors": self._errors,
            "events_rejected": self._rejected,
            "reconnections": self._reconnections,
            "last_message_sent_at": self._last_sent_at,
            "last_message_received_at": self._last_received_at,
            "uptime": self.uptime,
            "messages_per_second": self.messages_per_second,
            "latency_last": window[-1] if window else None,
            "latency_min": min(window) if window else None,
            "latency_max": max(window) if window else None,
            "latency_avg": sum(window) / len(window) if window else None,
            "connected": self.connected,
            "compressed": self._compressed,
        }
