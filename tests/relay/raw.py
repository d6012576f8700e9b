"""A raw websocket client for relay tests: send exact text, read every frame as JSON."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import ujson

from rx_honeybee.testing import until

__all__ = ["Raw", "raw_client"]


class Raw:
    """One client socket; ``frames`` holds what the relay sent, decoded, in order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frames: list[list[Any]] = []
        self.closed_code: int | None = None

    async def send(self, text: str) -> None:
        await self.ws.send_str(text)

    async def wait_for(self, label: str, key: object = None, timeout: float = 5.0) -> list[Any]:
        """The first frame with ``label`` (and second element ``key`` when given)."""

        def found() -> list[Any] | None:
            for frame in self.frames:
                if frame[0] == label and (key is None or frame[1] == key):
                    return frame
            return None

        await until(lambda: found() is not None, timeout)
        frame = found()
        assert frame is not None
        return frame

    def of(self, label: str, key: object = None) -> list[list[Any]]:
        return [f for f in self.frames if f[0] == label and (key is None or f[1] == key)]

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                self.frames.append(ujson.loads(msg.data))
        self.closed_code = self.ws.close_code


@asynccontextmanager
async def raw_client(url: str) -> AsyncIterator[Raw]:
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        raw = Raw(ws)
        reader = asyncio.get_running_loop().create_task(raw._read())
        try:
            yield raw
        finally:
            reader.cancel()
