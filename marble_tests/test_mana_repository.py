"""SubscriptionRepository on a Session in virtual time: the paced, ordered restore and the
slot limit (SPEC §5 item 3)."""

from __future__ import annotations

from typing import Any

import pytest
from reactivex.testing import ReactiveTest

from marble_tests.support import opened
from rx_honeybee.client.session import Session
from rx_honeybee.errors import ConnectionClosed
from rx_honeybee.initiator import request
from rx_honeybee.testing import MarbleHarness
from rx_mana.repository import SubscriptionRepository

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]

on_next, on_error = ReactiveTest.on_next, ReactiveTest.on_error


def drop(at: float) -> Any:
    return on_error(at, ConnectionClosed("ws://relay", 1006))


def reqs(h: MarbleHarness, since: float = 0) -> list[tuple[float, str]]:
    return [
        (round(at, 2), msg[1]) for at, msg in h.link.timeline() if msg[0] == "REQ" and at >= since
    ]


async def test_thirty_subscriptions_restore_ten_at_once_then_ten_per_second() -> None:
    # socket 1 opens at 1 and is lost at 3; socket 2 is dialled at 4 and opens at 5
    h = MarbleHarness(lambda link: [[opened(link), drop(3)], [opened(link)]])
    repo = SubscriptionRepository(restore_rate=10, scheduler=h.scheduler)
    Session(h.conn, registry=repo)
    await h.start()
    ids = [f"s{n}" for n in range(30)]
    repo.set_priority("s29", 2)
    repo.set_priority("s28", 1)
    for sub_id in ids:
        request(h.conn, [{"kinds": [1]}], sub_id=sub_id).subscribe()
    await h.run_until(2)
    assert reqs(h) == [(1.0, sub_id) for sub_id in ids]  # first sends are not paced
    await h.run_until(8, step=0.05)
    restored = reqs(h, since=4)
    order = ["s29", "s28", *ids[:28]]  # priority, then oldest first
    assert [sub_id for _, sub_id in restored] == order
    times = [at for at, _ in restored]
    assert times[:10] == [5.0] * 10  # the burst
    assert times[10:] == [round(5.0 + 0.1 * n, 2) for n in range(1, 21)]  # then 10 per second
    assert repo.stats().restored == 30
    await h.conn.close()


async def test_with_a_limit_the_rest_go_out_in_priority_order_as_others_close() -> None:
    eose = {f"e{n}": f'["EOSE","s{n}"]' for n in range(4)}
    h = MarbleHarness(
        lambda link: [[opened(link), on_next(3, eose["e0"]), on_next(5, eose["e1"])]],
        lookup=eose,
    )
    repo = SubscriptionRepository(max_subscriptions=2, scheduler=h.scheduler)
    Session(h.conn, registry=repo)
    await h.start()
    repo.set_priority("s3", 1)
    for n in range(4):
        request(h.conn, [{"kinds": [n]}], sub_id=f"s{n}", close_on_eose=True).subscribe()
    await h.run_until(6)
    labels = [(round(at, 2), msg[:2]) for at, msg in h.link.timeline()]
    assert labels == [
        (1.0, ["REQ", "s0"]),
        (1.0, ["REQ", "s1"]),
        (3.0, ["CLOSE", "s0"]),
        (3.0, ["REQ", "s3"]),  # the higher priority waiting one first
        (5.0, ["CLOSE", "s1"]),
        (5.0, ["REQ", "s2"]),
    ]
    await h.conn.close()
