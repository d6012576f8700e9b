"""The default outgoing queue: bounded, one writer per socket, order kept, nothing dropped.

An :class:`~rx_honeybee.interfaces.OutgoingQueue`; rx_mana's priority queue replaces it.

An envelope is counted from ``put`` until a socket accepted it. Envelopes put while the
connection is dialling or backing off wait here; a write that fails on a dying socket
leaves its envelope at the head, to be written first on the next socket (at-least-once:
an envelope cut off mid-write may reach the peer twice, never zero times).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from reactivex import Observable, abc

from rx_honeybee.errors import EnvelopeTooLarge, InvalidState, QueueFull
from rx_honeybee.hot import HotStream
from rx_honeybee.lean import Signal
from rx_honeybee.socket import EncodedText, Link

__all__ = ["WriteQueue", "encoded_size"]

Limiter = Callable[[Observable[str]], Observable[str]]
_EMPTY: deque[str] = deque(maxlen=0)  # shared stand-in until a queue holds something


def encoded_size(envelope: str) -> int:
    """Return the UTF-8 size of ``envelope`` without encoding it in the ASCII case (nor for
    an :class:`EncodedText`, which carries its bytes: fanned out to 500 sockets)."""
    if envelope.isascii():
        return len(envelope)
    if type(envelope) is EncodedText:
        return len(envelope.data)
    return len(envelope.encode("utf-8", "surrogatepass"))


class WriteQueue:
    """Bounded queue of outgoing envelopes with an optional rate limiter in front.

    Args:
        capacity: most envelopes waiting at once (``QueueFull`` beyond).
        max_size: largest envelope in UTF-8 bytes (``EnvelopeTooLarge`` beyond).
        limiter: an operator (such as ``rate_limit``) the envelopes pass before writing.
        max_bytes: most UTF-8 bytes waiting at once (``QueueFull`` beyond); None: only
            ``capacity * max_size`` bounds them. A relay gives each client a budget, so a
            client that never reads cannot hold gigabytes of answers (issue 12, item 3).
    """

    def __init__(
        self,
        capacity: int,
        max_size: int,
        limiter: Limiter | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self.capacity = capacity  # bound on envelopes accepted and not yet written
        self.max_size = max_size  # bound on one envelope, in bytes
        self.max_bytes = max_bytes  # bound on the bytes waiting, or None
        self.bytes = 0  # UTF-8 bytes accepted and not yet written (counted with max_bytes)
        self._limiter = limiter  # outgoing rate limiter operator, if any
        self._pending = 0  # accepted, not yet written (in the limiter or in ``_ready``)
        self._ready: deque[str] = _EMPTY  # released by the limiter, waiting for a socket
        self._wake = Signal()  # fired when ``_ready`` gains an envelope
        self._empty = Signal()  # fired when the last pending envelope was written
        self._intake: HotStream[str] | None = None  # entry of the limiter pipeline
        self._limiter_sub: abc.DisposableBase | None = None  # its subscription
        self._closed = False  # no more puts
        self._try_send: Callable[[str], bool] | None = None  # the running link's, if any
        self._on_sent: Callable[[str], None] | None = None  # the running writer's callback

    def __len__(self) -> int:
        return self._pending

    def start(self, scheduler: abc.SchedulerBase) -> None:
        """Wire the rate limiter on ``scheduler`` (idempotent)."""
        if self._limiter is not None and self._intake is None:
            self._intake = HotStream()
            pipeline = self._intake.pipe(self._limiter)
            self._limiter_sub = pipeline.subscribe(self._release, scheduler=scheduler)

    def put(self, envelope: str, priority: int | None = None) -> None:
        """Accept ``envelope`` for writing (first in, first out: ``priority`` is ignored).

        Raises:
            InvalidState: the queue was closed.
            TypeError: ``envelope`` is not a ``str``.
            EnvelopeTooLarge: over ``max_size`` bytes (checked first; nothing is queued).
            QueueFull: ``capacity`` envelopes are already waiting, or ``envelope`` would
                take the bytes waiting over ``max_bytes``.
        """
        if self._closed:
            raise InvalidState("the connection is closed")
        if type(envelope) is not str and not isinstance(envelope, str):  # EncodedText passes
            raise TypeError(f"an envelope is a str, got {type(envelope).__name__}")
        size = encoded_size(envelope)
        if size > self.max_size:
            raise EnvelopeTooLarge(size, self.max_size)
        if self._pending >= self.capacity:
            raise QueueFull(self.capacity)
        try_send = self._try_send
        if try_send is not None and not self._pending and try_send(envelope):
            self._on_sent(envelope)  # type: ignore[misc]  # set together with _try_send
            return  # written at once: nothing waits, nothing to wake
        max_bytes = self.max_bytes
        if max_bytes is not None:
            if self.bytes + size > max_bytes:
                raise QueueFull(self.capacity, max_bytes)
            self.bytes += size
        self._pending += 1
        if self._intake is not None:
            self._intake.on_next(envelope)
        else:
            self._release(envelope)

    def _release(self, envelope: str) -> None:
        if self._ready is _EMPTY:  # made on first use: an idle queue holds no deque
            self._ready = deque()
        self._ready.append(envelope)
        self._wake.fire()

    async def run(self, link: Link, on_sent: Callable[[str], None]) -> None:
        """Write envelopes to ``link`` in order until it fails or the task is cancelled.

        A failing write propagates its exception; the envelope stays at the head. While
        this runs, ``put`` writes through the link's ``try_send`` when nothing is waiting
        (a producer that never yields still gets its envelopes on the wire at once).
        """
        if self._limiter is None:  # a rate limit must see every envelope: no shortcut then
            self._try_send = getattr(link, "try_send", None)
            self._on_sent = on_sent
        try:
            await self._write_all(link, on_sent)
        finally:
            self._try_send = self._on_sent = None

    async def _write_all(self, link: Link, on_sent: Callable[[str], None]) -> None:
        while True:
            ready = self._ready
            if not ready:
                await self._wake.wait()
                continue
            envelope = ready[0]
            await link.send(envelope)
            if ready and ready[0] is envelope:
                ready.popleft()
                self._pending -= 1
                if self.max_bytes is not None:  # counted only under a budget: no cost else
                    self.bytes -= encoded_size(envelope)
                if not self._pending:
                    self._empty.fire()
                on_sent(envelope)

    async def drained(self) -> None:
        """Wait until every accepted envelope was written."""
        while self._pending:
            await self._empty.wait()

    def close(self) -> int:
        """Refuse further puts, drop what is left and return how many were unsent."""
        self._closed = True
        if self._limiter_sub is not None:
            self._limiter_sub.dispose()
        unsent, self._pending = self._pending, 0
        self.bytes = 0
        self._ready.clear()  # a write in flight finds its envelope gone: not reported as sent
        self._ready = _EMPTY
        self._empty.fire()  # nothing is pending any more: release drained() waiters
        return unsent
