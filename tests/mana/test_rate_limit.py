"""CategoryRateLimiter and label_category: buckets, FIFO, adapt, halve, wait, the operator."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from rx_honeybee.errors import InvalidState
from rx_mana import CategoryRateLimiter, RateLimiterStats, limit_by_category
from rx_mana.categories import (
    CONTROL,
    DEFAULT_CATEGORY,
    DEFAULT_RATE_CATEGORIES,
    EVENT,
    SUBSCRIPTION,
    CategoryLimit,
    label_category,
)

EV = '["EVENT",{"id":"x"}]'
CLOSE = '["CLOSE","s"]'


def at(scheduler: TestScheduler, t: float) -> None:
    scheduler.advance_to(t)


def limiter(scheduler: TestScheduler, **budgets: tuple[float, int]) -> CategoryRateLimiter:
    """A limiter with the given ``name=(rate, burst)`` budgets (priority: order given)."""
    categories = {
        name: CategoryLimit(rate, burst, priority=len(budgets) - i)
        for i, (name, (rate, burst)) in enumerate(budgets.items())
    }
    return CategoryRateLimiter(categories, min_rate=0.01, scheduler=scheduler)


# -- categories ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("envelope", "category"),
    [
        ('["CLOSE","s"]', CONTROL),
        ('["AUTH",{"kind":22242}]', CONTROL),
        ('["EOSE","s"]', CONTROL),
        ('["OK","id",true,""]', CONTROL),
        ('["NOTICE","hi"]', CONTROL),
        ('["CLOSED","s","bye"]', CONTROL),
        ('["EVENT",{"kind":1}]', EVENT),
        ('["EVENT","s",{"kind":1}]', EVENT),
        ('["REQ","s",{}]', SUBSCRIPTION),
        ('["COUNT","s",{}]', SUBSCRIPTION),
        ('["NEG-OPEN","s",{},"00"]', DEFAULT_CATEGORY),
        ("}{ not json", DEFAULT_CATEGORY),
        ("[]", DEFAULT_CATEGORY),
        ("[1]", DEFAULT_CATEGORY),
    ],
)
def test_label_category(envelope: str, category: str) -> None:
    assert label_category(envelope) == category


def test_the_default_category_is_the_most_metered_one() -> None:
    assert DEFAULT_CATEGORY == SUBSCRIPTION


def test_seed_defaults() -> None:
    assert dict(DEFAULT_RATE_CATEGORIES) == {
        CONTROL: CategoryLimit(50.0, 100, 10),
        EVENT: CategoryLimit(5.0, 20, 5),
        SUBSCRIPTION: CategoryLimit(2.0, 10, 3),
    }
    with pytest.raises(TypeError):
        DEFAULT_RATE_CATEGORIES[EVENT] = CategoryLimit(1, 1)  # type: ignore[index]


@pytest.mark.parametrize(
    ("rate", "burst"), [(0, 1), (-1, 1), (float("inf"), 1), (float("nan"), 1), (1, 0)]
)
def test_category_limit_rejects_nonsense(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        CategoryLimit(rate, burst)


# -- construction --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_rate": 0},
        {"min_rate": float("nan")},
        {"max_rate": 0.5},
        {"max_rate": float("inf")},
        {"adapt_period": -1},
        {"adapt_period": float("nan")},
        {"categories": {}},
        {"categories": {"event": (5, 20)}},
        {"categories": {"event": CategoryLimit(500, 20)}},
        {"categories": {"event": CategoryLimit(0.5, 20)}},
    ],
)
def test_invalid_configuration_raises_value_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        CategoryRateLimiter(**kwargs)


def test_defaults() -> None:
    lim = CategoryRateLimiter(scheduler=TestScheduler())
    assert lim.categories == (CONTROL, EVENT, SUBSCRIPTION)
    assert [lim.rate(c) for c in lim.categories] == [50.0, 5.0, 2.0]
    assert lim.resolve("nope") == SUBSCRIPTION
    assert lim.resolve(EVENT) == EVENT


def test_the_fallback_is_the_lowest_priority_then_slowest_category() -> None:
    lim = CategoryRateLimiter(
        {"a": CategoryLimit(5, 1, 1), "b": CategoryLimit(3, 1, 0), "c": CategoryLimit(2, 1, 0)},
        scheduler=TestScheduler(),
    )
    assert lim.resolve("zzz") == "c"


# -- allow ---------------------------------------------------------------------------------


def test_allow_spends_the_burst_then_refuses_then_refills() -> None:
    s = TestScheduler()
    lim = limiter(s, event=(2.0, 3))
    assert [lim.allow(EVENT) for _ in range(4)] == [True, True, True, False]
    at(s, 0.4)  # 0.8 token
    assert not lim.allow(EVENT)
    at(s, 0.5)  # 1 token
    assert lim.allow(EVENT)
    at(s, 100)  # full again, never more than burst
    assert [lim.allow(EVENT) for _ in range(4)] == [True, True, True, False]
    st = lim.stats()
    assert st.allowed == {EVENT: 7}
    assert st.refused == {EVENT: 3}
    assert st.delayed == {EVENT: 0}


def test_categories_have_separate_buckets() -> None:
    s = TestScheduler()
    lim = limiter(s, control=(1, 1), event=(1, 1))
    assert lim.allow(EVENT)
    assert not lim.allow(EVENT)
    assert lim.allow(CONTROL)


def test_an_unknown_category_spends_the_fallback_bucket() -> None:
    s = TestScheduler()
    lim = CategoryRateLimiter(scheduler=s)
    assert all(lim.allow("weird") for _ in range(10))
    assert not lim.allow(SUBSCRIPTION)
    assert lim.stats().allowed[SUBSCRIPTION] == 10
    assert "weird" not in lim.stats().allowed


def test_allow_does_not_jump_ahead_of_a_waiting_request() -> None:
    s = TestScheduler()
    lim = limiter(s, event=(1, 1))
    got: list[float] = []
    assert lim.allow(EVENT)
    lim.acquire(EVENT, lambda: got.append(s.clock))
    at(s, 0.999)
    assert not lim.allow(EVENT)
    at(s, 1)
    assert got == [1.0]
    assert not lim.allow(EVENT)  # the waiting request took that token


# -- acquire -------------------------------------------------------------------------------


def test_acquire_grants_at_once_when_free_and_in_order_when_not() -> None:
    s = TestScheduler()
    lim = limiter(s, event=(2, 2))
    got: list[tuple[float, int]] = []
    for i in range(5):
        lim.acquire(EVENT, lambda i=i: got.append((s.clock, i)))
    assert got == [(0.0, 0), (0.0, 1)]
    assert lim.stats().waiting == {EVENT: 3}
    at(s, 10)
    assert got[2:] == [(0.5, 2), (1.0, 3), (1.5, 4)]
    st = lim.stats()
    assert (st.allowed[EVENT], st.delayed[EVENT], st.waiting[EVENT]) == (5, 3, 0)


def test_a_request_given_up_takes_no_token_and_the_next_one_moves_up() -> None:
    s = TestScheduler()
    lim = limiter(s, event=(1, 1))
    got: list[tuple[float, str]] = []
    lim.acquire(EVENT, lambda: got.append((s.clock, "a")))
    b = lim.acquire(EVENT, lambda: got.append((s.clock, "b")))
    lim.acquire(EVENT, lambda: got.append((s.clock, "c")))
    b.dispose()
    b.dispose()  # twice is harmless
    c = lim.acquire(EVENT, lambda: got.append((s.clock, "d")))
    at(s, 10)
    assert got == [(0.0, "a"), (1.0, "c"), (2.0, "d")]
    c.dispose()  # after its grant: nothing to give up
    assert lim.stats().allowed == {EVENT: 3}
    assert lim.stats().waiting == {EVENT: 0}


def test_giving_up_every_waiting_request_cancels_the_wake_up() -> None:
    s = TestScheduler()
    lim = limiter(s, event=(1, 1))
    lim.acquire(EVENT, lambda: None)
    claims = [lim.acquire(EVENT, pytest.fail) for _ in range(3)]
    for claim in claims:
        claim.dispose()
    assert lim.stats().waiting == {EVENT: 0}
    at(s, 10)  # nothing granted, nothing fails
    assert lim.allow(EVENT)


def test_tokens_due_together_go_to_the_higher_priority_first() -> None:
    s = TestScheduler()
    lim = limiter(s, control=(1, 1), event=(1, 1))
    got: list[str] = []
    lim.allow(CONTROL)
    lim.allow(EVENT)
    lim.acquire(EVENT, lambda: got.append("event"))
    lim.acquire(CONTROL, lambda: got.append("control"))
    at(s, 1)
    assert got == ["control", "event"]


def test_a_grant_that_raises_does_not_strand_the_others() -> None:
    s = TestScheduler()
    lim = limiter(s, event=(1, 2))
    got: list[float] = []
    lim.allow(EVENT)
    lim.allow(EVENT)

    def boom() -> None:
        raise RuntimeError("subscriber fault")

    lim.acquire(EVENT, boom)
    lim.acquire(EVENT, lambda: got.append(s.clock))
    with pytest.raises(RuntimeError):
        at(s, 1)
    s._is_enabled = False  # the TestScheduler stops dead on a raising action; asyncio would not
    at(s, 5)
    assert got == [2.0]


def test_a_request_made_while_granting_waits_its_turn() -> None:
    s = TestScheduler()
    lim = limiter(s, event=(1, 1))
    got: list[tuple[float, str]] = []
    lim.allow(EVENT)

    def first() -> None:
        got.append((s.clock, "first"))
        lim.acquire(EVENT, lambda: got.append((s.clock, "nested")))

    lim.acquire(EVENT, first)
    lim.acquire(EVENT, lambda: got.append((s.clock, "second")))
    at(s, 10)
    assert got == [(1.0, "first"), (2.0, "second"), (3.0, "nested")]


# -- adapt and halve -----------------------------------------------------------------------


def test_adapt_scales_every_rate_within_bounds() -> None:
    s = TestScheduler()
    lim = CategoryRateLimiter(adapt_period=0, scheduler=s)
    assert lim.adapt(0.81)
    assert lim.stats().rates == {CONTROL: 40.0, EVENT: 4.0, SUBSCRIPTION: 1.6}
    assert not lim.adapt(0.8)  # 0.5..0.8: leave it
    assert not lim.adapt(0.5)
    assert lim.adapt(0.49)
    assert lim.stats().rates == pytest.approx({CONTROL: 48.0, EVENT: 4.8, SUBSCRIPTION: 1.92})
    for _ in range(40):
        lim.adapt(1.0)
    assert lim.stats().rates == {CONTROL: 1.0, EVENT: 1.0, SUBSCRIPTION: 1.0}
    assert not lim.adapt(1.0)  # all at min_rate: nothing changes
    for _ in range(40):
        lim.adapt(0.0)
    assert lim.stats().rates == {CONTROL: 100.0, EVENT: 100.0, SUBSCRIPTION: 100.0}
    assert not lim.adapt(0.0)


def test_adapt_changes_rates_at_most_once_per_period() -> None:
    s = TestScheduler()
    lim = CategoryRateLimiter(scheduler=s)
    assert lim.adapt(0.9)
    at(s, 4.9)
    assert not lim.adapt(0.9)
    at(s, 5)
    assert lim.adapt(0.9)
    assert lim.rate(EVENT) == pytest.approx(3.2)
    assert lim.stats().adaptations == 2


def test_an_adapt_that_changes_nothing_does_not_start_the_period() -> None:
    s = TestScheduler()
    lim = CategoryRateLimiter(scheduler=s)
    assert not lim.adapt(0.6)
    at(s, 1)
    assert lim.adapt(0.9)


def test_adapt_is_off_when_not_adaptive_and_checks_its_input() -> None:
    lim = CategoryRateLimiter(adaptive=False, scheduler=TestScheduler())
    assert not lim.adapt(1.0)
    assert lim.rate(EVENT) == 5.0
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            lim.adapt(bad)


def test_halve_floors_at_min_rate_and_counts_changes() -> None:
    lim = CategoryRateLimiter(scheduler=TestScheduler())
    assert lim.halve(EVENT) == 2.5
    assert lim.halve(EVENT) == 1.25
    assert lim.halve(EVENT) == 1.0
    assert lim.halve(EVENT) == 1.0
    assert lim.stats().halvings == 3
    assert lim.rate(CONTROL) == 50.0


def test_a_slower_rate_stretches_the_wait_of_waiting_requests() -> None:
    s = TestScheduler()
    lim = limiter(s, event=(1, 1))
    got: list[float] = []
    lim.allow(EVENT)
    lim.acquire(EVENT, lambda: got.append(s.clock))
    lim.acquire(EVENT, lambda: got.append(s.clock))
    at(s, 0.5)  # half a token earned at 1/s
    lim.halve(EVENT)  # the other half takes 1 s at 0.5/s
    at(s, 10)
    assert got == [1.5, 3.5]


def test_a_faster_rate_brings_the_wake_up_forward() -> None:
    s = TestScheduler()
    lim = CategoryRateLimiter(
        {EVENT: CategoryLimit(1, 1)}, min_rate=0.5, max_rate=2, adapt_period=0, scheduler=s
    )
    got: list[float] = []
    lim.allow(EVENT)
    lim.halve(EVENT)  # 0.5/s: the next token at 2
    lim.acquire(EVENT, lambda: got.append(s.clock))
    lim.adapt(0.0)  # 0.6/s
    lim.adapt(0.0)  # 0.72/s
    lim.adapt(0.0)  # 0.864/s
    lim.adapt(0.0)  # 1.0368/s: due at 1/1.0368
    at(s, 1.2)
    assert got == [pytest.approx(1 / 1.0368, abs=1e-5)]


def test_stats_is_a_frozen_snapshot() -> None:
    lim = CategoryRateLimiter(scheduler=TestScheduler())
    st = lim.stats()
    assert isinstance(st, RateLimiterStats)
    with pytest.raises(dataclasses.FrozenInstanceError):
        st.halvings = 3  # type: ignore[misc]
    lim.allow(EVENT)
    assert st.allowed[EVENT] == 0


# -- the clock -----------------------------------------------------------------------------


def test_without_scheduler_or_loop_the_clock_is_refused() -> None:
    lim = CategoryRateLimiter()
    with pytest.raises(InvalidState):
        lim.allow(EVENT)


@pytest.mark.asyncio
async def test_without_scheduler_it_runs_on_the_asyncio_loop() -> None:
    lim = CategoryRateLimiter({EVENT: CategoryLimit(50, 1)}, max_rate=50)
    assert lim.allow(EVENT)
    assert isinstance(lim._scheduler, AsyncIOScheduler)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await lim.wait(EVENT, timeout=1)
    assert loop.time() - start >= 0.015  # 1/50 s, give or take the clock


# -- wait ----------------------------------------------------------------------------------


async def advance(s: TestScheduler, t: float) -> None:
    """Let waiting tasks register, move virtual time, let them resume."""
    for _ in range(3):
        await asyncio.sleep(0)
    s.advance_to(t)
    for _ in range(3):
        await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_wait_returns_at_once_with_a_token_and_on_the_virtual_clock_without() -> None:
    s = TestScheduler()
    lim = limiter(s, event=(1, 1))
    await lim.wait(EVENT)
    task = asyncio.ensure_future(lim.wait(EVENT))
    await advance(s, 0.9)
    assert not task.done()
    await advance(s, 1)
    assert task.done()
    await task
    st = lim.stats()
    assert (st.allowed[EVENT], st.delayed[EVENT], st.refused[EVENT]) == (2, 1, 0)


@pytest.mark.asyncio
async def test_wait_times_out_on_the_virtual_clock_and_gives_its_place_up() -> None:
    s = TestScheduler()
    lim = limiter(s, event=(1, 1))
    lim.allow(EVENT)
    task = asyncio.ensure_future(lim.wait(EVENT, timeout=0.5))
    await advance(s, 0.5)
    with pytest.raises(TimeoutError):
        await task
    st = lim.stats()
    assert (st.refused[EVENT], st.waiting[EVENT]) == (1, 0)
    await advance(s, 1)
    assert lim.allow(EVENT)  # the token was not taken by the timed-out wait


@pytest.mark.asyncio
async def test_a_cancelled_wait_gives_its_place_up() -> None:
    s = TestScheduler()
    lim = limiter(s, event=(1, 1))
    lim.allow(EVENT)
    task = asyncio.ensure_future(lim.wait(EVENT, timeout=5))
    await advance(s, 0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert lim.stats().waiting == {EVENT: 0}
    assert lim.stats().refused == {EVENT: 0}


@pytest.mark.asyncio
async def test_wait_rejects_a_negative_timeout() -> None:
    lim = CategoryRateLimiter(scheduler=TestScheduler())
    with pytest.raises(ValueError):
        await lim.wait(EVENT, timeout=-1)


# -- the operator --------------------------------------------------------------------------


def record(
    s: TestScheduler, source: Observable[str], lim: CategoryRateLimiter, **kwargs: Any
) -> tuple[list[tuple[float, Any]], abc.DisposableBase]:
    out: list[tuple[float, Any]] = []
    sub = source.pipe(limit_by_category(lim, **kwargs)).subscribe(
        lambda v: out.append((s.clock, v)),
        lambda e: out.append((s.clock, e)),
        lambda: out.append((s.clock, "done")),
        scheduler=s,
    )
    return out, sub


def test_the_operator_completes_once_the_waiting_envelopes_went_out() -> None:
    s = TestScheduler()
    lim = limiter(s, event=(1, 1))
    src: Subject[str] = Subject()
    out, _ = record(s, src, lim)
    src.on_next("e1")
    src.on_next("e2")
    src.on_completed()
    assert out == [(0.0, "e1")]
    at(s, 5)
    assert out == [(0.0, "e1"), (1.0, "e2"), (1.0, "done")]


def test_the_operator_fails_when_category_of_raises_and_gives_up_what_waits() -> None:
    s = TestScheduler()
    lim = limiter(s, event=(1, 1))
    src: Subject[str] = Subject()

    def category_of(envelope: str) -> str:
        if envelope == "bad":
            raise KeyError(envelope)
        return EVENT

    out, _ = record(s, src, lim, category_of=category_of)
    src.on_next("e1")
    src.on_next("e2")
    src.on_next("bad")
    src.on_next("e3")  # after the error: ignored
    src.on_error(RuntimeError("late"))  # ignored too
    assert [v for _, v in out][0] == "e1"
    assert isinstance(out[1][1], KeyError)
    assert lim.stats().waiting == {EVENT: 0}
    at(s, 5)
    assert len(out) == 2


def test_the_operator_forwards_a_source_error_at_once() -> None:
    s = TestScheduler()
    lim = limiter(s, event=(1, 1))
    src: Subject[str] = Subject()
    out, _ = record(s, src, lim)
    src.on_next("e1")
    src.on_next("e2")
    boom = RuntimeError("source")
    src.on_error(boom)
    assert out == [(0.0, "e1"), (0.0, boom)]
    assert lim.stats().waiting == {EVENT: 0}  # e2's claim was given up
    at(s, 5)
    assert len(out) == 2


def test_disposing_the_operator_gives_up_what_waits() -> None:
    s = TestScheduler()
    lim = limiter(s, event=(1, 1))
    src: Subject[str] = Subject()
    out, sub = record(s, src, lim)
    for e in ("e1", "e2", "e3"):
        src.on_next(e)
    sub.dispose()
    assert lim.stats().waiting == {EVENT: 0}
    src.on_next("e4")
    at(s, 5)
    assert out == [(0.0, "e1")]
    assert not src.observers


def test_the_operator_adopts_the_subscribe_scheduler() -> None:
    s = TestScheduler()
    lim = CategoryRateLimiter({EVENT: CategoryLimit(1, 1)})
    src: Subject[str] = Subject()
    out, _ = record(s, src, lim, category_of=lambda _: EVENT)
    src.on_next("e1")
    src.on_next("e2")
    at(s, 1)
    assert out == [(0.0, "e1"), (1.0, "e2")]


def test_the_operator_reports_a_missing_clock_as_an_error() -> None:
    lim = CategoryRateLimiter()
    src: Subject[str] = Subject()
    errors: list[Exception] = []
    src.pipe(limit_by_category(lim)).subscribe(on_error=errors.append)
    src.on_next(EV)
    assert isinstance(errors[0], InvalidState)


def test_the_default_category_of_reads_labels() -> None:
    s = TestScheduler()
    lim = limiter(s, control=(1, 5), event=(1, 1), subscription=(1, 1))
    src: Subject[str] = Subject()
    out, _ = record(s, src, lim)
    for e in (EV, EV, CLOSE, CLOSE):
        src.on_next(e)
    assert [v for _, v in out] == [EV, CLOSE, CLOSE]
    at(s, 1)
    assert out[-1] == (1.0, EV)


def test_completion_with_nothing_waiting_is_immediate() -> None:
    s = TestScheduler()
    lim = limiter(s, event=(1, 1))
    out, _ = record(s, Observable(lambda o, _=None: (o.on_completed(), Disposable())[1]), lim)
    assert out == [(0.0, "done")]
