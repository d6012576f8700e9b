"""Over loopback: under pressure, a CLOSE overtakes 1,000 queued REQs on the way to the relay.

The link is held (a slow socket, as when the relay reads slowly or the network stalls) while
the application queues 1,000 REQs and then a CLOSE. With honeybee's FIFO queue the CLOSE is
refused (the queue is full) or would wait behind all of them; with PriorityWriteQueue it is
accepted from the top level's reserve and the relay receives it right after the one REQ that
was already on its way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from reactivex import Observable
from reactivex import operators as ops

from rx_honeybee import Connection, ConnectionConfig, QueueFull
from rx_honeybee.socket import DialContext, Link, Opened, SocketItem
from rx_honeybee.testing import Relay
from rx_honeybee.transport.client import aiohttp_socket
from rx_mana.write_queue import PriorityWriteQueue
from rx_roots import enclose_close, enclose_req, get_label
from tests.support import FAST, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

N = 1000
REQS = [enclose_req(f"s{n}", [{"kinds": [1]}]) for n in range(N)]
CLOSE = enclose_close("s0")


class HeldLink:
    """The real aiohttp link, with writes held while ``gate`` is clear (a congested socket)."""

    def __init__(self, inner: Link) -> None:
        self.inner = inner
        self.gate = asyncio.Event()
        self.gate.set()
        self.in_flight = 0  # writes waiting at the gate

    async def send(self, envelope: str) -> None:
        self.in_flight += 1
        try:
            await self.gate.wait()
        finally:
            self.in_flight -= 1
        await self.inner.send(envelope)

    def try_send(self, envelope: str) -> bool:
        try_send: Callable[[str], bool] | None = getattr(self.inner, "try_send", None)
        return self.gate.is_set() and try_send is not None and try_send(envelope)

    def ping(self, payload: bytes) -> None:
        self.inner.ping(payload)

    @property
    def compressed(self) -> bool:
        return self.inner.compressed


class HeldSockets:
    """aiohttp sockets whose links are wrapped in a HeldLink (``links`` keeps them)."""

    def __init__(self) -> None:
        self.links: list[HeldLink] = []

    def __call__(
        self, url: str, config: ConnectionConfig, context: DialContext
    ) -> Observable[SocketItem]:
        return aiohttp_socket(url, config, context).pipe(ops.map(self._wrap))

    def _wrap(self, item: SocketItem) -> SocketItem:
        if isinstance(item, Opened):
            held = HeldLink(item.link)
            self.links.append(held)
            return Opened(held)
        return item


async def test_a_close_is_written_before_1000_queued_reqs_under_pressure() -> None:
    sockets = HeldSockets()
    queue = PriorityWriteQueue(capacity=N)
    async with (
        Relay(max_subscriptions=2 * N) as relay,
        Connection(relay.url, FAST, write_queue=queue, socket_factory=sockets) as conn,
    ):
        link = sockets.links[-1]
        link.gate.clear()
        for envelope in REQS:
            conn.send(envelope)
        await until(lambda: link.in_flight == 1)  # REQ s0 is on its way, held
        assert queue.under_pressure and conn.pending == N
        conn.send(CLOSE)  # the queue is full: the top level's reserve takes it
        link.gate.set()
        await until(lambda: len(relay.received) == N + 1, timeout=10)
        received = list(relay.received)
        assert received.index(CLOSE) == 1  # behind the one write in flight, no more
        assert [env for env in received if env != CLOSE] == REQS  # the REQs, in order
        assert get_label(received[1]) == "CLOSE"
        await queue.drained()
        stats = queue.stats()
        assert (stats.queued, stats.sent, stats.refused) == (N + 1, N + 1, 0)
        assert stats.delayed == N - 800  # the REQs put after pressure turned on at 800
        assert stats.pressure_events == 1 and not queue.under_pressure


async def test_the_default_fifo_queue_refuses_the_close_in_the_same_situation() -> None:
    sockets = HeldSockets()
    async with (
        Relay(max_subscriptions=2 * N) as relay,
        Connection(relay.url, FAST, socket_factory=sockets) as conn,
    ):
        assert conn.config.write_queue_size == N
        link = sockets.links[-1]
        link.gate.clear()
        for envelope in REQS:
            conn.send(envelope)
        await until(lambda: link.in_flight == 1)
        with pytest.raises(QueueFull):
            conn.send(CLOSE)
        link.gate.set()
        await until(lambda: len(relay.received) == N, timeout=10)
        assert CLOSE not in relay.received
