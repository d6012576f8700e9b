"""A bounded inbound buffer for consumers that await between envelopes (SPEC §4).

Subscribers of ``messages``/``channels()`` run synchronously in the reader, so a slow one
slows the reader and TCP pushes back by itself. A consumer that hands envelopes to other
tasks (``async for``, ``observe_on``) breaks that link; ``Connection.inbox()`` restores it:
when ``max_buffer`` envelopes wait, the connection stops reading its socket (the relay
feels TCP back-pressure) and reports ``ChannelFull`` once for that episode; reading
resumes once the consumer has taken half of them. Nothing is dropped, and memory stays
bounded by ``max_buffer`` × envelope size (plus what the kernel and aiohttp buffer).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from reactivex import abc

from rx_honeybee.errors import ChannelFull

if TYPE_CHECKING:
    from rx_honeybee.streams import Streams

__all__ = ["Inbox"]


class Inbox:
    """``async for envelope in conn.inbox(...)``: every envelope, in order, bounded.

    Args:
        conn: the connection read.
        labels: only envelopes with these labels (None: every envelope).
        max_buffer: envelopes held before the socket stops being read.

    Raises:
        ValueError: ``max_buffer`` < 1.
    """

    def __init__(
        self, conn: Streams, labels: Iterable[str] | None = None, *, max_buffer: int = 10_000
    ) -> None:
        if max_buffer < 1:
            raise ValueError(f"max_buffer must be >= 1, got {max_buffer}")
        self.max_buffer = max_buffer  # the bound
        self._resume_at = max_buffer // 2  # read again once the consumer got down to this
        self._conn = conn  # whose reader is paused when full
        self._items: deque[str] = deque()  # waiting envelopes, oldest first
        self._waiter: asyncio.Future[None] | None = None  # a consumer waiting for one
        self._full = False  # the reader is paused by this inbox
        self._ended = False  # the connection's streams completed, or aclose()
        self.episodes = 0  # times the buffer filled up (and ChannelFull was reported)
        if labels is None:
            sources = [conn.messages]
        else:
            wanted = list(labels)
            channels = conn.channels(wanted)
            sources = [channels[label] for label in dict.fromkeys(wanted)]
        self._subscriptions: list[abc.DisposableBase] = [
            source.subscribe(self._on_envelope, self._on_end, self._on_end) for source in sources
        ]

    def __len__(self) -> int:
        return len(self._items)

    def _on_envelope(self, envelope: Any) -> None:
        items = self._items
        items.append(envelope)
        self._wake()
        if len(items) >= self.max_buffer and not self._full:
            self._full = True
            self.episodes += 1
            self._conn.hold_reading(self)
            self._conn.report(
                ChannelFull(f"inbox of {self._conn.url}: {len(items)} envelopes wait; paused")
            )

    def _on_end(self, _: Exception | None = None) -> None:
        self._ended = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> Inbox:
        return self

    async def __anext__(self) -> str:
        while not self._items:
            if self._ended:
                self._release()
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        envelope = self._items.popleft()
        if self._full and len(self._items) <= self._resume_at:
            self._release()
        return envelope

    def _release(self) -> None:
        if self._full:
            self._full = False
            self._conn.release_reading(self)

    async def aclose(self) -> None:
        """Stop receiving; the reader is not held back by this inbox any more."""
        for subscription in self._subscriptions:
            subscription.dispose()
        self._subscriptions = []
        self._items.clear()
        self._on_end()
        self._release()
