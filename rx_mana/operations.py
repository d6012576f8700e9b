"""In-flight operations: what is running now, and how each one ended (SPEC §5 item 6).

An application with many publishes, requests and queries in flight needs one place to
see them, wait for one with a deadline, and cancel them (one, a kind, or all at
shutdown). :class:`OperationRegistry` is that place: bookkeeping only, no I/O, on its
scheduler's clock (so deadlines run in virtual time under a ``TestScheduler``). The
operator :func:`rx_mana.tracked.tracked` registers any Observable in it::

    registry = OperationRegistry()
    op = registry.register(OperationType.QUERY, relay=url)
    registry.start(op.id)
    ...
    registry.complete(op.id, events)          # or fail(op.id, error) / cancel(op.id)
    result = await registry.wait(op.id, 5.0)  # the result, or raises

Lifecycle (the table ``_TRANSITIONS``, applied in one place)::

    PENDING --start--> IN_PROGRESS
    PENDING | IN_PROGRESS --complete--> COMPLETED
                          --fail------> FAILED
                          --cancel----> CANCELLED   (runs the operation's canceller)
                          --time out--> TIMED_OUT   (wait()'s deadline; runs the canceller)

An ended operation never changes again: a late ``complete`` after a timeout or a cancel
is ignored and answered False, not an error. Ended operations stay (for ``wait`` and
inspection) until ``cleanup(max_age)`` removes them or ``max_ended`` is exceeded, so the
registry's memory stays bounded.

Errors::

    HoneybeeError
    ├── OperationNotFound (KeyError)       no such id (never registered, or removed)
    ├── OperationCancelled                 the registry cancelled the operation
    └── OperationTimedOut (TimeoutError)   a wait() deadline passed; it is TIMED_OUT
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from itertools import count
from typing import Any

from reactivex import abc

from rx_honeybee.operators import resolve_scheduler
from rx_mana.operation import (
    Canceller,
    Operation,
    OperationCancelled,
    OperationNotFound,
    OperationStats,
    OperationStatus,
    OperationTimedOut,
    OperationType,
)

__all__ = [
    "Canceller",
    "Operation",
    "OperationCancelled",
    "OperationNotFound",
    "OperationRegistry",
    "OperationStats",
    "OperationStatus",
    "OperationTimedOut",
    "OperationType",
]

_P, _R = OperationStatus.PENDING, OperationStatus.IN_PROGRESS
# The legal transitions, keyed by what happens, then by the status now: anything else
# (a late answer to an operation that ended) changes nothing.
_TRANSITIONS: dict[str, dict[OperationStatus, OperationStatus]] = {
    "start": {_P: _R},
    "complete": {_P: OperationStatus.COMPLETED, _R: OperationStatus.COMPLETED},
    "fail": {_P: OperationStatus.FAILED, _R: OperationStatus.FAILED},
    "cancel": {_P: OperationStatus.CANCELLED, _R: OperationStatus.CANCELLED},
    "time_out": {_P: OperationStatus.TIMED_OUT, _R: OperationStatus.TIMED_OUT},
}
# Endings the registry decides on, not the work itself: the canceller is told.
_INTERRUPTED = frozenset({OperationStatus.CANCELLED, OperationStatus.TIMED_OUT})


class OperationRegistry:
    """The operations in flight, with their outcomes, deadlines and cancellation.

    Time is the scheduler's clock: ``scheduler=``, else one handed over by
    :meth:`adopt_scheduler` (``tracked`` hands over the one given to ``subscribe``), else
    an ``AsyncIOScheduler`` on the running loop. One event loop uses it; it takes no locks.

    Args:
        scheduler: the clock, and where ``wait`` deadlines run.
        max_ended: keep at most this many ended operations (the earliest ended are
            removed first); None: only ``cleanup`` removes them.

    Raises:
        ValueError: ``max_ended`` negative.
    """

    def __init__(
        self, *, scheduler: abc.SchedulerBase | None = None, max_ended: int | None = 10_000
    ) -> None:
        if max_ended is not None and max_ended < 0:
            raise ValueError(f"max_ended must be >= 0 or None, got {max_ended}")
        self._scheduler = scheduler  # the clock; resolved on first use when None
        self._max_ended = max_ended  # bound on ended operations kept
        self._active: dict[str, Operation] = {}  # PENDING or IN_PROGRESS, by id
        self._ended: dict[str, Operation] = {}  # final, in the order they ended
        self._seq = count(1)  # ids and registration order
        self._reached: Counter[OperationStatus] = Counter()  # transitions into each status
        self._by_type: Counter[OperationType] = Counter()  # registrations per type
        self._completed_seconds = 0.0  # sum of completion times
        self._removed = 0  # ended operations dropped

    # -- reading -------------------------------------------------------------------------

    def get(self, op_id: str) -> Operation:
        """Return the operation ``op_id``.

        Raises:
            OperationNotFound: (a KeyError) no such id, or removed already.
        """
        op = self._active.get(op_id) or self._ended.get(op_id)
        if op is None:
            raise OperationNotFound(op_id)
        return op

    def __contains__(self, op_id: object) -> bool:
        return op_id in self._active or op_id in self._ended

    def __len__(self) -> int:
        return len(self._active) + len(self._ended)

    def operations(
        self, type: OperationType | str | None = None, status: OperationStatus | str | None = None
    ) -> list[Operation]:
        """Return the operations held, highest priority first, then oldest first."""
        held = [*self._active.values(), *self._ended.values()]
        chosen = [
            op
            for op in held
            if (type is None or op.type == type) and (status is None or op.status == status)
        ]
        return sorted(chosen, key=lambda op: (-op.priority, op._seq))

    def stats(self) -> OperationStats:
        """Return the counts since construction and what is held now."""
        completed = self._reached[OperationStatus.COMPLETED]
        in_progress = sum(op.status is _R for op in self._active.values())
        return OperationStats(
            registered=self._reached[_P],
            pending=len(self._active) - in_progress,
            in_progress=in_progress,
            held=len(self),
            removed=self._removed,
            by_status={status: self._reached[status] for status in OperationStatus},
            by_type={kind: self._by_type[kind] for kind in OperationType},
            mean_completion_time=self._completed_seconds / completed if completed else None,
        )

    # -- lifecycle -----------------------------------------------------------------------

    def register(
        self, type: OperationType | str, /, priority: int = 0, **metadata: Any
    ) -> Operation:
        """Make a PENDING operation with a new id and hold it.

        Args:
            type: what kind of work (an ``OperationType`` or its value).
            priority: higher comes first in :meth:`operations`.
            **metadata: kept on the operation (relay url, filters, …).

        Raises:
            ValueError: ``type`` is not an operation type.
            InvalidState: no scheduler was given and no asyncio loop runs.
        """
        kind = OperationType(type)
        seq = next(self._seq)
        op = Operation(f"op-{seq}", seq, kind, priority, dict(metadata), self._now())
        self._active[op.id] = op
        self._reached[_P] += 1
        self._by_type[kind] += 1
        return op

    def start(self, op_id: str) -> bool:
        """Mark PENDING ``op_id`` IN_PROGRESS; False if it was not PENDING.

        Raises:
            OperationNotFound: no such id.
        """
        op = self.get(op_id)
        if not self._apply(op, "start"):
            return False
        op._started_at = self._now()
        return True

    def complete(self, op_id: str, result: Any = None) -> bool:
        """End ``op_id`` COMPLETED with ``result``; False if it had ended already.

        Raises:
            OperationNotFound: no such id.
        """
        return self._end(self.get(op_id), "complete", result=result)

    def fail(self, op_id: str, error: Exception) -> bool:
        """End ``op_id`` FAILED with ``error``; False if it had ended already.

        Raises:
            OperationNotFound: no such id.
        """
        return self._end(self.get(op_id), "fail", error=error)

    def cancel(self, op_id: str) -> bool:
        """End ``op_id`` CANCELLED and tell its canceller; False if it had ended already.

        Raises:
            OperationNotFound: no such id.
            Exception: whatever the canceller raised (the operation is CANCELLED anyway).
        """
        op = self.get(op_id)
        return self._end(op, "cancel", error=OperationCancelled(op.id))

    def cancel_type(self, type: OperationType | str) -> int:
        """Cancel every active operation of ``type``; return how many.

        Raises:
            Exception: the first error a canceller raised, after cancelling all of them.
        """
        return self._cancel_each([op for op in self._active.values() if op.type == type])

    def cancel_all(self) -> int:
        """Cancel every active operation (at shutdown, say); return how many.

        Raises:
            Exception: the first error a canceller raised, after cancelling all of them.
        """
        return self._cancel_each(list(self._active.values()))

    def set_canceller(self, op_id: str, canceller: Canceller) -> bool:
        """Have ``canceller(op)`` stop the work if the registry cancels or times out ``op_id``.

        Returns False (and keeps nothing) when the operation had ended already.

        Raises:
            OperationNotFound: no such id.
        """
        op = self.get(op_id)
        if not op.active:
            return False
        op._canceller = canceller
        return True

    async def wait(self, op_id: str, timeout: float | None = None) -> Any:
        """Wait until ``op_id`` ends; return its result.

        The deadline runs on the registry's scheduler (virtual time under a
        ``TestScheduler``). If this waiting task is cancelled, only the wait ends: the
        operation goes on.

        Args:
            op_id: the operation.
            timeout: seconds; when they pass first, the operation is marked TIMED_OUT
                (and its canceller told). None: no deadline.

        Raises:
            OperationNotFound: (a KeyError) no such id.
            ValueError: ``timeout`` negative or not a number.
            Exception: the error the operation FAILED with.
            asyncio.CancelledError: the operation was CANCELLED.
            OperationTimedOut: (a TimeoutError) the deadline passed, now or before.
        """
        if timeout is not None and not (timeout >= 0 and math.isfinite(timeout)):
            raise ValueError(f"timeout must be >= 0 and finite, got {timeout}")
        op = self.get(op_id)
        if op.active:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            op._waiters.append(done)
            expiry: abc.DisposableBase | None = None
            if timeout is not None:

                def expire(_: abc.SchedulerBase, __: Any = None) -> None:
                    if op.active:
                        self._end(op, "time_out", error=OperationTimedOut(op.id, timeout))

                expiry = self._clock().schedule_relative(timeout, expire)
            try:
                await done
            finally:
                if expiry is not None:
                    expiry.dispose()
                if done in op._waiters:  # this task was cancelled: stop waiting, only that
                    op._waiters.remove(done)
        return _outcome(op)

    def cleanup(self, max_age: float) -> int:
        """Remove the operations that ended ``max_age`` seconds ago or more; return how many.

        Active operations are never removed. ``cleanup(0)`` removes every ended one.

        Raises:
            ValueError: ``max_age`` negative or not a number.
        """
        if not (max_age >= 0 and math.isfinite(max_age)):
            raise ValueError(f"max_age must be >= 0 and finite, got {max_age}")
        if not self._ended:
            return 0
        cutoff = self._now() - max_age
        old = []
        for op_id, op in self._ended.items():  # in the order they ended: oldest first
            if op._ended_at is None or op._ended_at > cutoff:
                break
            old.append(op_id)
        for op_id in old:
            del self._ended[op_id]
        self._removed += len(old)
        return len(old)

    # -- the clock -----------------------------------------------------------------------

    def adopt_scheduler(self, scheduler: abc.SchedulerBase | None) -> None:
        """Use ``scheduler`` as the clock unless the registry has one already."""
        if self._scheduler is None and scheduler is not None:
            self._scheduler = scheduler

    def _clock(self) -> abc.SchedulerBase:
        if self._scheduler is None:
            self._scheduler = resolve_scheduler(None, None, "OperationRegistry")
        return self._scheduler

    def _now(self) -> float:
        clock = self._clock()
        return clock.to_seconds(clock.now)

    # -- internals -----------------------------------------------------------------------

    def _apply(self, op: Operation, event: str) -> bool:
        """Move ``op`` by ``event`` if the table allows it; the one place status changes."""
        target = _TRANSITIONS[event].get(op._status)
        if target is None:
            return False
        op._status = target
        self._reached[target] += 1
        return True

    def _end(
        self, op: Operation, event: str, *, result: Any = None, error: Exception | None = None
    ) -> bool:
        if not self._apply(op, event):
            return False
        now = self._now()
        op._ended_at = now
        op._result = result
        op._error = error
        if op._status is OperationStatus.COMPLETED:
            since = op._registered_at if op._started_at is None else op._started_at
            self._completed_seconds += max(0.0, now - since)  # a wall clock may step back
        del self._active[op.id]
        self._ended[op.id] = op
        waiters, op._waiters = op._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        canceller, op._canceller = op._canceller, None
        self._evict()
        if canceller is not None and op._status in _INTERRUPTED:
            canceller(op)
        return True

    def _evict(self) -> None:
        if self._max_ended is None:
            return
        while len(self._ended) > self._max_ended:
            del self._ended[next(iter(self._ended))]
            self._removed += 1

    def _cancel_each(self, ops: list[Operation]) -> int:
        cancelled = 0
        first: Exception | None = None
        for op in ops:
            try:
                if self._end(op, "cancel", error=OperationCancelled(op.id)):
                    cancelled += 1
            except Exception as exc:  # a canceller failed: it is cancelled; go on
                cancelled += 1
                first = first or exc
        if first is not None:
            raise first
        return cancelled


def _outcome(op: Operation) -> Any:
    """The result of an ended operation, or the exception that says how it ended."""
    if op._status is OperationStatus.COMPLETED:
        return op._result
    if op._status is OperationStatus.CANCELLED:
        raise asyncio.CancelledError(f"operation {op.id} was cancelled")
    assert op._error is not None  # FAILED and TIMED_OUT always carry theirs
    raise op._error
