"""serve(): responder connections over real sockets, limits, fault hooks, role rules."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from rx_honeybee import (
    Connection,
    ConnectionConfig,
    ConnectionFailed,
    InboundLimit,
    ReconnectConfig,
    Role,
    RoleError,
    initiator,
    responder,
    serve,
)
from rx_roots import ConnectionStatus as S
from tests.support import FAST, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


def echo_notices(server: Any) -> list[Connection]:
    """Answer every envelope with a NOTICE echoing it; return the accepted connections."""
    accepted: list[Connection] = []

    def on_client(conn: Connection) -> None:
        accepted.append(conn)
        conn.messages.subscribe(lambda env: responder.send_notice(conn, f"echo {env}"))

    server.connections.subscribe(on_client)
    return accepted


async def test_accepted_clients_are_responder_connections() -> None:
    async with serve() as server:
        accepted = echo_notices(server)
        async with Connection(server.url, FAST) as client:
            got: list[str] = []
            client.messages.subscribe(got.append)
            client.send('["REQ","a",{}]')
            await until(lambda: len(got) == 1)
            assert got == ['["NOTICE","echo [\\"REQ\\",\\"a\\",{}]"]']
            assert accepted[0].role is Role.RESPONDER and client.role is Role.INITIATOR
            assert accepted[0].status is S.CONNECTED
        await until(lambda: accepted[0].status is S.CLOSED)
        assert server.clients == set()


async def test_role_rules() -> None:
    async with serve() as server:
        accepted = echo_notices(server)
        async with Connection(server.url, FAST) as client:
            await until(lambda: len(accepted) == 1)
            relay_side = accepted[0]
            with pytest.raises(RoleError):
                responder.send_notice(client, "nope")
            with pytest.raises(RoleError):
                responder.send_ok(client, "a" * 64, True)
            with pytest.raises(RoleError):
                initiator.send_req(relay_side, "x", [{}])
            with pytest.raises(RoleError):
                initiator.publish(relay_side, {"id": "x"})
            with pytest.raises(RoleError):
                initiator.request(relay_side, [{}])


async def test_restart_on_the_same_port_and_client_reconnects() -> None:
    async with serve() as server:
        echo_notices(server)
        port = server.port
        client = Connection(server.url, FAST)
        states: list[S] = []
        client.state.subscribe(states.append)
        await client.connect()
        await server.stop()
        await until(lambda: S.BACKOFF in states)
        await server.start()
        assert server.port == port
        await until(lambda: client.status is S.CONNECTED and states.count(S.CONNECTED) == 2)
        await client.close()


async def test_oversized_frame_closes_only_that_client() -> None:
    config = ConnectionConfig(max_message_size=1000)
    async with serve(config=config) as server:
        echo_notices(server)
        async with Connection(server.url, FAST) as good:
            got: list[str] = []
            good.messages.subscribe(got.append)
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(server.url) as bad:
                    await bad.send_str('["EVENT",' + '"x"' * 1000 + "]")
                    msg = await bad.receive(timeout=2)
                    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
                    assert bad.close_code == 1009
            good.send('["REQ","ok",{}]')
            await until(lambda: len(got) == 1)


async def test_flooding_client_gets_a_notice_then_is_disconnected() -> None:
    limit = InboundLimit(messages_per_sec=10, burst=5, max_dropped=50)
    async with serve(limit=limit) as server:
        accepted = echo_notices(server)
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(server.url) as flood:
                for _ in range(200):
                    await flood.send_str('["REQ","f",{}]')
                texts: list[str] = []
                async for msg in flood:
                    texts.append(msg.data)
                assert flood.close_code == 1008
        assert '["NOTICE","rate-limited: slow down"]' in texts
        assert sum(t.startswith('["NOTICE","echo') for t in texts) <= 10
        async with Connection(server.url, FAST) as good:  # the server still serves others
            got: list[str] = []
            good.messages.subscribe(got.append)
            good.send('["REQ","ok",{}]')
            await until(lambda: len(got) == 1)
        assert len(accepted) == 2


async def test_garbage_from_a_client_reaches_the_relay_logic_not_the_server() -> None:
    async with serve() as server:
        accepted = echo_notices(server)
        async with Connection(server.url, FAST) as client:
            got: list[str] = []
            client.messages.subscribe(got.append)
            client.send("}{ not json")
            await until(lambda: len(got) == 1)
            assert accepted[0].status is S.CONNECTED


async def test_nip11_document_over_http() -> None:
    info = {"name": "test relay", "supported_nips": [1, 11]}
    async with serve(info=info) as server:
        http = server.url.replace("ws://", "http://")
        async with aiohttp.ClientSession() as session:
            async with session.get(http, headers={"Accept": "application/nostr+json"}) as r:
                assert r.status == 200
                assert await r.json(content_type="application/nostr+json") == info
            async with session.get(http) as r:
                assert r.status == 426


async def test_refusing_server_is_a_handshake_failure() -> None:
    async with serve() as server:
        server.refuse(503)
        conn = Connection(server.url, ConnectionConfig(reconnect=ReconnectConfig(enabled=False)))
        with pytest.raises(ConnectionFailed) as info:
            await conn.connect()
        assert info.value.category == "handshake" and info.value.status == 503
        await conn.close()


async def test_stalled_server_is_detected_by_client_health() -> None:
    async with serve() as server:
        echo_notices(server)
        client = Connection(server.url, FAST)
        errors: list[Exception] = []
        client.errors.subscribe(errors.append)
        await client.connect()
        server.stall()
        await until(lambda: client.status is not S.CONNECTED, timeout=2)
        server.stall(False)
        await until(lambda: client.status is S.CONNECTED)
        await client.close()
        assert any("unhealthy" in str(e) for e in errors)
