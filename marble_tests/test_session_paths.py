"""A session's less travelled paths in virtual time: failing AUTH hooks, retries that meet
a closing connection, malformed answers, refusals by a full write queue."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any, cast

import pytest
import ujson
from reactivex import abc
from reactivex.testing import ReactiveTest
from reactivex.testing.recorded import Recorded

from marble_tests.support import Sink, ev, opened
from rx_honeybee.client.session import Session, SessionConfig
from rx_honeybee.errors import (
    ConnectionClosed,
    InvalidState,
    SubscriptionClosed,
)
from rx_honeybee.initiator import OkResult, publish, request, use_auth
from rx_honeybee.testing import MarbleHarness
from rx_roots import InvalidEvent, RootsError, WrongFieldType

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(10)]

# the records take virtual times in half units too (1.5): typed as floats here
on_next = cast("Callable[[float, Any], Recorded[Any]]", ReactiveTest.on_next)
on_error = cast("Callable[[float, Exception], Recorded[Any]]", ReactiveTest.on_error)
URL = "ws://relay"
EID = ev(1, 100)["id"]
AUTH_EVENT = {"id": "f" * 64, "kind": 22242, "tags": [["challenge", "chal"]]}


def relay_event(sub: str, event: dict[str, Any]) -> str:
    return str(ujson.dumps(["EVENT", sub, event]))


def auth_required(sub: str = "s", at: float = 2) -> list[Any]:
    """The relay's challenge at 1.5, then its refusal of ``sub`` at ``at``."""
    return [on_next(1.5, '["AUTH","chal"]'), on_next(at, f'["CLOSED","{sub}","auth-required: in"]')]


# -- the AUTH hook -------------------------------------------------------------------------


async def test_an_auth_hook_that_raises_fails_the_subscription_with_its_error() -> None:
    h = MarbleHarness(lambda link: [[opened(link), *auth_required()]])
    boom = RuntimeError("no signer")

    def hook(challenge: str, url: str) -> dict[str, Any]:
        raise boom

    use_auth(h.conn, hook)
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(request(h.conn, [{}], sub_id="s"))
    await h.run_until(6)
    assert sink.error == (2.0, boom)
    assert h.link.labels() == [(1.0, "REQ")]  # no AUTH, no retry
    assert h.conn.session is not None and h.conn.session.subscriptions.live == {}
    await h.conn.close()


async def test_an_awaitable_auth_hook_that_fails_fails_the_publish() -> None:
    refused = f'["OK","{EID}",false,"auth-required: sign in"]'
    h = MarbleHarness(
        lambda link: [[opened(link), on_next(1.5, '["AUTH","chal"]'), on_next(2, refused)]]
    )
    boom = PermissionError("the user declined")

    async def hook(challenge: str, url: str) -> dict[str, Any]:
        await asyncio.sleep(0)
        raise boom

    use_auth(h.conn, hook)
    await h.start()
    first, second = Sink(h.scheduler), Sink(h.scheduler)
    first.observe(publish(h.conn, ev(1, 100), timeout=30))
    second.observe(publish(h.conn, ev(1, 100), timeout=30))  # the same event: one EVENT
    await h.run_until(6)
    assert first.error == (2.0, boom) and second.error == (2.0, boom)
    assert h.link.labels() == [(1.0, "EVENT")]
    assert h.conn.session is not None and h.conn.session.publishes.pending == {}
    await h.conn.close()


async def test_an_awaitable_auth_hook_signs_then_the_request_is_sent_again() -> None:
    h = MarbleHarness(
        lambda link: [[opened(link), *auth_required(), on_next(3, relay_event("s", ev(1, 100)))]]
    )
    calls: list[tuple[str, str]] = []

    async def hook(challenge: str, url: str) -> dict[str, Any]:
        calls.append((challenge, url))
        await asyncio.sleep(0)
        return AUTH_EVENT

    use_auth(h.conn, hook)
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(request(h.conn, [{}], sub_id="s"))
    await h.run_until(6)
    assert calls == [("chal", URL)]
    assert h.link.labels() == [(1.0, "REQ"), (2.0, "AUTH"), (2.0, "REQ")]
    assert [t for t, _ in sink.items] == [3.0] and sink.error is None
    await h.conn.close()


async def test_an_auth_hook_returning_no_event_fails_with_wrong_field_type() -> None:
    h = MarbleHarness(lambda link: [[opened(link), *auth_required()]])
    Session(h.conn, auth=lambda challenge, url: None)  # type: ignore[arg-type,return-value]
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(request(h.conn, [{}], sub_id="s"))
    await h.run_until(6)
    assert sink.error is not None and isinstance(sink.error[1], WrongFieldType)
    assert h.link.labels() == [(1.0, "REQ")]
    await h.conn.close()


async def test_an_auth_envelope_carrying_an_event_is_no_challenge() -> None:
    # ["AUTH", {...}] is what a client sends; from a relay it leaves nothing to answer
    h = MarbleHarness(
        lambda link: [
            [
                opened(link),
                on_next(1.5, '["AUTH",{"kind":22242}]'),
                on_next(2, '["CLOSED","s","auth-required: in"]'),
            ]
        ]
    )
    calls: list[str] = []

    def hook(challenge: str, url: str) -> dict[str, Any]:
        calls.append(challenge)
        return AUTH_EVENT

    use_auth(h.conn, hook)
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(request(h.conn, [{}], sub_id="s"))
    await h.run_until(6)
    assert calls == [] and h.conn.session is not None and h.conn.session.challenge is None
    assert sink.error is not None and isinstance(sink.error[1], SubscriptionClosed)
    assert sink.error[1].prefix == "auth-required"


async def test_closing_while_the_auth_hook_runs_cancels_it_and_completes() -> None:
    h = MarbleHarness(lambda link: [[opened(link), *auth_required()]])
    cancelled: list[bool] = []

    async def hook(challenge: str, url: str) -> dict[str, Any]:
        try:
            await asyncio.get_running_loop().create_future()  # a signer that never answers
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    use_auth(h.conn, hook)
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(request(h.conn, [{}], sub_id="s"))
    await h.run_until(4)
    await h.conn.close()
    for _ in range(3):
        await asyncio.sleep(0)
    assert cancelled == [True]
    assert sink.completed is not None and sink.error is None
    assert h.link.labels() == [(1.0, "REQ")]


async def test_a_subscription_disposed_while_the_auth_hook_runs_is_not_sent_again() -> None:
    # Regression: the REQ was sent again after the hook answered, though the subscription
    # was CLOSEd meanwhile: the relay kept a subscription no one would ever close.
    h = MarbleHarness(lambda link: [[opened(link), *auth_required()]])
    signer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def hook(challenge: str, url: str) -> dict[str, Any]:
        return await signer  # the user is still deciding

    use_auth(h.conn, hook)
    await h.start()
    sink = Sink(h.scheduler)
    subscription = sink.observe(request(h.conn, [{}], sub_id="s"))
    await h.run_until(3)
    subscription.dispose()
    signer.set_result(AUTH_EVENT)
    await h.run_until(5)
    assert h.link.labels() == [(1.0, "REQ"), (3.0, "CLOSE"), (3.0, "AUTH")]
    assert sink.error is None and sink.completed is None
    await h.conn.close()


# -- rate-limited retries ------------------------------------------------------------------


async def test_a_rate_limited_retry_fails_when_the_connection_is_closing_meanwhile() -> None:
    h = MarbleHarness(
        lambda link: [[opened(link), on_next(2, '["CLOSED","s","rate-limited: wait"]')]]
    )
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(request(h.conn, [{}], sub_id="s"))
    await h.run_until(2)  # refused at 2: the retry is due at 3
    gate = h.link.gate = asyncio.Event()  # a slow socket: close() has something to flush
    h.conn.send('["NOTICE","one"]')
    h.conn.send('["NOTICE","two"]')
    await h.run_until(2.5)
    closing = asyncio.ensure_future(h.conn.close(flush_timeout=5))
    await h.run_until(4)
    assert sink.error is not None and sink.error[0] == 3.0
    assert isinstance(sink.error[1], InvalidState)
    gate.set()
    await closing
    assert [label for _, label in h.link.labels()] == ["REQ", "NOTICE", "NOTICE"]


async def test_a_retry_made_obsolete_by_a_later_answer_is_not_sent() -> None:
    h = MarbleHarness(
        lambda link: [
            [
                opened(link),
                on_next(1.5, '["AUTH","chal"]'),
                on_next(2, '["CLOSED","s","rate-limited: wait"]'),  # retry due at 3
                on_next(2.5, '["CLOSED","s","auth-required: in"]'),  # AUTH and REQ at 2.5
            ]
        ]
    )
    use_auth(h.conn, lambda challenge, url: AUTH_EVENT)
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(request(h.conn, [{}], sub_id="s"))
    await h.run_until(8)
    assert h.link.labels() == [(1.0, "REQ"), (2.5, "AUTH"), (2.5, "REQ")]
    assert sink.error is None
    await h.conn.close()


async def test_disposing_during_the_rate_limited_wait_cancels_the_retry() -> None:
    h = MarbleHarness(
        lambda link: [[opened(link), on_next(2, '["CLOSED","s","rate-limited: wait"]')]]
    )
    await h.start()
    sink = Sink(h.scheduler)
    subscription = sink.observe(request(h.conn, [{}], sub_id="s"))
    await h.run_until(2.5)
    subscription.dispose()
    await h.run_until(8)
    assert h.link.labels() == [(1.0, "REQ"), (2.5, "CLOSE")]
    await h.conn.close()


# -- malformed answers and edge cases of delivery ------------------------------------------


async def test_malformed_answers_are_reported_and_skipped() -> None:
    h = MarbleHarness(
        lambda link: [
            [
                opened(link),
                on_next(2, '["EVENT","s"]'),  # no event
                on_next(2, '["OK",5,true,""]'),  # the id is no string
                on_next(2, '["EOSE"]'),
                on_next(2, '["CLOSED","other","error: unknown subscription"]'),
                on_next(3, relay_event("s", {"kind": 1, "content": "no id, no time"})),
                on_next(3, relay_event("s", {"kind": 1, "content": "no id, no time"})),
                on_next(4, '["EOSE","s"]'),
            ]
        ]
    )
    errors: list[Exception] = []
    h.conn.errors.subscribe(errors.append)
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(request(h.conn, [{}], sub_id="s", close_on_eose=True))
    await h.run_until(6)
    assert len(errors) == 5 and all(isinstance(e, RootsError) for e in errors)
    # events that are no NIP-01 events are never delivered (before: twice, without an id)
    assert [type(e) for e in errors[3:]] == [InvalidEvent, InvalidEvent]
    assert all(e.url == "ws://relay" and "missing field" in str(e) for e in errors[3:])
    assert h.conn.metrics.events_rejected == 2
    assert sink.items == [] and sink.completed == 4.0
    await h.conn.close()


async def test_a_small_seen_cap_forgets_the_oldest_ids_first() -> None:
    inside = [ev(n, 1000) for n in (1, 2, 3)]
    h = MarbleHarness(
        lambda link: [
            [
                opened(link),
                *[on_next(2, relay_event("s", e)) for e in inside],
                on_next(3, relay_event("s", inside[0])),  # forgotten: delivered again
                on_next(3, relay_event("s", inside[2])),  # remembered: dropped
                on_next(4, relay_event("s", ev(4, 2000))),  # remembered: 1 and 4
                on_next(5, relay_event("s", inside[1])),  # forgotten: delivered again
            ]
        ]
    )
    Session(h.conn, SessionConfig(seen_cap=2))
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(request(h.conn, [{}], sub_id="s"))
    await h.run_until(6)
    assert [(t, e["content"]) for t, e in sink.items] == [
        (2.0, "note 1"),
        (2.0, "note 2"),
        (2.0, "note 3"),
        (3.0, "note 1"),
        (4.0, "note 4"),
        (5.0, "note 2"),
    ]
    await h.conn.close()


async def test_a_subscriber_that_raises_is_reported_and_the_reader_goes_on() -> None:
    h = MarbleHarness(
        lambda link: [
            [
                opened(link),
                on_next(2, '["CLOSED","a","error: shutting down"]'),
                on_next(3, '["EOSE","b"]'),
            ]
        ]
    )
    errors: list[Exception] = []
    h.conn.errors.subscribe(errors.append)
    await h.start()
    faults = [ValueError("in on_error"), ValueError("in on_completed")]

    def raise_(error: Exception) -> None:
        raise error

    request(h.conn, [{}], sub_id="a").subscribe(on_error=lambda e: raise_(faults[0]))
    request(h.conn, [{}], sub_id="b", close_on_eose=True).subscribe(
        on_completed=lambda: raise_(faults[1])
    )
    await h.run_until(5)
    assert errors == faults
    assert h.link.labels() == [(1.0, "REQ"), (1.0, "REQ"), (3.0, "CLOSE")]
    await h.conn.close()


async def test_a_subscription_disposed_at_close_by_another_gets_nothing_more() -> None:
    # a user ties two subscriptions together: when one ends, the other is disposed.
    # Regression: the disposed one was still completed after its disposal.
    h = MarbleHarness(lambda link: [[opened(link)]])
    await h.start()
    later: list[abc.DisposableBase] = []
    first = Sink(h.scheduler)

    def completed() -> None:
        first._completed()
        later[0].dispose()

    request(h.conn, [{"kinds": [1]}], sub_id="a").subscribe(on_completed=completed)
    second = Sink(h.scheduler)
    later.append(second.observe(request(h.conn, [{"kinds": [2]}], sub_id="b")))
    await h.run_until(2)
    await h.conn.close()  # "a" completes first and disposes "b": the socket is gone
    assert first.completed is not None and second.completed is None
    assert h.link.labels() == [(1.0, "REQ"), (1.0, "REQ")]  # no CLOSE was queued
    assert h.conn.session is not None and h.conn.session.subscriptions.live == {}


async def test_a_close_that_does_not_fit_the_write_queue_waits_for_room() -> None:
    config = dataclasses.replace(MarbleHarness.CONFIG, write_queue_size=1)
    h = MarbleHarness(lambda link: [[opened(link)]], config)
    errors: list[Exception] = []
    h.conn.errors.subscribe(errors.append)
    await h.start()
    subscription = request(h.conn, [{}], sub_id="s").subscribe()
    await h.run_until(2)
    gate = h.link.gate = asyncio.Event()
    h.conn.send('["NOTICE","held"]')  # the one envelope the queue holds, until written
    await h.run_until(2.5)
    subscription.dispose()  # the CLOSE does not fit: it waits (before: reported, lost)
    assert errors == []
    gate.set()
    await h.run_until(4)
    assert [label for _, label in h.link.labels()] == ["REQ", "NOTICE", "CLOSE"]
    await h.conn.close()


async def test_what_does_not_fit_the_write_queue_after_a_reconnect_waits_for_room() -> None:
    config = dataclasses.replace(MarbleHarness.CONFIG, write_queue_size=1)
    h = MarbleHarness(
        lambda link: [[opened(link), on_error(3, ConnectionClosed(URL, 1006))], [opened(link)]],
        config,
    )
    await h.start()
    subs = [Sink(h.scheduler) for _ in range(2)]
    pubs = [Sink(h.scheduler) for _ in range(2)]
    for n, sink in enumerate(subs):  # one at a time: each is written before the next
        sink.observe(request(h.conn, [{}], sub_id=f"s{n}"))
        await h.run_until(1.5 + n * 0.5)
    for n, sink in enumerate(pubs):
        sink.observe(publish(h.conn, ev(n, 100), timeout=30))
        await h.run_until(2.5 + n * 0.5)
    # dropped at 3, redialled at 4, open at 5: all four are sent again, in order, each as a
    # slot comes free (before: one fitted, three failed with QueueFull for good)
    await h.run_until(8)
    assert all(sink.error is None for sink in (*subs, *pubs))
    labels = h.link.labels()
    assert labels[:4] == [(1.0, "REQ"), (1.5, "REQ"), (2.0, "EVENT"), (2.5, "EVENT")]
    assert [label for _, label in labels[4:]] == ["REQ", "REQ", "EVENT", "EVENT"]
    assert all(t >= 5.0 for t, _ in labels[4:])
    await h.conn.close()


# -- publishes -----------------------------------------------------------------------------


async def test_a_publish_disposed_before_its_ok_leaves_the_others_waiting() -> None:
    h = MarbleHarness(lambda link: [[opened(link), on_next(3, f'["OK","{EID}",true,""]')]])
    errors: list[Exception] = []
    h.conn.errors.subscribe(errors.append)
    await h.start()
    sinks = [Sink(h.scheduler) for _ in range(3)]
    disposables = [sink.observe(publish(h.conn, ev(1, 100), timeout=30)) for sink in sinks]
    disposables[1].dispose()
    disposables[1].dispose()  # twice is harmless
    await h.run_until(5)
    assert h.link.labels() == [(1.0, "EVENT")]  # three publishes, one EVENT
    ok = OkResult(EID, True, "", "")
    assert [s.items for s in sinks] == [[(3.0, ok)], [], [(3.0, ok)]]
    assert errors == []
    await h.conn.close()


async def test_a_publisher_disposed_by_another_in_its_callback_gets_no_ok() -> None:
    h = MarbleHarness(lambda link: [[opened(link), on_next(3, f'["OK","{EID}",true,""]')]])
    await h.start()
    first, second = Sink(h.scheduler), Sink(h.scheduler)
    later: list[abc.DisposableBase] = []

    def answered(ok: OkResult) -> None:
        first._next(ok)
        later[0].dispose()

    publish(h.conn, ev(1, 100), timeout=30).subscribe(answered)
    later.append(second.observe(publish(h.conn, ev(1, 100), timeout=30)))
    await h.run_until(5)
    assert [t for t, _ in first.items] == [3.0]
    assert second.items == [] and second.completed is None and second.error is None
    await h.conn.close()


async def test_an_ok_after_every_publisher_left_is_reported() -> None:
    h = MarbleHarness(lambda link: [[opened(link), on_next(3, f'["OK","{EID}",true,""]')]])
    errors: list[Exception] = []
    h.conn.errors.subscribe(errors.append)
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(publish(h.conn, ev(1, 100), timeout=30)).dispose()
    await h.run_until(5)
    assert h.link.labels() == [(1.0, "EVENT")]  # the EVENT stays sent
    assert sink.items == [] and sink.error is None
    assert len(errors) == 1 and EID in str(errors[0])
    await h.conn.close()


async def test_closing_fails_publishes_still_waiting() -> None:
    h = MarbleHarness(lambda link: [[opened(link)]])
    await h.start()
    sink = Sink(h.scheduler)
    sink.observe(publish(h.conn, ev(1, 100), timeout=30))
    await h.run_until(2)
    await h.conn.close()
    assert sink.error is not None and isinstance(sink.error[1], InvalidState)
    assert "CLOSED" in str(sink.error[1])
