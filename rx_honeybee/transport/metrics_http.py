"""A tiny HTTP endpoint serving text from a callable: ``GET /metrics`` for a scraper.

Why here: only ``rx_honeybee.transport`` imports aiohttp. The text comes from whoever
renders it (the CLI passes rx_mana's Prometheus exposition through an entry point), so
this module knows nothing about metrics::

    async with MetricsServer(render, port=9464) as server:   # http://127.0.0.1:9464/metrics
        ...
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from aiohttp import web

__all__ = ["MetricsServer"]


class MetricsServer:
    """Serve ``render()`` at ``GET path`` on ``host:port`` (127.0.0.1 by default).

    ``port=0`` picks a free port; :attr:`port` tells which once started.
    """

    def __init__(
        self,
        render: Callable[[], str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/metrics",
        content_type: str = "text/plain; version=0.0.4; charset=utf-8",
    ) -> None:
        self._render = render
        self.host = host
        self.port = port
        self._path = path
        self._content_type = content_type
        self._runner: web.AppRunner | None = None

    async def _handle(self, _: web.Request) -> web.Response:
        response = web.Response(text=self._render())
        response.headers["Content-Type"] = self._content_type
        return response

    async def start(self) -> None:
        """Listen; raises ``OSError`` when the port is taken."""
        app = web.Application()
        app.router.add_get(self._path, self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def close(self) -> None:
        """Stop listening; idempotent."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> MetricsServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
