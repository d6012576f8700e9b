"""close() racing the peer: it never raises, and it always ends CLOSED with nothing left."""

from __future__ import annotations

import asyncio

import pytest
from reactivex.testing import ReactiveTest

from rx_honeybee.socket import Opened
from rx_honeybee.testing import MarbleHarness
from rx_roots import ConnectionStatus as S

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(10)]

on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed


async def test_the_peer_closing_4000_during_the_flush_leaves_close_quiet() -> None:
    # the socket ends for good at 5 (close code 4000) while close() waits for a write
    h = MarbleHarness(lambda link: [[on_next(1, Opened(link)), on_completed(5)]])
    h.link.gate = asyncio.Event()  # writes hang: close() has something to flush
    await h.start()
    h.conn.send('["CLOSE","s"]')
    closing = asyncio.ensure_future(h.conn.close(flush_timeout=5.0))
    await asyncio.sleep(0)
    await h.run_until(6)  # the peer's 4000 arrives during the flush
    await asyncio.wait_for(closing, 5.0)  # no InvalidState: CLOSED -> CLOSED
    assert h.conn.status is S.CLOSED
    await h.conn.close()  # and again: idempotent


async def test_close_while_backing_off_ends_closed() -> None:
    h = MarbleHarness(
        lambda link: [[on_next(1, Opened(link)), ReactiveTest.on_error(3, OSError())]]
    )
    await h.start()
    await h.run_until(4)
    assert h.conn.status is S.BACKOFF
    await h.conn.close()
    assert h.conn.status is S.CLOSED
