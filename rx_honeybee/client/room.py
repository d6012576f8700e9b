"""Sends that wait for room in a full write queue, in order, instead of being lost.

After a reconnect a session resends every live subscription at once; with more of them
than the write queue holds, the rest used to fail for good (20 of 30 dead). Here each send
refused with ``QueueFull`` waits, in order, and is tried again each time the connection
writes an envelope (a slot came free). The connection's ``written`` stream is watched
only while something waits.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from reactivex import abc

from rx_honeybee.connection import Connection
from rx_honeybee.errors import HoneybeeError, QueueFull

__all__ = ["WaitingRoom"]

Send = Callable[[], None]
Fail = Callable[[Exception], None]


class WaitingRoom:
    """Sends refused for a full queue, oldest first, retried as slots come free."""

    __slots__ = ("_conn", "_waiting", "_watching")

    def __init__(self, conn: Connection) -> None:
        self._conn = conn  # whose queue and ``written`` stream
        self._waiting: deque[tuple[Send, Fail]] | None = None  # in order; made when needed
        self._watching: abc.DisposableBase | None = None  # on ``written``, while waiting

    def __len__(self) -> int:
        return len(self._waiting) if self._waiting is not None else 0

    def send(self, send: Send, fail: Fail) -> None:
        """Run ``send`` now, or after the sends already waiting if the queue is full.

        ``fail`` gets any other refusal (the connection ended).
        """
        if not self._waiting:
            try:
                send()
                return
            except QueueFull:
                pass
            except HoneybeeError as exc:
                fail(exc)
                return
        if self._waiting is None:
            self._waiting = deque()
        self._waiting.append((send, fail))
        if self._watching is None:
            self._watching = self._conn.written.subscribe(self._room)

    def _room(self, _: str = "") -> None:
        """A slot came free: send what waits, in order, until the queue is full again."""
        waiting = self._waiting
        while waiting:
            send, fail = waiting[0]
            try:
                send()
            except QueueFull:
                return
            except HoneybeeError as exc:
                fail(exc)
            waiting.popleft()
        self.clear()

    def clear(self) -> None:
        """Forget what waits (the connection ended: its owners are failed elsewhere)."""
        self._waiting = None
        watching, self._watching = self._watching, None
        if watching is not None:
            watching.dispose()
