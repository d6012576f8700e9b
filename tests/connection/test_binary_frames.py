"""Binary frames: decoded as UTF-8 text, or reported and dropped; never typed as str wrongly."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from rx_honeybee import Connection, UnknownEnvelopeType, request
from rx_roots import enclose_eose, enclose_subscription_event
from tests.support import FAST, make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


async def test_binary_frames_are_decoded_or_reported(server: Any, until: Any) -> None:
    event = make_event(1)

    async def binary(ws: web.WebSocketResponse, _: Any) -> None:
        sub_id = (await ws.receive_json())[1]
        await ws.send_bytes(b"\xff\xfe not utf-8")
        await ws.send_bytes(enclose_subscription_event(sub_id, event).encode())
        await ws.send_bytes(enclose_eose(sub_id).encode())
        async for _ in ws:  # stay open until the client leaves
            pass

    server.handler = binary
    async with Connection(server.url, FAST) as conn:
        messages: list[Any] = []
        errors: list[Exception] = []
        conn.messages.subscribe(messages.append)
        conn.errors.subscribe(errors.append)
        got: list[dict[str, Any]] = []
        done: list[bool] = []
        request(conn, [{}], close_on_eose=True).subscribe(
            got.append, on_completed=lambda: done.append(True)
        )
        await until(lambda: done == [True])
        assert got == [event]
        assert all(type(m) is str for m in messages) and len(messages) == 2
        assert [type(e) for e in errors] == [UnknownEnvelopeType]
        assert "not UTF-8" in str(errors[0])
        assert conn.metrics.messages_received == 3  # the dropped frame was read and counted
