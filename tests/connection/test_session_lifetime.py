"""A session belongs to its connection: made once with fixed settings, freed with it."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest
from aiohttp import web

from rx_honeybee import (
    Connection,
    InvalidState,
    RoleError,
    Session,
    SessionConfig,
    publish,
    request,
    serve,
)
from rx_honeybee.initiator import configure_session, use_auth
from rx_honeybee.testing import Relay
from rx_roots import ConnectionStatus as S
from tests.support import FAST, make_event, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


async def _use(relay: Relay, n: int) -> weakref.ref[Connection]:
    """Open a connection, publish and subscribe on it, close it; keep only a weak reference."""
    conn = Connection(relay.url, FAST)
    await conn.connect()
    done = asyncio.get_running_loop().create_future()
    publish(conn, make_event(n, seed="gc")).subscribe(lambda ok: done.set_result(ok))
    got: list[dict[str, Any]] = []
    request(conn, [{"kinds": [1]}]).subscribe(got.append)
    await done
    await until(lambda: len(got) >= 1)
    await conn.close()
    assert conn.session is not None
    return weakref.ref(conn)


async def test_300_used_and_closed_connections_are_all_collected() -> None:
    async with Relay() as relay:
        refs: list[weakref.ref[Connection]] = []
        for batch in range(10):
            refs += await asyncio.gather(*(_use(relay, batch * 30 + i) for i in range(30)))
        await asyncio.sleep(0)
        gc.collect()
        alive = [r for r in refs if r() is not None]
        assert len(refs) == 300 and alive == []


async def test_a_session_is_made_once_and_its_settings_are_fixed() -> None:
    conn = Connection("ws://127.0.0.1:9", FAST)
    config = SessionConfig(rate_limit_delay=0.5)
    session = Session(conn, config)
    assert conn.session is session and Session.of(conn) is session
    with pytest.raises(InvalidState, match="has a session already"):
        Session(conn)
    configure_session(conn, config)  # the same settings: nothing to ignore
    with pytest.raises(InvalidState):
        configure_session(conn, SessionConfig())
    with pytest.raises(InvalidState):
        use_auth(conn, lambda challenge, url: {})


async def test_request_and_publish_use_the_session_made_before_them() -> None:
    async with Relay() as relay, Connection(relay.url, FAST) as conn:
        hooks: list[str] = []
        session = Session(conn, auth=lambda challenge, url: hooks.append(challenge) or {})
        request(conn, [{"kinds": [1]}], sub_id="mine").subscribe()
        assert conn.session is session and "mine" in session.subscriptions.live


async def test_use_auth_makes_the_session_when_called_first() -> None:
    conn = Connection("ws://127.0.0.1:9", FAST)

    def hook(challenge: str, url: str) -> dict[str, Any]:
        return {}

    use_auth(conn, hook)
    assert conn.session is not None and conn.session.auth is hook
    use_auth(conn, hook)  # the same hook again is fine


async def test_a_responder_has_no_session() -> None:
    async with serve() as server:
        accepted: list[Connection] = []
        server.connections.subscribe(accepted.append)
        async with Connection(server.url, FAST):
            await until(lambda: len(accepted) == 1)
            with pytest.raises(RoleError):
                Session(accepted[0])


async def test_an_accepted_socket_is_upgrading_then_connected() -> None:
    history: list[S] = []

    async def handler(http: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(http)
        conn = Connection.from_socket(ws, FAST)
        conn.state.subscribe(history.append)
        await conn.connect()
        await conn.wait_closed()
        await conn.close()
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with Connection(f"ws://127.0.0.1:{port}/", FAST):
            await until(lambda: S.CONNECTED in history)
        await until(lambda: history[-1] is S.CLOSED)
    finally:
        await runner.cleanup()
    assert history == [S.DISCONNECTED, S.UPGRADING, S.CONNECTED, S.CLOSED]
