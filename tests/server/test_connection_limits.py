"""Issue 12 item 5: one LAN client cannot lock others out, hold sockets, or flood stderr.

Connection caps answer HTTP 503 with the reason; a TCP socket that never upgrades is
aborted after the handshake deadline; a client that stops reading has its socket
aborted, not only marked dead; the loggers a flood fills print one line per interval.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from rx_honeybee import Connection, ConnectionClosed, responder, serve
from rx_honeybee.transport.server import ConnectionLimits
from tests.server.rawsock import open_raw
from tests.support import FAST, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

_HOST = "127.0.0.1"


async def test_total_cap_refuses_the_fourth_with_503_and_says_why() -> None:
    async with serve(limits=ConnectionLimits(max_total=3)) as server:
        async with aiohttp.ClientSession() as session:
            first = [await session.ws_connect(server.url) for _ in range(3)]
            await until(lambda: len(server.clients) == 3)
            raw = await open_raw(_HOST, server.port)
            assert await raw.upgrade(_HOST, server.port) == 503
            assert b"too many connections: the server takes 3 in all" in await raw.body()
            raw.close()
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(server.url)
            assert refused.value.status == 503
            await first[0].close()  # a place frees up
            await until(lambda: len(server.clients) == 2)
            again = await session.ws_connect(server.url)
            await until(lambda: len(server.clients) == 3)
            for ws in [*first[1:], again]:
                await ws.close()


async def test_per_address_cap_refuses_with_503_and_names_the_address() -> None:
    async with serve(limits=ConnectionLimits(max_per_ip=2)) as server:
        async with aiohttp.ClientSession() as session:
            first = [await session.ws_connect(server.url) for _ in range(2)]
            await until(lambda: len(server.clients) == 2)
            raw = await open_raw(_HOST, server.port)
            assert await raw.upgrade(_HOST, server.port) == 503
            assert b"too many connections from 127.0.0.1 (max 2)" in await raw.body()
            raw.close()
            for ws in first:
                await ws.close()


async def test_a_silent_tcp_socket_is_closed_after_the_handshake_timeout() -> None:
    async with serve(limits=ConnectionLimits(handshake_timeout=0.5)) as server:
        silent = await open_raw(_HOST, server.port)
        half = await open_raw(_HOST, server.port)
        half.writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # a request that never ends
        assert await asyncio.wait_for(silent.closed_by_peer(), 10)
        assert await asyncio.wait_for(half.closed_by_peer(), 10)
        # a websocket that upgraded in time is not touched by that deadline
        async with Connection(server.url, FAST) as client:
            await asyncio.sleep(1.0)
            assert len(server.clients) == 1 and client.status.name == "CONNECTED"
        silent.close()
        half.close()


async def test_silent_sockets_beyond_the_total_cap_push_out_the_oldest() -> None:
    limits = ConnectionLimits(max_total=3, handshake_timeout=600)
    async with serve(limits=limits) as server:
        silent = [await open_raw(_HOST, server.port) for _ in range(5)]
        for oldest in silent[:2]:  # each newer socket pushed one out
            assert await asyncio.wait_for(oldest.closed_by_peer(), 10)
        async with Connection(server.url, FAST):  # an honest client still gets in
            await until(lambda: len(server.clients) == 1)
            assert await asyncio.wait_for(silent[2].closed_by_peer(), 10)
        for raw in silent:
            raw.close()


def _flood(server: object, size: int = 60_000, count: int = 400) -> None:
    """Queue ``count`` NOTICEs of ``size`` bytes on each new client (~24 MB)."""

    def on_client(conn: Connection) -> None:
        for _ in range(count):
            try:
                responder.send_notice(conn, "x" * size)
            except ConnectionClosed:
                return

    server.connections.subscribe(on_client)  # type: ignore[attr-defined]


async def test_a_client_that_stops_reading_is_aborted_within_the_stall_timeout() -> None:
    async with serve(limits=ConnectionLimits(stall_timeout=0.5)) as server:
        _flood(server)
        stuck = await open_raw(_HOST, server.port, rcvbuf=4096)
        assert await stuck.upgrade(_HOST, server.port) == 101
        await until(lambda: len(server.clients) == 1)
        await until(lambda: not server.clients, timeout=10)  # its socket was aborted
        assert await asyncio.wait_for(stuck.closed_by_peer(), 10)
        stuck.close()


async def test_closing_a_stuck_client_releases_its_socket() -> None:
    # the stall deadline is far away: only closing the connection may free the socket
    async with serve(limits=ConnectionLimits(stall_timeout=600)) as server:
        _flood(server)
        stuck = await open_raw(_HOST, server.port, rcvbuf=4096)
        assert await stuck.upgrade(_HOST, server.port) == 101
        await until(lambda: len(server.clients) == 1)
        conn = next(iter(server.clients))
        await until(lambda: conn.pending > 0)  # its writes are blocked
        await conn.close(flush_timeout=0)
        # transport.close() would wait for the unread megabytes forever: it is aborted
        assert await asyncio.wait_for(stuck.closed_by_peer(), 10)
        stuck.close()


async def test_flooded_loggers_print_one_line_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with serve(limits=ConnectionLimits(log_interval=60)):
        for n in range(50):
            logging.getLogger("asyncio").error("socket.accept() out of system resource %d", n)
    flood = [r for r in caplog.records if r.name == "asyncio"]
    assert len(flood) == 1
    assert any(
        "49 lines of the asyncio logger were dropped" in r.getMessage() for r in caplog.records
    )
    logging.getLogger("asyncio").error("after the server stopped")  # not throttled any more
    assert [r for r in caplog.records if r.name == "asyncio"][-1].getMessage() == (
        "after the server stopped"
    )
