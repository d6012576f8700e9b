"""Pool close_on_eose completes when the relay still owing its EOSE is removed."""

from __future__ import annotations

import asyncio

import pytest

from rx_honeybee import Pool
from rx_honeybee.testing import FAST, Relay, until
from rx_roots import ConnectionStatus as S

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


async def test_removing_the_relay_that_owed_eose_completes_the_subscription() -> None:
    async with Relay() as quick, Relay() as slow, Pool([quick.url, slow.url], FAST) as pool:
        await until(lambda: all(pool.status(u) is S.CONNECTED for u in pool.relays))
        slow.faults.stall()  # it reads nothing, so it never answers with EOSE
        done = asyncio.Event()
        pool.subscribe("once", [{"kinds": [1]}], close_on_eose=True).subscribe(
            on_completed=done.set
        )
        await asyncio.sleep(0.1)
        assert not done.is_set()  # the quick relay's EOSE came; the slow one still owes it
        await pool.remove_relay(slow.url)
        await asyncio.wait_for(done.wait(), 2)  # before: never
        slow.faults.resume()
