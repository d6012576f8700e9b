"""A relay that accepts and drops at once: the attempts run out, no reconnect storm."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from rx_honeybee import (
    Connection,
    ConnectionConfig,
    HealthConfig,
    MaxReconnectAttemptsExceeded,
    ReconnectConfig,
)
from rx_roots import ConnectionStatus as S

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


@pytest.mark.parametrize("code", [1011, 1008])
async def test_a_flapping_relay_is_given_up_after_max_attempts(server: Any, code: int) -> None:
    async def flap(ws: web.WebSocketResponse, _: Any) -> None:
        await ws.close(code=code, message=b"go away")

    server.handler = flap
    config = ConnectionConfig(
        reconnect=ReconnectConfig(initial_delay=0.01, max_delay=0.02, jitter=0, max_attempts=3),
        health=HealthConfig(enabled=False),
    )
    conn = Connection(server.url, config)
    await conn.connect()  # the handshake succeeds: connect() returns
    await conn.wait_closed()
    assert conn.status is S.ERROR
    assert server.accepted == 4  # the first socket and 3 retries (before: dialled for ever)
    await conn.close()


async def test_the_error_says_the_attempts_ran_out(server: Any) -> None:
    async def flap(ws: web.WebSocketResponse, _: Any) -> None:
        await ws.close(code=1011)

    server.handler = flap
    config = ConnectionConfig(
        reconnect=ReconnectConfig(initial_delay=0.01, max_delay=0.02, jitter=0, max_attempts=2),
        health=HealthConfig(enabled=False),
    )
    errors: list[Exception] = []
    conn = Connection(server.url, config)
    conn.errors.subscribe(errors.append)
    await conn.connect()
    await conn.wait_closed()
    assert isinstance(errors[-1], MaxReconnectAttemptsExceeded)
    await conn.close()
