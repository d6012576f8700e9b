"""Connection over real aiohttp sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from rx_honeybee.config import (
    CompressionConfig,
    ConnectionConfig,
    HealthConfig,
    ReconnectConfig,
)
from rx_honeybee.connection import Connection
from rx_honeybee.errors import (
    ConnectionClosed,
    ConnectionFailed,
    ConnectionTimeout,
    ConnectionUnhealthy,
    EnvelopeTooLarge,
    InvalidState,
    MaxReconnectAttemptsExceeded,
    PongTimeout,
    QueueFull,
)
from rx_honeybee.testing import FAST
from rx_roots import ConnectionStatus as S

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]

TWITCHY = replace(
    FAST, health=HealthConfig(ping_interval=0.2, pong_timeout=0.1, failure_threshold=1)
)
"""The kit's FAST, but one missed pong within 0.3 s drops the socket."""


class Recorder:
    """Collects a connection's three streams."""

    def __init__(self, conn: Connection) -> None:
        self.states: list[S] = []
        self.messages: list[str] = []
        self.errors: list[Exception] = []
        self.completed: list[str] = []
        conn.state.subscribe(self.states.append, on_completed=lambda: self.completed.append("s"))
        conn.messages.subscribe(
            self.messages.append, on_completed=lambda: self.completed.append("m")
        )
        conn.errors.subscribe(self.errors.append, on_completed=lambda: self.completed.append("e"))


def only_own_tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}


async def test_construction_has_no_side_effects() -> None:
    before = only_own_tasks()
    conn = Connection("ws://127.0.0.1:9/", FAST)
    assert conn.status is S.DISCONNECTED
    assert only_own_tasks() == before
    await conn.close()
    assert conn.status is S.CLOSED


async def test_round_trip_and_clean_close(server: Any, until: Any) -> None:
    before = only_own_tasks()
    conn = Connection(server.url, FAST)
    rec = Recorder(conn)
    async with conn:
        assert conn.status is S.CONNECTED
        conn.send('["REQ","a",{}]')
        await until(lambda: rec.messages == ['["REQ","a",{}]'])
    await conn.close()  # twice is fine
    assert rec.states == [S.DISCONNECTED, S.CONNECTING, S.CONNECTED, S.CLOSING, S.CLOSED]
    assert sorted(rec.completed) == ["e", "m", "s"]
    late: list[S] = []
    conn.state.subscribe(late.append)
    assert late == [S.CLOSED]
    assert only_own_tasks() == before
    snap = conn.metrics.snapshot()
    assert snap["messages_sent"] == 1 and snap["messages_received"] == 1
    with pytest.raises(InvalidState):
        conn.send('["CLOSE","a"]')
    with pytest.raises(InvalidState):
        await conn.connect()


async def test_server_drop_reconnects_and_delivers_queue_in_order(server: Any, until: Any) -> None:
    conn = Connection(server.url, FAST)
    rec = Recorder(conn)
    await conn.connect()
    conn.send('["A"]')
    await until(lambda: rec.messages == ['["A"]'])
    server.handler = _hold_then_echo  # the next socket waits a little before reading
    await server.sockets[0].close(code=1001)
    await until(lambda: conn.status is not S.CONNECTED)
    for n in range(3):
        conn.send(f'["N",{n}]')  # queued while backing off / dialling
    await until(lambda: len(rec.messages) == 4)
    assert rec.messages == ['["A"]', '["N",0]', '["N",1]', '["N",2]']
    assert rec.states[:6] == [
        S.DISCONNECTED,
        S.CONNECTING,
        S.CONNECTED,
        S.BACKOFF,
        S.CONNECTING,
        S.CONNECTED,
    ]
    assert isinstance(rec.errors[0], ConnectionClosed) and rec.errors[0].code == 1001
    assert conn.metrics.snapshot()["reconnections"] == 1
    assert "m" not in rec.completed
    await conn.close()


async def _hold_then_echo(ws: web.WebSocketResponse, server: Any) -> None:
    await asyncio.sleep(0.05)
    async for msg in ws:
        if msg.type is WSMsgType.TEXT:
            server.received.append(msg.data)
            await ws.send_str(msg.data)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_refused_port_backs_off_then_gives_up() -> None:
    before = only_own_tasks()
    config = ConnectionConfig(
        reconnect=ReconnectConfig(initial_delay=0.01, max_delay=0.02, max_attempts=3)
    )
    conn = Connection(f"ws://127.0.0.1:{_free_port()}/", config)
    rec = Recorder(conn)
    with pytest.raises(MaxReconnectAttemptsExceeded) as info:
        await conn.connect()
    cause = info.value.__cause__
    assert isinstance(cause, ConnectionFailed) and cause.category == "refused"
    assert conn.status is S.ERROR
    # no BACKOFF before ERROR: the notifier gave up, no retry follows the last failure
    assert rec.states == [S.DISCONNECTED, S.CONNECTING] + [S.BACKOFF, S.CONNECTING] * 3 + [S.ERROR]
    assert [type(e) for e in rec.errors] == [ConnectionFailed] * 4 + [MaxReconnectAttemptsExceeded]
    with pytest.raises(InvalidState):
        conn.send('["X"]')
    await conn.close()
    assert conn.status is S.CLOSED
    assert only_own_tasks() == before


async def test_handshake_refusal_has_category_and_status(server: Any) -> None:
    server.refuse_status = 403
    config = ConnectionConfig(reconnect=ReconnectConfig(enabled=False))
    conn = Connection(server.url, config)
    with pytest.raises(ConnectionFailed) as info:
        await conn.connect()
    assert info.value.category == "handshake" and info.value.status == 403
    assert conn.status is S.ERROR
    await conn.close()


async def test_silent_server_is_a_timeout() -> None:
    release = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)  # take the HTTP upgrade, never answer
        await release.wait()
        writer.close()
        await writer.wait_closed()

    tcp = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    config = ConnectionConfig(connect_timeout=0.1, reconnect=ReconnectConfig(enabled=False))
    conn = Connection(f"ws://127.0.0.1:{port}/", config)
    try:
        with pytest.raises(ConnectionTimeout) as info:
            await conn.connect()
        assert info.value.category == "timeout"
    finally:
        await conn.close()
        release.set()
        tcp.close()
        await tcp.wait_closed()


async def test_stalled_peer_is_detected_and_redialled(server: Any, until: Any) -> None:
    server.autoping = False  # the server will not answer our pings while it stalls

    async def stall(ws: web.WebSocketResponse, _: Any) -> None:
        await asyncio.sleep(3)

    server.handler = stall
    conn = Connection(server.url, TWITCHY)
    rec = Recorder(conn)
    loop = asyncio.get_running_loop()
    await conn.connect()
    started = loop.time()
    await until(lambda: S.BACKOFF in rec.states, timeout=2.0)
    elapsed = loop.time() - started
    bound = TWITCHY.health.ping_interval + TWITCHY.health.pong_timeout
    assert elapsed < bound + 0.15  # detected within interval + timeout (plus scheduling slack)
    unhealthy = next(e for e in rec.errors if isinstance(e, ConnectionUnhealthy))
    assert isinstance(unhealthy.__cause__, PongTimeout)
    server.autoping = True
    server.handler = _hold_then_echo
    await until(lambda: conn.status is S.CONNECTED and server.accepted >= 2)
    await conn.close()


async def test_pong_latency_is_recorded(server: Any, until: Any) -> None:
    config = ConnectionConfig(health=HealthConfig(ping_interval=0.02, pong_timeout=0.02))
    async with Connection(server.url, config) as conn:
        await until(lambda: conn.metrics.snapshot()["latency_last"] is not None)
        latency = conn.metrics.snapshot()["latency_last"]
        assert isinstance(latency, float) and 0 < latency < 0.02


async def test_oversized_envelope_is_refused_and_nothing_written(server: Any, until: Any) -> None:
    config = ConnectionConfig(max_message_size=100)
    async with Connection(server.url, config) as conn:
        with pytest.raises(EnvelopeTooLarge) as info:
            conn.send('["N","' + "é" * 50 + '"]')  # 58 characters, 108 bytes in UTF-8
        assert info.value.limit == 100 and info.value.size > 100
        assert conn.pending == 0
        conn.send('["OK"]')
        await until(lambda: server.received == ['["OK"]'])


async def test_queue_full_when_bounded_queue_is_full() -> None:
    conn = Connection("ws://127.0.0.1:9/", ConnectionConfig(write_queue_size=2))
    conn.send('["A"]')
    conn.send('["B"]')
    with pytest.raises(QueueFull):
        conn.send('["C"]')
    assert conn.pending == 2
    await conn.close()


async def test_close_code_4000_means_do_not_reconnect(server: Any, until: Any) -> None:
    conn = Connection(server.url, FAST)
    rec = Recorder(conn)
    await conn.connect()
    await server.sockets[0].close(code=4000, message=b"go away")
    await until(lambda: conn.status is S.CLOSED)
    await asyncio.sleep(0.1)
    assert server.accepted == 1
    assert rec.states[-2:] == [S.CONNECTED, S.CLOSED]
    assert sorted(rec.completed) == ["e", "m", "s"]
    await conn.close()


async def test_subscriber_exception_is_reported_and_stream_continues(
    server: Any, until: Any
) -> None:
    conn = Connection(server.url, FAST)
    rec = Recorder(conn)

    def faulty(envelope: str) -> None:
        raise RuntimeError(f"bad subscriber on {envelope}")

    conn.messages.subscribe(faulty)
    after: list[str] = []
    conn.messages.subscribe(after.append)
    async with conn:
        conn.send('["A"]')
        conn.send('["B"]')
        await until(lambda: after == ['["A"]', '["B"]'])
        assert rec.messages == ['["A"]', '["B"]']
        faults = [e for e in rec.errors if isinstance(e, RuntimeError)]
        assert [str(e) for e in faults] == ['bad subscriber on ["A"]', 'bad subscriber on ["B"]']
        assert conn.status is S.CONNECTED


async def test_compression_is_negotiated(server: Any, until: Any) -> None:
    config = ConnectionConfig(compression=CompressionConfig(enabled=True))
    async with Connection(server.url, config) as conn:
        assert conn.link is not None and conn.link.compressed
        assert server.sockets[0].compress
        conn.send('["EVENT",{"content":"' + "gm " * 500 + '"}]')
        await until(lambda: len(server.received) == 1)
        assert conn.metrics.snapshot()["compressed"] is True


async def test_no_compression_by_default(server: Any) -> None:
    async with Connection(server.url, FAST) as conn:
        assert conn.link is not None and not conn.link.compressed
