"""publish() and request() in virtual time: timeouts, EOSE, retries, resume after reconnect."""

from __future__ import annotations

from typing import Any

import pytest
import ujson
from reactivex.testing import ReactiveTest

from marble_tests.support import Sink, ev, opened
from rx_honeybee.errors import (
    ConnectionClosed,
    HoneybeeError,
    PublishTimeout,
    SubscriptionClosed,
)
from rx_honeybee.initiator import OkResult, publish, request, use_auth
from rx_honeybee.testing import MarbleHarness

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(10)]

on_next, on_error = ReactiveTest.on_next, ReactiveTest.on_error
URL = "ws://relay"


def relay_event(sub: str, n: int, created_at: int) -> str:
    return ujson.dumps(["EVENT", sub, ev(n, created_at)])


EID = ev(1, 100)["id"]


async def test_publish_times_out_without_ok() -> None:
    h = MarbleHarness(lambda link: [[opened(link)]])
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(publish(h.conn, ev(1, 100), timeout=5))
    await h.run_until(20)
    assert sink.items == [] and sink.completed is None
    assert sink.error is not None
    assert sink.error[0] == 6.0 and isinstance(sink.error[1], PublishTimeout)
    assert h.link.labels() == [(1.0, "EVENT")]
    await h.conn.close()


async def test_publish_emits_the_ok_then_completes_and_cancels_its_timer() -> None:
    h = MarbleHarness(
        lambda link: [[opened(link), on_next(4, f'["OK","{EID}",false,"pow: 28 bits"]')]]
    )
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(publish(h.conn, ev(1, 100), timeout=5))
    await h.run_until(20)
    assert sink.items == [(4.0, OkResult(EID, False, "pow: 28 bits", "pow"))]
    assert sink.completed == 4.0 and sink.error is None


async def test_request_completes_at_eose_when_asked_and_sends_close() -> None:
    h = MarbleHarness(
        lambda link: [
            [
                opened(link),
                on_next(2, relay_event("rx1", 1, 100)),
                on_next(3, relay_event("rx1", 2, 90)),
                on_next(4, '["EOSE","rx1"]'),
                on_next(5, relay_event("rx1", 3, 110)),
            ]
        ]
    )
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(request(h.conn, [{"kinds": [1]}], close_on_eose=True))
    await h.run_until(10)
    ids = [(t, e["id"]) for t, e in sink.items]
    assert ids == [(2.0, ev(1, 100)["id"]), (3.0, ev(2, 90)["id"])]
    assert sink.completed == 4.0
    assert h.link.timeline() == [(1.0, ["REQ", "rx1", {"kinds": [1]}]), (4.0, ["CLOSE", "rx1"])]


async def test_rate_limited_closed_retries_later_and_slows_down() -> None:
    h = MarbleHarness(
        lambda link: [
            [
                opened(link),
                on_next(2, '["CLOSED","s","rate-limited: slow down"]'),
                on_next(4, '["CLOSED","s","rate-limited: slow down"]'),
                on_next(7, '["EOSE","s"]'),
                on_next(8, '["CLOSED","s","rate-limited: again"]'),
            ]
        ]
    )
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(request(h.conn, [{"kinds": [1]}], sub_id="s"))
    await h.run_until(20)
    # retried 1 s after the first refusal, 2 s after the second; EOSE resets the pace
    assert h.link.labels() == [(1.0, "REQ"), (3.0, "REQ"), (6.0, "REQ"), (9.0, "REQ")]
    assert sink.error is None


async def test_rate_limited_gives_up_after_max_retries() -> None:
    refusals = [on_next(t, '["CLOSED","s","rate-limited: no"]') for t in (2, 4, 8, 14)]
    h = MarbleHarness(lambda link: [[opened(link), *refusals]])
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(request(h.conn, [{}], sub_id="s"))
    await h.run_until(30)
    assert [t for t, label in h.link.labels()] == [1.0, 3.0, 6.0, 12.0]
    assert sink.error is not None
    error = sink.error[1]
    assert sink.error[0] == 14.0 and isinstance(error, SubscriptionClosed)
    assert error.prefix == "rate-limited" and error.reason == "rate-limited: no"


async def test_rate_limited_ok_is_retried_later() -> None:
    h = MarbleHarness(
        lambda link: [
            [
                opened(link),
                on_next(2, f'["OK","{EID}",false,"rate-limited: slow"]'),
                on_next(5, f'["OK","{EID}",true,""]'),
            ]
        ]
    )
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(publish(h.conn, ev(1, 100), timeout=10))
    await h.run_until(20)
    assert h.link.labels() == [(1.0, "EVENT"), (3.0, "EVENT")]
    assert sink.items == [(5.0, OkResult(EID, True, "", ""))]


async def test_auth_required_runs_the_hook_and_retries_once() -> None:
    h = MarbleHarness(
        lambda link: [
            [
                opened(link),
                on_next(1.5, '["AUTH","chal"]'),
                on_next(2, '["CLOSED","s","auth-required: log in"]'),
                on_next(3, '["CLOSED","s","auth-required: still no"]'),
            ]
        ]
    )
    calls: list[tuple[str, str]] = []

    def hook(challenge: str, url: str) -> dict[str, Any]:
        calls.append((challenge, url))
        return {"id": "f" * 64, "kind": 22242, "tags": [["challenge", challenge]]}

    use_auth(h.conn, hook)
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(request(h.conn, [{}], sub_id="s"))
    await h.run_until(10)
    assert calls == [("chal", URL)]
    assert h.link.labels() == [(1.0, "REQ"), (2.0, "AUTH"), (2.0, "REQ")]
    assert sink.error is not None and isinstance(sink.error[1], SubscriptionClosed)
    assert sink.error[1].prefix == "auth-required"


async def test_pending_publish_is_resent_after_reconnect() -> None:
    h = MarbleHarness(
        lambda link: [
            [opened(link), on_error(3, ConnectionClosed(URL, 1006))],
            [opened(link), on_next(2, f'["OK","{EID}",true,""]')],
        ]
    )
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(publish(h.conn, ev(1, 100), timeout=30))
    await h.run_until(20)
    assert h.link.labels() == [(1.0, "EVENT"), (5.0, "EVENT")]
    assert sink.items == [(6.0, OkResult(EID, True, "", ""))]
    await h.conn.close()


async def test_an_ok_for_no_pending_event_is_reported_not_swallowed() -> None:
    # nostr-relay 1.14 answers refusals with an empty event id: no publish can match it
    h = MarbleHarness(
        lambda link: [[opened(link), on_next(2, '["OK","",false,"invalid: bad sig"]')]]
    )
    errors: list[Exception] = []
    h.conn.errors.subscribe(errors.append)
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(publish(h.conn, ev(1, 100), timeout=5))
    await h.run_until(10)
    assert isinstance(sink.error and sink.error[1], PublishTimeout)
    unmatched = [e for e in errors if "invalid: bad sig" in str(e)]
    assert len(unmatched) == 1 and isinstance(unmatched[0], HoneybeeError)
