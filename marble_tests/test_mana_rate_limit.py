"""The category rate limiter in virtual time: refill, control first, adapt period, halving."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.marbles import marbles_testing

from rx_honeybee.errors import InvalidState, QueueFull
from rx_honeybee.testing import MarbleHarness, RecordingLink
from rx_mana import (
    CategoryRateLimiter,
    LimitedSender,
    limit_by_category,
    limit_connection,
)
from rx_mana.categories import CONTROL, EVENT, SUBSCRIPTION, CategoryLimit

from .support import opened

on_next = ReactiveTest.on_next

ENVELOPES = {
    "a": '["EVENT",{"n":1}]',
    "b": '["EVENT",{"n":2}]',
    "c": '["EVENT",{"n":3}]',
    "d": '["EVENT",{"n":4}]',
    "e": '["EVENT",{"n":5}]',
    "f": '["EVENT",{"n":6}]',
    "x": '["CLOSE","s"]',
    "y": '["CLOSE","t"]',
}
OK_LIMITED = '["OK","' + "0" * 64 + '",false,"rate-limited: slow down"]'
CLOSED_LIMITED = '["CLOSED","s","rate-limited: too many REQs"]'
NOTICE_LIMITED = '["NOTICE","rate-limited: you are noisy"]'


def budgets(event: float, burst: int = 1, **more: tuple[float, int]) -> CategoryRateLimiter:
    categories = {
        CONTROL: CategoryLimit(10, 10, priority=10),
        EVENT: CategoryLimit(event, burst, priority=5),
        **{name: CategoryLimit(rate, b) for name, (rate, b) in more.items()},
    }
    return CategoryRateLimiter(categories, min_rate=0.01, max_rate=10)


# -- the operator --------------------------------------------------------------------------


def test_docstring_marble() -> None:
    with marbles_testing(timespan=1.0) as (start, _cold, hot, exp):
        source = hot("-a-b-x-----|", lookup=ENVELOPES)
        expected = exp("-a---x-b---|", lookup=ENVELOPES)
        results = start(source.pipe(limit_by_category(budgets(1 / 6))))
    assert results == expected


def test_the_bucket_refills_in_virtual_time_up_to_burst() -> None:
    # 0.25 tokens/s, burst 2: a, b and c spend the saved and earned tokens; d waits for
    # one; after a long idle the bucket is full again (2 tokens, no more).
    with marbles_testing(timespan=1.0) as (start, _cold, hot, exp):
        source = hot("-a-b-c-d----------e-f-|", lookup=ENVELOPES)
        expected = exp("-a-b-c---d--------e-f-|", lookup=ENVELOPES)
        results = start(source.pipe(limit_by_category(budgets(0.25, 2))))
    assert results == expected


def test_control_envelopes_never_wait_behind_events() -> None:
    # EVENTs pile up at 0.25/s; each CLOSE goes out the moment it arrives.
    with marbles_testing(timespan=1.0) as (start, _cold, hot, exp):
        source = hot("-a-b-c-x-d-y---|", lookup=ENVELOPES)
        expected = exp("-a---b-x-c-y-d-|", lookup=ENVELOPES)
        results = start(source.pipe(limit_by_category(budgets(0.25))))
    assert results == expected


def test_events_keep_their_order_within_their_category() -> None:
    s = TestScheduler()
    source = s.create_hot_observable(
        *[on_next(201, ENVELOPES[k]) for k in "abcdef"],
        on_next(202, ENVELOPES["x"]),
    )
    results = s.start(lambda: source.pipe(limit_by_category(budgets(1, 2))))
    assert [(m.time, m.value.value) for m in results.messages] == [
        (201, ENVELOPES["a"]),
        (201, ENVELOPES["b"]),
        (202, ENVELOPES["x"]),  # 202: the CLOSE first, then the event whose token came
        (202, ENVELOPES["c"]),
        (203, ENVELOPES["d"]),
        (204, ENVELOPES["e"]),
        (205, ENVELOPES["f"]),
    ]


# -- adapt ---------------------------------------------------------------------------------


def test_adapt_changes_rates_at_most_once_per_five_seconds_of_virtual_time() -> None:
    s = TestScheduler()
    lim = CategoryRateLimiter(scheduler=s)
    seen: list[tuple[float, bool, float]] = []

    def adapt_at(t: float, utilisation: float) -> None:
        def act(*_: Any) -> None:
            seen.append((s.clock, lim.adapt(utilisation), lim.rate(EVENT)))

        s.schedule_absolute(t, act)

    for t, u in [(1, 0.9), (2, 0.9), (5.9, 0.9), (6, 0.6), (6, 0.9), (8, 0.1), (11, 0.1)]:
        adapt_at(t, u)
    s.advance_to(20)
    assert seen == [
        (1.0, True, 4.0),  # high: × 0.8, the period starts
        (2.0, False, 4.0),  # within 5 s
        (5.9, False, 4.0),  # still within
        (6.0, False, 4.0),  # 0.5..0.8: nothing to do
        (6.0, True, 3.2),  # 5 s after the last change
        (8.0, False, 3.2),  # low, but within 5 s of 6
        (11.0, True, pytest.approx(3.84)),  # low: × 1.2
    ]
    assert lim.stats().adaptations == 3


# -- the sender on a Connection ------------------------------------------------------------


async def harness(
    *inbound: tuple[float, str], limiter: CategoryRateLimiter, cooldown: float = 1.0
) -> tuple[MarbleHarness, LimitedSender]:
    """A connection, CONNECTED at 1, whose relay sends ``inbound``; a sender in front."""

    def script(link: RecordingLink) -> list[list[Any]]:
        return [[opened(link), *[on_next(t, env) for t, env in inbound]]]

    h = MarbleHarness(script)
    sender = limit_connection(h.conn, limiter, cooldown=cooldown)
    await h.start()
    return h, sender


def events(n: int) -> list[str]:
    return [json.dumps(["EVENT", {"n": i}]) for i in range(n)]


@pytest.mark.asyncio
async def test_a_rate_limited_ok_halves_the_event_rate_of_that_connection() -> None:
    lim = budgets(1)
    h, sender = await harness((4.5, OK_LIMITED), limiter=lim)
    for env in events(8):
        sender.send(env)
    await h.run_until(12)
    # 1/s until the OK at 4.5 (half a token in hand), then 0.5/s
    assert h.link.sent_at == [1, 2, 3, 4, 5.5, 7.5, 9.5, 11.5]
    assert lim.rate(EVENT) == 0.5
    assert lim.rate(CONTROL) == 10
    assert sender.rate_limited == 1
    sender.dispose()
    await h.conn.close()


@pytest.mark.asyncio
async def test_answers_to_envelopes_in_flight_halve_once_per_cooldown() -> None:
    lim = budgets(4, subscription=(4, 1))
    h, sender = await harness(
        (2.0, OK_LIMITED),
        (2.5, OK_LIMITED),  # within the cooldown: the same complaint
        (3.5, OK_LIMITED),  # after it: halve again
        (4.0, CLOSED_LIMITED),  # subscriptions have their own cooldown
        limiter=lim,
        cooldown=1.0,
    )
    await h.run_until(5)
    assert lim.rate(EVENT) == 1.0
    assert lim.rate(SUBSCRIPTION) == 2.0
    assert sender.rate_limited == 4
    assert lim.stats().halvings == 3
    sender.dispose()
    await h.conn.close()


@pytest.mark.asyncio
async def test_a_rate_limited_notice_halves_events_and_subscriptions() -> None:
    lim = budgets(4, subscription=(4, 1))
    h, sender = await harness((2.0, NOTICE_LIMITED), limiter=lim)
    await h.run_until(3)
    assert (lim.rate(EVENT), lim.rate(SUBSCRIPTION), lim.rate(CONTROL)) == (2.0, 2.0, 10)
    sender.dispose()
    await h.conn.close()


@pytest.mark.asyncio
async def test_other_answers_do_not_slow_down() -> None:
    lim = budgets(4, subscription=(4, 1))
    h, sender = await harness(
        (2.0, '["OK","' + "0" * 64 + '",true,"rate-limited: accepted anyway"]'),
        (2.1, '["OK","' + "0" * 64 + '",false,"blocked: rate-limited users"]'),
        (2.2, '["CLOSED","s","error: rate-limited backend"]'),
        (2.3, '["EVENT","s",{"content":"rate-limited: a note"}]'),
        (2.4, '["OK","rate-limited: but malformed"]'),
        (2.5, '["NOTICE","hello"]'),
        limiter=lim,
    )
    await h.run_until(3)
    assert (lim.rate(EVENT), lim.rate(SUBSCRIPTION)) == (4, 4)
    assert sender.rate_limited == 0
    sender.dispose()
    await h.conn.close()


@pytest.mark.asyncio
async def test_a_category_the_limiter_lacks_is_not_halved() -> None:
    lim = CategoryRateLimiter({CONTROL: CategoryLimit(10, 10)}, min_rate=0.1)
    h, sender = await harness((2.0, NOTICE_LIMITED), limiter=lim)
    await h.run_until(3)
    assert lim.rate(CONTROL) == 10
    assert lim.stats().halvings == 0
    sender.dispose()
    await h.conn.close()


@pytest.mark.asyncio
async def test_a_close_sent_through_the_sender_does_not_wait_behind_events() -> None:
    lim = budgets(0.5)
    h, sender = await harness(limiter=lim)
    for env in events(4):
        sender.send(env)
    await h.run_until(2)
    sender.send('["CLOSE","s"]')
    await h.run_until(8)
    assert h.link.labels() == [
        (1.0, "EVENT"),
        (2.0, "CLOSE"),
        (3.0, "EVENT"),
        (5.0, "EVENT"),
        (7.0, "EVENT"),
    ]
    assert sender.pending == 0
    sender.dispose()
    await h.conn.close()


@pytest.mark.asyncio
async def test_a_send_that_fails_once_its_token_came_is_reported() -> None:
    lim = budgets(1)
    h, sender = await harness(limiter=lim)
    failures: list[Exception] = []
    sender.errors.subscribe(failures.append)
    sender.send(events(1)[0])
    sender.send(events(2)[1])

    def full(envelope: str, priority: int | None = None) -> None:
        raise QueueFull(1)

    h.conn._queue.put = full  # type: ignore[method-assign]
    await h.run_until(3)
    assert sender.failed == 1
    assert isinstance(failures[0], QueueFull)
    sender.dispose()
    await h.conn.close()


@pytest.mark.asyncio
async def test_envelopes_still_waiting_when_the_connection_ends_are_reported() -> None:
    lim = budgets(0.1)
    h, sender = await harness(limiter=lim)
    failures: list[Exception] = []
    ended: list[bool] = []
    sender.errors.subscribe(failures.append, on_completed=lambda: ended.append(True))
    for env in events(3):
        sender.send(env)
    assert sender.pending == 2
    await h.conn.close()
    assert ended == [True]
    assert isinstance(failures[0], InvalidState)
    assert "2 envelope(s)" in str(failures[0])
    assert lim.stats().waiting[EVENT] == 0
    with pytest.raises(InvalidState, match="disposed"):
        sender.send(events(1)[0])
    assert sender.dispose() == 0


@pytest.mark.asyncio
async def test_sending_on_a_closed_connection_is_refused_at_once() -> None:
    lim = budgets(1)
    h, sender = await harness(limiter=lim)
    sender.dispose()
    await h.conn.close()
    fresh = LimitedSender(h.conn, lim)  # the connection ended: disposed at once
    with pytest.raises(InvalidState, match="connection ended"):
        fresh.send(events(1)[0])
    assert fresh.pending == 0


@pytest.mark.asyncio
async def test_sending_on_a_closing_connection_is_refused_at_once() -> None:
    lim = budgets(1)
    h, sender = await harness(limiter=lim)
    failures: list[Exception] = []
    sender.errors.subscribe(failures.append)
    sender.send(events(2)[0])  # takes the only token
    sender.send(events(2)[1])  # waits for the next one
    closing = asyncio.ensure_future(h.conn.close())
    await asyncio.sleep(0)
    with pytest.raises(InvalidState, match="cannot send"):
        sender.send('["CLOSE","s"]')  # a token at once: conn.send refuses to the caller
    await closing  # the waiting event never got its token: given up, and reported
    assert [type(f) for f in failures] == [InvalidState]
    assert "1 envelope(s)" in str(failures[0])


@pytest.mark.asyncio
async def test_a_category_of_that_raises_leaves_nothing_pending() -> None:
    lim = budgets(1)
    h, _ = await harness(limiter=lim)

    def broken(envelope: str) -> str:
        raise LookupError(envelope)

    sender = LimitedSender(h.conn, lim, category_of=broken)
    with pytest.raises(LookupError):
        sender.send("x")
    assert sender.pending == 0
    sender.dispose()
    await h.conn.close()


def test_the_sender_rejects_a_negative_cooldown() -> None:
    h = MarbleHarness(lambda link: [])
    with pytest.raises(ValueError):
        LimitedSender(h.conn, budgets(1), cooldown=-1)
