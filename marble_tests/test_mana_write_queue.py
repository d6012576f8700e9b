"""Marble tests of PriorityWriteQueue inside a Connection: batch delay and pressure hysteresis.

The queue gets the connection's TestScheduler through ``start``, so its batch timer and its
pressure clock run in virtual time; ``link.sent_at`` shows when each envelope was written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from reactivex.testing import TestScheduler

from marble_tests.support import Sink
from rx_honeybee.connection import Connection
from rx_honeybee.socket import Opened
from rx_honeybee.testing import MarbleHarness, MarbleSockets, RecordingLink, start_connect
from rx_mana.write_queue import PriorityWriteQueue
from rx_roots import enclose_close, enclose_req

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]

CLOSE = enclose_close("s0")


def req(n: int) -> str:
    return enclose_req(f"s{n}", [{"kinds": [1]}])


class SlowLink(RecordingLink):
    """A RecordingLink whose every write takes ``per_write`` units of virtual time."""

    def __init__(self, scheduler: TestScheduler, per_write: float) -> None:
        super().__init__(scheduler)
        self._scheduler = scheduler
        self._per_write = per_write

    async def send(self, envelope: str) -> None:
        done = asyncio.get_running_loop().create_future()
        self._scheduler.schedule_relative(self._per_write, lambda *_: done.set_result(None))
        await done
        await super().send(envelope)


class Harness:
    """A Connection writing through ``queue`` over one marble socket (open at 1, stays up).

    ``MarbleHarness`` builds its own connection (with the default queue), hence this small
    copy of its stepping: virtual time advances by ``step`` and the writer task runs at each.
    """

    def __init__(
        self, queue: PriorityWriteQueue, link: Callable[[TestScheduler], RecordingLink]
    ) -> None:
        self.scheduler = TestScheduler()
        self.link = link(self.scheduler)
        sockets = MarbleSockets(self.scheduler, ["-o"], lookup={"o": Opened(self.link)})
        self.conn = Connection(
            "ws://relay",
            MarbleHarness.CONFIG,
            scheduler=self.scheduler,
            socket_factory=sockets,
            write_queue=queue,
        )

    async def start(self) -> None:
        connecting = await start_connect(self.conn)
        await self.run_until(1)
        await connecting

    async def run_until(self, t: float, step: float = 0.5) -> None:
        now = float(self.scheduler.clock)
        while True:
            for _ in range(4):
                await asyncio.sleep(0)
            if now >= t:
                return
            now = min(t, now + step)
            self.scheduler.advance_to(now)


async def test_envelopes_ready_within_batch_delay_are_written_together() -> None:
    # sent at 1, 2 / 5, 5, 5 / 6, then a CLOSE at 7: a batch waits 2.0 for company at
    # most; a full batch (3) or a control envelope closes it at once
    queue = PriorityWriteQueue(batch_size=3, batch_delay=2.0)
    h = Harness(queue, RecordingLink)
    await h.start()  # CONNECTED at 1
    h.conn.send(req(1))
    await h.run_until(2)
    h.conn.send(req(2))
    await h.run_until(2.5)
    assert h.link.sent == []  # the batch opened at 1 is still open
    await h.run_until(5)
    for n in (3, 4, 5):
        h.conn.send(req(n))
    await h.run_until(6)
    h.conn.send(req(6))
    await h.run_until(7)
    h.conn.send(CLOSE)
    await h.run_until(10)
    assert list(zip(h.link.sent_at, h.link.sent, strict=True)) == [
        (3.0, req(1)),  # opened at 1, held 2.0
        (3.0, req(2)),
        (5.0, req(3)),  # batch_size reached: no wait
        (5.0, req(4)),
        (5.0, req(5)),
        (7.0, CLOSE),  # closes the batch req(6) opened at 6, and goes first
        (7.0, req(6)),
    ]
    stats = queue.stats()
    assert (stats.batches, stats.average_batch, stats.sent) == (3, pytest.approx(7 / 3), 7)
    await h.conn.close()


async def test_pressure_turns_on_at_high_off_at_low_and_replays() -> None:
    #  pending: 0 ... 8 (t=2: on) 9 -> one write per unit -> 5 (t=6: off) -> 7 (no change)
    #           -> 8 (t=7.5: on again)
    queue = PriorityWriteQueue(capacity=10, batch_size=1, batch_delay=0.0)
    h = Harness(queue, lambda scheduler: SlowLink(scheduler, per_write=1.0))
    seen = Sink(h.scheduler)
    seen.observe(queue.pressure)
    await h.start()
    await h.run_until(2)
    for n in range(7):
        h.conn.send(req(n))
    assert seen.items == [(0.0, False)]  # 7 of 10: below the high watermark
    h.conn.send(req(7))
    h.conn.send(req(8))
    assert seen.items == [(0.0, False), (2.0, True)]  # 8 of 10
    late = Sink(h.scheduler)
    await h.run_until(3)
    late.observe(queue.pressure)
    assert late.items == [(3.0, True)]  # a late subscriber learns the current value
    await h.run_until(6)  # writes at 3, 4, 5, 6: 9 -> 5 waiting
    assert seen.items == [(0.0, False), (2.0, True), (6.0, False)]
    assert len(queue) == 5
    h.conn.send(req(9))
    h.conn.send(req(10))  # 7: between the watermarks, and it was off: stays off
    await h.run_until(6.5)
    assert len(queue) == 7 and seen.items[-1] == (6.0, False)
    h.conn.send(req(11))  # 8 again (the write due at 7 is still in flight)
    assert seen.items[-1] == (6.5, True)
    stats = queue.stats()
    assert (stats.pressure_events, stats.pressure_seconds) == (2, pytest.approx(4.0))
    assert stats.delayed == 1  # req(8), put while under pressure
    await h.conn.close(flush_timeout=0)
