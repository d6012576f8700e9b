"""MetricsServer: GET /metrics serves whatever the renderer returns, fresh on each request."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from rx_honeybee.transport.metrics_http import MetricsServer

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(10)]


async def test_serves_fresh_text_on_a_free_port_and_404_elsewhere() -> None:
    calls: list[int] = []

    def render() -> str:
        calls.append(1)
        return f"# TYPE hits gauge\nhits {len(calls)}\n"

    async with MetricsServer(render) as server, aiohttp.ClientSession() as http:
        assert server.port > 0 and server.host == "127.0.0.1"
        url = f"http://127.0.0.1:{server.port}"
        for n in (1, 2):
            async with http.get(f"{url}/metrics") as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                assert await response.text() == f"# TYPE hits gauge\nhits {n}\n"
        async with http.get(f"{url}/other") as response:
            assert response.status == 404
    with pytest.raises(OSError):  # closed: nothing listens any more
        socket.create_connection(("127.0.0.1", server.port), timeout=0.5).close()
    await server.close()  # idempotent


async def test_a_taken_port_raises_and_leaves_nothing_running() -> None:
    async with MetricsServer(str) as first:
        second = MetricsServer(str, port=first.port)
        with pytest.raises(OSError):
            await second.start()
        await second.close()
