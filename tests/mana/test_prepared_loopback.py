"""Loopback: one 2 KB event broadcast through PreparedCache to 50 deflating clients of serve().

The benefit: the envelope is encoded and compressed once (one miss, the rest hits, one
compression counted in bytes_in), and every client still decodes it, and what follows it
on the same socket, exactly.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from rx_honeybee import CompressionConfig, Connection
from rx_honeybee.transport.server import serve
from rx_mana.broadcast import broadcast
from rx_mana.prepared import PreparedCache
from rx_roots import enclose_notice, enclose_subscription_event
from tests.support import FAST, make_event, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

N = 50
DEFLATE = replace(FAST, compression=CompressionConfig(enabled=True))


async def test_one_event_reaches_every_client_once_prepared_once() -> None:
    event = make_event(1, content="gm nostr! " * 190)
    env = enclose_subscription_event("feed", event)
    assert 2000 <= len(env.encode()) <= 2600
    before = enclose_notice("before: " + "gm nostr! " * 100)  # compressor history
    after = enclose_notice("after: " + "gm nostr! " * 100)  # refers back to it
    responders: list[Connection] = []
    async with serve("127.0.0.1", 0, DEFLATE) as server:
        listening = server.connections.subscribe(responders.append)
        clients = [Connection(server.url, DEFLATE) for _ in range(N)]
        received: list[list[str]] = [[] for _ in range(N)]
        for client, inbox in zip(clients, received, strict=True):
            client.messages.subscribe(lambda e, inbox=inbox: inbox.append(str(e)))
        try:
            await asyncio.gather(*(client.connect() for client in clients))
            await until(lambda: len(responders) == N)
            assert all(r.link is not None and r.link.compressed for r in responders)
            cache = PreparedCache()
            for responder in responders:
                responder.send(before)

            assert broadcast(responders, env, cache) == []
            for responder in responders:  # plain sends after it: the contexts stay in step
                responder.send(after)
            await until(lambda: all(len(inbox) == 3 for inbox in received), timeout=20)

            assert all(inbox == [before, env, after] for inbox in received)
            stats = cache.stats()
            assert (stats.misses, stats.hits) == (1, N - 1)
            assert stats.bytes_in == len(env.encode())  # compressed once, for all 50
            assert stats.bytes_out < stats.bytes_in / 2
        finally:
            await asyncio.gather(*(client.close() for client in clients))
            listening.dispose()
