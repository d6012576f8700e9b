"""A scriptable aiohttp websocket server on 127.0.0.1 for Connection tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from aiohttp import WSMsgType, web

from rx_honeybee.testing import until as kit_until

Handler = Callable[[web.WebSocketResponse, "PeerServer"], Awaitable[None]]


async def echo(ws: web.WebSocketResponse, server: PeerServer) -> None:
    """Echo every text frame back, recording it."""
    async for msg in ws:
        if msg.type is WSMsgType.TEXT:
            server.received.append(msg.data)
            await ws.send_str(msg.data)


@dataclass
class PeerServer:
    """The server side: ``handler`` runs per accepted socket; swap it between connections."""

    handler: Handler = echo
    received: list[str] = field(default_factory=list)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    accepted: int = 0
    compress: bool = True
    autoping: bool = True
    port: int = 0
    refuse_status: int | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.refuse_status is not None:
            return web.Response(status=self.refuse_status, text="refused")
        ws = web.WebSocketResponse(compress=self.compress, autoping=self.autoping)
        await ws.prepare(request)
        self.accepted += 1
        self.sockets.append(ws)
        try:
            await self.handler(ws, self)
        finally:
            self.sockets.remove(ws)
        return ws


@pytest_asyncio.fixture
async def server() -> AsyncIterator[PeerServer]:
    peer = PeerServer()
    app = web.Application()
    app.router.add_get("/", peer._handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    assert site._server is not None
    peer.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield peer
    finally:
        for ws in list(peer.sockets):
            await ws.close()
        await runner.cleanup()


Until = Callable[..., Awaitable[None]]


@pytest.fixture
def until() -> Until:
    """``await until(predicate, timeout=5.0)``: the kit's bounded wait, as a fixture."""
    return kit_until
