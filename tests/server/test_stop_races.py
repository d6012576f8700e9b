"""Relay.stop() while clients are leaving: no illegal transition, the port is released.

Issue 12 item 7: a client that finished closing while stop() flushed its queue made stop()
raise (``CLOSED -> CLOSED``), the listening socket was never cleaned up and a restart on
the same port failed.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from rx_honeybee.relay import Relay
from tests.server.rawsock import RawClient, open_raw
from tests.support import make_event, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

_CLIENTS = 8
_REQS = 6  # 6 x 1.2 MB per client: more than the kernel buffers take
_EVENTS = [make_event(n, seed="stop-race", content="x" * 8000) for n in range(150)]


async def _req_and_close(session: aiohttp.ClientSession, url: str, sub_id: str) -> None:
    async with session.ws_connect(url) as ws:
        await ws.send_str(f'["REQ","{sub_id}",{{}}]')
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT and '"EOSE"' in msg.data:
                return


async def test_stop_while_clients_close_during_the_flush_then_restart() -> None:
    relay = Relay(max_limit=1000)
    await relay.start()
    port = relay.port
    for event in _EVENTS:
        relay.publish(event)
    # Clients that do not read (small receive buffers) have megabytes still queued, so
    # stop() has a flush to wait on; they leave while it waits, half with a close frame
    # (the relay side ends CLOSED), half by dropping the socket.
    clients = [await open_raw("127.0.0.1", port, rcvbuf=4096) for _ in range(_CLIENTS)]
    for n, client in enumerate(clients):
        assert await client.upgrade("127.0.0.1", port) == 101
        for k in range(_REQS):
            client.send_text(f'["REQ","s{n}-{k}",{{}}]')
    await until(lambda: len(relay.subscriptions) == _CLIENTS * _REQS)
    server = relay._server  # the transport: its connections' queues
    await until(lambda: sum(1 for conn in server.clients if conn.pending) == _CLIENTS)

    async def leave(n: int, client: RawClient) -> None:
        await asyncio.sleep(0.01 * (n % 8))
        if n % 2:
            client.close()
        else:
            client.send_close()

    leaving = [asyncio.ensure_future(leave(n, client)) for n, client in enumerate(clients)]
    await relay.stop()  # raised InvalidState before
    await asyncio.gather(*leaving)
    for client in clients:
        client.close()
    assert relay.clients == 0

    await relay.start()  # the same port: it was released
    assert relay.port == port
    async with aiohttp.ClientSession() as session:
        await _req_and_close(session, relay.url, "after-restart")
    await relay.stop()
    await relay.stop()  # idempotent


async def test_stop_twice_concurrently_and_restart() -> None:
    relay = Relay()
    await relay.start()
    async with aiohttp.ClientSession() as session:
        sockets = [await session.ws_connect(relay.url) for _ in range(8)]
        await until(lambda: relay.clients == 8)
        await asyncio.gather(relay.stop(), relay.stop(), *(ws.close() for ws in sockets))
        await relay.start()
        await _req_and_close(session, relay.url, "again")
        await relay.stop()
