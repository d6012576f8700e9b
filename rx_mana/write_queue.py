"""A priority write queue: control envelopes never wait behind bulk, and pressure is visible.

:class:`PriorityWriteQueue` is an :class:`~rx_honeybee.interfaces.OutgoingQueue`, so it
replaces honeybee's FIFO :class:`~rx_honeybee.write_queue.WriteQueue` whole::

    conn = Connection(url, config, write_queue=PriorityWriteQueue())
    conn.send(enclose_close("feed"))            # level 2: label_priority says CLOSE
    conn.send(envelope, priority=0)             # an explicit level wins

Why: with a FIFO queue, a CLOSE or an AUTH put behind a thousand REQs (a reconnect that
restores many subscriptions, a burst of publishes) waits for all of them, or is refused
with ``QueueFull``; here it waits behind at most the one write in flight, and the top
level keeps a reserve (``capacity // 10``) beyond a full queue.

What it keeps from the default queue: an envelope counts from ``put`` until a socket took
it; while a writer runs and nothing waits, ``put`` writes through the link's ``try_send``
at once (no task switch, no batch); a failed write leaves its envelope at the head of its
level for the next socket (at-least-once); ``close`` returns how many were left unsent.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from reactivex import Observable, abc
from reactivex.scheduler.eventloop import AsyncIOScheduler

from rx_honeybee.errors import EnvelopeTooLarge, InvalidState, QueueFull
from rx_honeybee.hot import HotStream
from rx_honeybee.lean import Signal, later
from rx_honeybee.operators import resolve_scheduler
from rx_honeybee.socket import Link
from rx_honeybee.write_queue import encoded_size
from rx_mana._labels import CONTROL_LABELS, read_label

__all__ = ["PriorityWriteQueue", "WriteQueueStats", "label_priority"]

CONTROL, EVENT, BULK = 2, 1, 0
_LEVEL_OF = {**dict.fromkeys(CONTROL_LABELS, CONTROL), "EVENT": EVENT}
# The compact fronts rx_roots builds (``["REQ",``, ``["EOSE"]``...) looked up whole: one
# bounded find, one slice, one dict lookup per envelope; anything else reads the label.
_FRONTS = {
    f'["{label}"{end}': level
    for label, level in {**_LEVEL_OF, "REQ": BULK, "COUNT": BULK}.items()
    for end in ",]"
}
_LONGEST = max(map(len, _FRONTS))


def label_priority(envelope: str) -> int:
    """Return the default level of ``envelope``: higher is written first.

    CLOSE, AUTH, EOSE, OK, NOTICE and CLOSED are control (2), EVENT is 1, and REQ, COUNT,
    unknown labels and text that is not an envelope are 0.
    """
    end = envelope.find('"', 2, _LONGEST)
    level = _FRONTS.get(envelope[: end + 2]) if end > 0 else None
    if level is None:
        return _LEVEL_OF.get(read_label(envelope) or "", BULK)
    return level


@dataclass(frozen=True)
class WriteQueueStats:
    """Running totals of one :class:`PriorityWriteQueue` (``stats()``)."""

    queued: int  # envelopes accepted by put, ever
    sent: int  # envelopes a socket took, ever
    write_errors: int  # writes that raised (the envelope stayed queued)
    refused: int  # puts refused with QueueFull
    delayed: int  # lower-level puts accepted under pressure (written after higher levels)
    batches: int  # writer wake-ups that wrote something
    average_batch: float  # envelopes per batch (0.0 before the first)
    pressure_events: int  # times pressure turned on
    pressure_seconds: float  # time spent under pressure, the current stretch included


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


class PriorityWriteQueue:
    """Bounded outgoing queue with priority levels, watermarks and batched writer wake-ups.

    Envelopes are written highest level first, first in first out within a level; the
    level is ``priority`` when ``put`` gets one (clamped to ``0..levels-1``), else
    ``priority_of(envelope)`` (clamped too). Pressure turns on when ``high_watermark`` of
    ``capacity`` is waiting and off at ``low_watermark`` (hysteresis, so it does not flap);
    ``pressure`` replays the current value, for producers that want to slow down. Under
    pressure, puts below the top level are still accepted (counted in ``delayed``) and,
    like every lower-level envelope, written after all higher-level ones that wait.

    The writer task wakes once per batch, not once per envelope: the first envelope after
    an idle spell opens a batch, held open up to ``batch_delay`` for company, then up to
    ``batch_size`` envelopes are written (one ``send`` each, the highest level chosen
    before each, so a control envelope waits behind at most the write in flight).
    Envelopes that waited for a socket are not held again, and an envelope that
    ``try_send`` wrote straight away (nothing waiting) is in no batch at all.

    Args:
        capacity: most envelopes waiting below the top level (``QueueFull`` beyond); the top
            level may use ``capacity // 10`` more.
        max_size: largest envelope in UTF-8 bytes (``EnvelopeTooLarge`` beyond).
        levels: number of priority levels (the top one is ``levels - 1``).
        high_watermark: fraction of ``capacity`` waiting at which pressure turns on.
        low_watermark: fraction at which it turns off again (below ``high_watermark``).
        batch_size: most envelopes one writer wake-up writes.
        batch_delay: longest a batch is held open for more envelopes, in seconds (0: never
            held); a top-level envelope, a full batch or pressure close it at once.
        priority_of: the level of an envelope put without ``priority``.
        scheduler: where the batch timer runs; default: the one ``start`` gets, else the
            running asyncio loop.

    Raises:
        ValueError: a bound below 1, watermarks not ``0 <= low < high <= 1``, or a negative
            or non-finite ``batch_delay``.
    """

    def __init__(
        self,
        capacity: int = 1000,
        max_size: int = 1 << 20,
        *,
        levels: int = 3,
        high_watermark: float = 0.8,
        low_watermark: float = 0.5,
        batch_size: int = 10,
        batch_delay: float = 0.020,
        priority_of: Callable[[str], int] = label_priority,
        scheduler: abc.SchedulerBase | None = None,
    ) -> None:
        _check(capacity >= 1, f"capacity must be >= 1, got {capacity}")
        _check(max_size >= 1, f"max_size must be >= 1, got {max_size}")
        _check(levels >= 1, f"levels must be >= 1, got {levels}")
        _check(
            0.0 <= low_watermark < high_watermark <= 1.0,
            f"need 0 <= low_watermark < high_watermark <= 1, got {low_watermark}, {high_watermark}",
        )
        _check(batch_size >= 1, f"batch_size must be >= 1, got {batch_size}")
        _check(
            math.isfinite(batch_delay) and batch_delay >= 0,
            f"batch_delay must be a finite number >= 0, got {batch_delay}",
        )
        self.capacity = capacity  # bound on waiting envelopes below the top level
        self.max_size = max_size  # bound on one envelope, in bytes
        self.levels = levels  # priority levels, 0 .. levels - 1
        self.batch_size = batch_size  # most envelopes per writer wake-up
        self.batch_delay = batch_delay  # longest a batch waits for company, seconds
        self._top = levels - 1  # the level with a reserve, never delayed
        self._top_limit = capacity + capacity // 10  # bound for the top level
        self._high = math.ceil(high_watermark * capacity)  # waiting count: pressure on
        self._low = math.floor(low_watermark * capacity)  # waiting count: pressure off
        self._priority_of = priority_of  # level of an envelope put without one
        self._scheduler = scheduler  # explicit scheduler, wins over start()'s
        self._queues: list[deque[str]] = [deque() for _ in range(levels)]  # one per level
        self._pending = 0  # accepted, not yet written
        self._wake = Signal()  # the writer waits here: idle, or holding a batch open
        self._idle = False  # the writer waits for a first envelope (wake it on put)
        self._holding = False  # the writer holds a batch open (wake it only to flush)
        self._highest = 0  # no level above this one holds an envelope
        self._empty = Signal()  # fired when the last pending envelope was written
        self._closed = False  # no more puts
        self._try_send: Callable[[str], bool] | None = None  # the running link's, if any
        self._on_sent: Callable[[str], None] | None = None  # the running writer's callback
        self._pressure = HotStream[bool](replay_last=True, initial=False)  # on/off, replayed
        self._under_pressure = False  # current pressure state
        self._pressure_since: tuple[Callable[[], float], float] | None = None  # clock, start
        # running totals (``stats()``); written straight through try_send counts in _direct
        self._direct = 0  # accepted and written at once by put
        self._queued = 0  # accepted into a level (then written, waiting, or dropped)
        self._dropped = 0  # dropped by close() unwritten
        self._write_errors = 0
        self._refused = 0
        self._delayed = 0
        self._batches = 0
        self._pressure_events = 0
        self._pressure_seconds = 0.0  # finished stretches only

    # -- OutgoingQueue ---------------------------------------------------------------------

    def __len__(self) -> int:
        return self._pending

    def start(self, scheduler: abc.SchedulerBase) -> None:
        """Run the batch timer on ``scheduler`` unless one was given at construction."""
        if self._scheduler is None:
            self._scheduler = scheduler

    def put(self, envelope: str, priority: int | None = None) -> None:
        """Accept ``envelope`` at level ``priority`` (None: ``priority_of(envelope)``).

        Raises:
            InvalidState: the queue was closed.
            TypeError: ``envelope`` is not a ``str`` or ``priority`` not an ``int``.
            EnvelopeTooLarge: over ``max_size`` bytes (checked first; nothing is queued).
            QueueFull: the queue is full for this level (``capacity`` below the top level,
                ``capacity + capacity // 10`` at the top).
        """
        if self._closed:
            raise InvalidState("the connection is closed")
        if type(envelope) is not str and not isinstance(envelope, str):  # EncodedText passes
            raise TypeError(f"an envelope is a str, got {type(envelope).__name__}")
        size = len(envelope) if envelope.isascii() else encoded_size(envelope)
        if size > self.max_size:
            raise EnvelopeTooLarge(size, self.max_size)
        if priority is not None:
            priority = self._level(priority)
        if not self._pending:  # nothing waits: order cannot matter, write it now if we can
            try_send = self._try_send
            if try_send is not None and try_send(envelope):
                self._direct += 1
                self._on_sent(envelope)  # type: ignore[misc]  # set together with _try_send
                return
        self._enqueue(envelope, priority)

    async def run(self, link: Link, on_sent: Callable[[str], None]) -> None:
        """Write to ``link``, highest level first, until a write fails or the task is cancelled.

        A failing write propagates its exception and its envelope stays at the head of its
        level. While this runs and nothing waits, ``put`` writes through the link's
        ``try_send`` (when it has one) without waking this task.
        """
        scheduler = resolve_scheduler(self._scheduler, None, "PriorityWriteQueue")
        self._try_send = getattr(link, "try_send", None)
        self._on_sent = on_sent
        try:
            await self._write_all(link, on_sent, scheduler)
        finally:
            self._try_send = self._on_sent = None

    async def drained(self) -> None:
        """Wait until every accepted envelope was written (or dropped by ``close``)."""
        while self._pending:
            await self._empty.wait()

    def close(self) -> int:
        """Refuse further puts, drop what is left and return how many were unsent.

        Pressure turns off and ``pressure`` completes (replaying False to late subscribers).
        """
        self._closed = True
        unsent, self._pending = self._pending, 0
        self._dropped += unsent
        for queue in self._queues:
            queue.clear()  # a write in flight finds its envelope gone: not reported as sent
        self._set_pressure(False)
        self._pressure.on_completed()
        self._empty.fire()
        self._wake.fire()  # a writer holding a batch open finds nothing left
        return unsent

    # -- what else it offers ---------------------------------------------------------------

    @property
    def pressure(self) -> Observable[bool]:
        """True while the queue is above its high watermark (until the low one); replays."""
        return self._pressure

    @property
    def under_pressure(self) -> bool:
        """The current pressure state."""
        return self._under_pressure

    def waiting(self, level: int) -> int:
        """Envelopes waiting at ``level`` (clamped to the levels there are)."""
        return len(self._queues[self._level(level)])

    def stats(self) -> WriteQueueStats:
        """Return the running totals now."""
        batched = self._queued - self._pending - self._dropped  # written by the writer
        seconds = self._pressure_seconds
        if self._pressure_since is not None:
            clock, since = self._pressure_since
            seconds += clock() - since
        return WriteQueueStats(
            queued=self._direct + self._queued,
            sent=self._direct + batched,
            write_errors=self._write_errors,
            refused=self._refused,
            delayed=self._delayed,
            batches=self._batches,
            average_batch=batched / self._batches if self._batches else 0.0,
            pressure_events=self._pressure_events,
            pressure_seconds=seconds,
        )

    # -- inside ----------------------------------------------------------------------------

    def _level(self, priority: int) -> int:
        if type(priority) is not int:
            raise TypeError(f"a priority is an int, got {type(priority).__name__}")
        return 0 if priority < 0 else self._top if priority > self._top else priority

    def _enqueue(self, envelope: str, level: int | None) -> None:
        top = self._top
        if level is None:
            level = self._priority_of(envelope)
            if type(level) is not int or not 0 <= level <= top:
                level = self._level(level)
        pending = self._pending
        if level == top:
            if pending >= self._top_limit:
                self._refused += 1
                raise QueueFull(self._top_limit)
        elif pending >= self.capacity:
            self._refused += 1
            raise QueueFull(self.capacity)
        self._queues[level].append(envelope)
        if level > self._highest:
            self._highest = level
        self._pending = pending = pending + 1
        self._queued += 1
        if self._under_pressure:
            if level != top:
                self._delayed += 1
        elif pending >= self._high:
            self._set_pressure(True)
        if self._idle:  # wake the writer once; it takes whatever is waiting by then
            self._idle = False
            self._wake.fire()
        elif self._holding and (level == top or pending >= self.batch_size or self._under_pressure):
            self._holding = False  # close the batch held open
            self._wake.fire()

    def _set_pressure(self, on: bool) -> None:
        if on is self._under_pressure:
            return
        self._under_pressure = on
        if on:
            self._pressure_events += 1
            clock = self._clock()
            self._pressure_since = (clock, clock())
        else:
            clock, since = self._pressure_since  # type: ignore[misc]  # set when it turned on
            self._pressure_seconds += clock() - since
            self._pressure_since = None
        self._pressure.on_next(on)

    def _clock(self) -> Callable[[], float]:
        """Seconds on the queue's scheduler: virtual time under test, else monotonic."""
        scheduler = self._scheduler
        if scheduler is None or isinstance(scheduler, AsyncIOScheduler):
            return time.monotonic
        return lambda: scheduler.to_seconds(scheduler.now)

    def _holds(self) -> bool:
        """Whether a batch opening now should wait for company."""
        return (
            self.batch_delay > 0
            and self._pending < self.batch_size
            and not self._queues[self._top]
            and not self._under_pressure
        )

    async def _write_all(
        self, link: Link, on_sent: Callable[[str], None], scheduler: abc.SchedulerBase
    ) -> None:
        fresh = False  # the writer was idle: the batch opening now may wait for company
        while True:
            if not self._pending:
                self._idle = True
                try:
                    await self._wake.wait()
                finally:
                    self._idle = False
                fresh = True
                continue
            if fresh and self._holds():
                self._holding = True
                timer = later(scheduler, self.batch_delay, self._wake.fire)
                try:
                    await self._wake.wait()
                finally:
                    self._holding = False
                    timer.dispose()
            fresh = False
            await self._write_batch(link, on_sent)

    async def _write_batch(self, link: Link, on_sent: Callable[[str], None]) -> None:
        """Write up to ``batch_size`` envelopes, choosing the highest level before each."""
        queues = self._queues
        left = self.batch_size
        try:
            while left:
                level = self._highest  # no level above it holds anything
                queue = queues[level]
                while not queue:
                    if not level:
                        return
                    level -= 1
                    queue = queues[level]
                self._highest = level
                envelope = queue[0]
                try:
                    await link.send(envelope)
                except Exception:
                    self._write_errors += 1
                    raise
                if queue and queue[0] is envelope:  # not dropped by close() meanwhile
                    queue.popleft()
                    left -= 1
                    self._pending = pending = self._pending - 1
                    if self._under_pressure and pending <= self._low:
                        self._set_pressure(False)
                    if not pending:
                        self._empty.fire()
                    on_sent(envelope)
        finally:
            if left < self.batch_size:
                self._batches += 1
