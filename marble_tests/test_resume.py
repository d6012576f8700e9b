"""The resume rule of SPEC §4 in virtual time: what a live REQ asks for after a reconnect.

The harness's clock starts at the Unix epoch, so "the local clock at the drop" is the
virtual time of the drop; an overlap of 2 s keeps ``since`` visible (the default is 60 s).
"""

from __future__ import annotations

from typing import Any

import pytest
import ujson
from reactivex.testing import ReactiveTest

from marble_tests.support import AUTHOR, Sink, ev, opened
from rx_honeybee.client.session import Session, SessionConfig
from rx_honeybee.errors import ConnectionClosed
from rx_honeybee.initiator import request
from rx_honeybee.testing import MarbleHarness

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(10)]

on_next, on_error = ReactiveTest.on_next, ReactiveTest.on_error
URL = "ws://relay"
TEN_YEARS_AHEAD = 2_000_000_000


def relay_event(sub: str, n: int, created_at: int) -> str:
    return str(ujson.dumps(["EVENT", sub, ev(n, created_at)]))


def drop(at: float) -> Any:
    return on_error(at, ConnectionClosed(URL, 1006))


async def run(attempts: list[list[Any]], filters: list[dict[str, Any]]) -> tuple[Sink, Any]:
    """Request ``filters`` as ``s`` over sockets scripted by ``attempts``; overlap 2 s."""
    h = MarbleHarness(lambda link: [[opened(link), *steps] for steps in attempts])
    Session(h.conn, SessionConfig(resume_overlap=2))
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(request(h.conn, filters, sub_id="s"))
    await h.run_until(30)
    reqs = [(at, msg[2:]) for at, msg in h.link.timeline() if msg[0] == "REQ"]
    await h.conn.close()
    return sink, reqs


async def test_after_eose_only_what_is_new_from_the_drop_without_limit() -> None:
    sink, reqs = await run(
        [
            [
                on_next(2, relay_event("s", 1, 1000)),
                on_next(3, relay_event("s", 2, TEN_YEARS_AHEAD)),  # cannot poison the resume
                on_next(4, '["EOSE","s"]'),
                drop(9),  # the local clock says 9: resume from 9 - 2
            ],
            [
                on_next(2, relay_event("s", 2, TEN_YEARS_AHEAD)),  # a repeat: dropped by id
                on_next(3, relay_event("s", 3, 8)),  # published during the outage
                on_next(4, '["EOSE","s"]'),
            ],
        ],
        [{"kinds": [1], "limit": 5}, {"authors": [AUTHOR], "since": 8, "limit": 1}],
    )
    assert [e["content"] for _, e in sink.items] == ["note 1", "note 2", "note 3"]
    assert reqs == [
        (1.0, [{"kinds": [1], "limit": 5}, {"authors": [AUTHOR], "since": 8, "limit": 1}]),
        (11.0, [{"kinds": [1], "since": 7}, {"authors": [AUTHOR], "since": 8}]),
    ]


async def test_before_eose_the_original_filters_again() -> None:
    sink, reqs = await run(
        [
            [on_next(2, relay_event("s", 1, 1000)), drop(3)],  # stored replay cut short
            [on_next(2, relay_event("s", 1, 1000)), on_next(3, relay_event("s", 2, 999))],
        ],
        [{"kinds": [1], "limit": 5, "since": 100}],
    )
    assert [e["content"] for _, e in sink.items] == ["note 1", "note 2"]
    assert reqs == [
        (1.0, [{"kinds": [1], "limit": 5, "since": 100}]),
        (5.0, [{"kinds": [1], "limit": 5, "since": 100}]),
    ]


async def test_a_socket_lost_before_its_eose_keeps_the_earlier_resume_point() -> None:
    # EOSE on the first socket, lost at 4; the second socket is lost at 8 before the
    # resumed REQ's EOSE: the third asks from 4 - 2 again, not from 8 - 2 (the replay of
    # what was stored from 2 on had not finished).
    _, reqs = await run(
        [
            [on_next(2, '["EOSE","s"]'), drop(4)],
            [drop(3)],
            [on_next(2, '["EOSE","s"]')],
        ],
        [{"kinds": [1], "limit": 5}],
    )
    assert reqs == [
        (1.0, [{"kinds": [1], "limit": 5}]),
        (6.0, [{"kinds": [1], "since": 2}]),
        (10.0, [{"kinds": [1], "since": 2}]),
    ]


async def test_rate_limited_after_eose_retries_from_the_refusal() -> None:
    _, reqs = await run(
        [[on_next(2, '["EOSE","s"]'), on_next(6, '["CLOSED","s","rate-limited: slow down"]')]],
        [{"kinds": [1], "limit": 5}],
    )
    # refused at 6 (clock 6 - 2 = 4), retried after the first rate-limit delay of 1 s
    assert reqs == [(1.0, [{"kinds": [1], "limit": 5}]), (7.0, [{"kinds": [1], "since": 4}])]
