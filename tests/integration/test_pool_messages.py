"""Pool.messages is wired on first use, to the relays there and to those added later."""

from __future__ import annotations

import pytest

from rx_honeybee import Pool
from rx_honeybee.testing import FAST, Relay, until
from rx_roots import ConnectionStatus as S

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


async def test_messages_reach_a_late_subscriber_from_old_and_new_relays() -> None:
    async with Relay() as one, Relay() as two, Pool([one.url], FAST) as pool:
        await until(lambda: pool.status(one.url) is S.CONNECTED)
        seen: list[tuple[str, str]] = []
        pool.messages.subscribe(seen.append)  # after the first relay was added
        await pool.add_relay(two.url)  # and a relay added after the subscription
        await until(lambda: pool.status(two.url) is S.CONNECTED)
        assert one.faults.notice("one") == 1 and two.faults.notice("two") == 1
        await until(lambda: len(seen) == 2)
        assert sorted(seen) == sorted(
            [(one.url, '["NOTICE","one"]'), (two.url, '["NOTICE","two"]')]
        )


async def test_messages_of_a_closed_pool_complete_at_once() -> None:
    pool = Pool([], FAST)
    async with pool:
        pass
    done: list[str] = []
    pool.messages.subscribe(on_completed=lambda: done.append("completed"))
    assert done == ["completed"]
