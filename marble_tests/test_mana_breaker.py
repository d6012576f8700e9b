"""Marble tests of ``CircuitBreaker``: its notifier in virtual time (1 tick = 1 second)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest
from reactivex import Observable
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.marbles import marbles_testing

from rx_honeybee.errors import ConnectionFailed, MaxReconnectAttemptsExceeded
from rx_honeybee.operators import retry_when
from rx_mana.breaker import CircuitBreaker, CircuitState
from rx_mana.failures import DEFAULT_CATEGORIES, FailureStrategy, jittered

on_next = ReactiveTest.on_next
subscribe = ReactiveTest.subscribe

URL = "ws://relay.example"
REFUSED = ConnectionFailed(URL, "refused")
DNS = ConnectionFailed(URL, "dns")
BUSY = ConnectionFailed(URL, "handshake", "503", status=503)
DENIED = ConnectionFailed(URL, "handshake", "401", status=401)
FOREVER = {"network": FailureStrategy(0, 1.0, 1.0, 1.0)}  # 1 s each time, never give up

CLOSED, OPEN, HALF = CircuitState.CLOSED, CircuitState.OPEN, CircuitState.HALF_OPEN


def make(scheduler: TestScheduler, **settings: Any) -> CircuitBreaker:
    settings.setdefault("jitter", 0.0)
    return CircuitBreaker(scheduler=scheduler, **settings)


def watch(
    scheduler: TestScheduler,
    breaker: CircuitBreaker,
    failures: Sequence[tuple[float, Exception]],
    disposed: float = 1000.0,
) -> list[Any]:
    """Subscribe one notifier at 200 over hot ``failures``; the recorded (time, value/end)."""
    errors = scheduler.create_hot_observable([on_next(t, e) for t, e in failures])
    observer = scheduler.create_observer()
    holder: dict[str, Any] = {}

    def sub(*_: Any) -> None:
        holder["d"] = breaker.notifier(errors).subscribe(observer, scheduler=scheduler)

    scheduler.schedule_absolute(200, sub)
    scheduler.schedule_absolute(disposed, lambda *_: holder["d"].dispose())
    return observer.messages


def items(messages: list[Any]) -> list[tuple[float, Any]]:
    out: list[tuple[float, Any]] = []
    for m in messages:
        kind = m.value.kind
        value = m.value.value if kind == "N" else m.value.exception if kind == "E" else "|"
        out.append((m.time, value))
    return out


def states(scheduler: TestScheduler, breaker: CircuitBreaker) -> list[tuple[float, CircuitState]]:
    seen: list[tuple[float, CircuitState]] = []
    breaker.state.subscribe(lambda s: seen.append((scheduler.clock, s)))
    return seen


def test_marble_network_delays_double() -> None:
    breaker = CircuitBreaker(jitter=0.0, failure_threshold=100)
    with marbles_testing(timespan=1.0) as (start, _cold, hot, exp):
        errors = hot("-x-x--x-------", lookup={"x": REFUSED})
        expected = exp("--1--2----4---", lookup={"1": 1.0, "2": 2.0, "4": 4.0})
        results = start(breaker.notifier(errors))
    assert results == expected


def test_per_category_delays() -> None:
    s = TestScheduler()
    b = make(s, failure_threshold=100)
    dns = watch(s, b, [(210, DNS), (218, DNS)])
    s.start()
    assert items(dns) == [(215, 5.0), (228, 10.0)]

    s = TestScheduler()
    b = make(s, failure_threshold=100)
    server = watch(s, b, [(210, BUSY), (214, BUSY), (218, BUSY), (222, BUSY)])
    s.start()
    assert items(server) == [(210.5, 0.5), (214.75, 0.75), (219.125, 1.125), (223.6875, 1.6875)]


def test_delay_is_capped_at_max_delay() -> None:
    s = TestScheduler()
    cats = {"network": FailureStrategy(0, 1.0, 3.0, 2.0)}
    b = make(s, failure_threshold=100, categories=cats)
    got = watch(s, b, [(210, REFUSED), (213, REFUSED), (217, REFUSED), (222, REFUSED)])
    s.start()
    assert items(got) == [(211, 1.0), (215, 2.0), (220, 3.0), (225, 3.0)]


def test_seeded_jitter_moves_each_delay_within_bounds() -> None:
    s = TestScheduler()
    b = CircuitBreaker(failure_threshold=100, jitter=0.2, scheduler=s, rng=random.Random(7))
    got = watch(s, b, [(210, REFUSED), (213, REFUSED), (218, REFUSED)])
    s.start()
    rng = random.Random(7)
    expected = [jittered(d, 0.2, rng) for d in (1.0, 2.0, 4.0)]
    assert [v for _, v in items(got)] == expected
    times = [210 + expected[0], 213 + expected[1], 218 + expected[2]]
    assert [t for t, _ in items(got)] == pytest.approx(times, abs=1e-5)
    assert all(0.8 * d <= v <= 1.2 * d for v, d in zip(expected, (1.0, 2.0, 4.0), strict=True))
    assert expected != [1.0, 2.0, 4.0]


def test_max_attempts_of_a_category_gives_up() -> None:
    s = TestScheduler()
    b = make(s)
    got = watch(s, b, [(210, DENIED), (222, DENIED)])
    s.start()
    assert items(got)[0] == (220, 10.0)  # auth: 10 s
    time, error = items(got)[1]
    assert time == 222
    assert isinstance(error, MaxReconnectAttemptsExceeded)
    assert error.__cause__ is DENIED
    assert b.stats().given_up == 1


def test_network_gives_up_after_five_consecutive_failures() -> None:
    s = TestScheduler()
    b = make(s)
    got = watch(s, b, [(t, REFUSED) for t in (210, 213, 217, 223, 233)])
    s.start()
    assert items(got)[:4] == [(211, 1.0), (215, 2.0), (221, 4.0), (231, 8.0)]
    assert isinstance(items(got)[4][1], MaxReconnectAttemptsExceeded)
    assert items(got)[4][0] == 233
    assert items(got)[4][1].attempts == 4


def test_closed_open_half_open_closed() -> None:
    s = TestScheduler()
    b = make(s, failure_threshold=3, reset_timeout=10.0, categories=FOREVER)
    seen = states(s, b)
    got = watch(s, b, [(210, REFUSED), (212, REFUSED), (214, REFUSED)])
    s.start()
    # two retries, the third failure opens: no dial until 224, the probe, stable at 229
    assert [t for t, _ in items(got)] == [211, 213, 224]
    assert seen == [(0, CLOSED), (214, OPEN), (224, HALF), (229, CLOSED)]
    st = b.stats()
    assert (st.opened, st.closed, st.probes, st.successes, st.consecutive) == (1, 1, 1, 1, 0)


def test_failed_probe_reopens() -> None:
    s = TestScheduler()
    b = make(s, failure_threshold=3, reset_timeout=10.0, categories=FOREVER)
    seen = states(s, b)
    failures = [(210, REFUSED), (212, REFUSED), (214, REFUSED), (226, REFUSED)]
    got = watch(s, b, failures)
    s.start()
    assert [t for t, _ in items(got)] == [211, 213, 224, 236]
    assert seen == [(0, CLOSED), (214, OPEN), (224, HALF), (226, OPEN), (236, HALF), (241, CLOSED)]


def test_success_in_closed_resets_the_counts() -> None:
    s = TestScheduler()
    b = make(s, failure_threshold=100)
    got = watch(s, b, [(210, REFUSED), (212, REFUSED), (230, REFUSED)])
    s.start()
    # 1 s, then 2 s; the retry at 214 stayed up 5 s (219): the next wait is 1 s again
    assert items(got) == [(211, 1.0), (214, 2.0), (231, 1.0)]
    assert b.stats().successes == 2  # at 219 and 236


def test_a_flap_is_not_a_success() -> None:
    s = TestScheduler()
    b = make(s, failure_threshold=100)
    got = watch(s, b, [(210, REFUSED), (213, REFUSED), (218, REFUSED)])
    s.start()
    assert items(got) == [(211, 1.0), (215, 2.0), (222, 4.0)]


def test_shared_breaker_counts_and_probe_budget() -> None:
    s = TestScheduler()
    b = make(s, failure_threshold=3, reset_timeout=10.0, half_open_max_calls=1, categories=FOREVER)
    seen = states(s, b)
    a = watch(s, b, [(210, REFUSED), (213, REFUSED)])
    c = watch(s, b, [(211, REFUSED), (215, REFUSED)])
    s.start()
    # failures 210 (a), 211 (c), 213 (a): the third, shared, opens the circuit for both
    assert seen[:2] == [(0, CLOSED), (213, OPEN)]
    # one probe (a, the first held back) at 223; c waits until it stays up (228)
    assert [t for t, _ in items(a)] == [211, 223]
    assert [t for t, _ in items(c)] == [212, 228]
    assert seen[2:] == [(223, HALF), (228, CLOSED)]
    assert b.stats().probes == 1


def test_probe_budget_lets_several_through() -> None:
    s = TestScheduler()
    b = make(s, failure_threshold=2, reset_timeout=10.0, half_open_max_calls=2, categories=FOREVER)
    a = watch(s, b, [(210, REFUSED)])
    c = watch(s, b, [(211, REFUSED)])
    d = watch(s, b, [(212, REFUSED)])
    s.start()
    # c's failure at 211 opens the circuit just before a's wait ends: a is held too
    assert [t for t, _ in items(a)] == [221]  # probe
    assert [t for t, _ in items(c)] == [221]  # probe
    assert [t for t, _ in items(d)] == [226]  # over the budget: once a probe stayed up
    assert b.stats().probes == 2


def test_probe_without_a_verdict_in_probe_timeout_reopens() -> None:
    s = TestScheduler()
    b = make(
        s,
        failure_threshold=1,
        reset_timeout=10.0,
        probe_timeout=3.0,
        stable_after=20.0,
        categories=FOREVER,
    )
    seen = states(s, b)
    watch(s, b, [(210, REFUSED)], disposed=250)
    s.start()
    assert seen[:4] == [(0, CLOSED), (210, OPEN), (220, HALF), (223, OPEN)]


def test_a_disposed_probe_frees_its_slot() -> None:
    s = TestScheduler()
    b = make(s, failure_threshold=2, reset_timeout=10.0, half_open_max_calls=1, categories=FOREVER)
    a = watch(s, b, [(210, REFUSED), (212, REFUSED)], disposed=223)
    c = watch(s, b, [(213, REFUSED)])
    s.start()
    assert [t for t, _ in items(a)] == [211, 222]  # the probe, then disposed at 223
    assert [t for t, _ in items(c)] == [223]  # gets the slot at once
    assert b.stats().waiting == 0


def test_retry_when_redials_on_release() -> None:
    s = TestScheduler()
    b = make(s, failure_threshold=3, reset_timeout=10.0, categories=FOREVER)
    source = s.create_cold_observable([ReactiveTest.on_error(1, REFUSED)])
    results = s.start(lambda: source.pipe(retry_when(b.notifier)), disposed=230)
    # dial 200, fails 201, redial 202, fails 203, redial 204, fails 205: OPEN until 215;
    # the probe fails at 216: OPEN until 226
    assert [x.subscribe for x in source.subscriptions] == [200, 202, 204, 215, 226]
    assert results.messages == []


def test_history_and_stats() -> None:
    s = TestScheduler()
    b = make(
        s, failure_threshold=100, categories={**DEFAULT_CATEGORIES, "network": FOREVER["network"]}
    )
    watch(s, b, [(210 + 5 * i, REFUSED) for i in range(12)] + [(300, BUSY)])
    s.start()
    hist = b.history
    assert len(hist) == 10
    assert hist[-1].time == 300 and hist[-1].category == "server"
    assert hist[0].time == 225 and hist[0].category == "network"
    assert "refused" in hist[0].message
    st = b.stats()
    assert st.failures == 13 and st.by_category == {"network": 12, "server": 1}


def test_failure_while_open_is_held_back() -> None:
    s = TestScheduler()
    b = make(s, failure_threshold=1, reset_timeout=10.0, categories=FOREVER)
    a = watch(s, b, [(210, REFUSED)])
    c = watch(s, b, [(212, REFUSED)])  # a connection that was up drops while OPEN
    s.start()
    assert [t for t, _ in items(a)] == [220]
    assert [t for t, _ in items(c)] == [220]


@pytest.mark.parametrize(("when", "ends"), [(205.0, 205.0), (210.5, 211.0), (212.0, 212.0)])
def test_completion_of_failures(when: float, ends: float) -> None:
    s = TestScheduler()
    b = make(s, failure_threshold=100)
    errors: Observable[Exception] = s.create_hot_observable(
        on_next(210, REFUSED), ReactiveTest.on_completed(when)
    )
    results = s.start(lambda: b.notifier(errors))
    assert items(results.messages)[-1] == (ends, "|")


def test_a_wait_that_ends_while_half_open_is_a_probe() -> None:
    s = TestScheduler()
    slow = {"network": FailureStrategy(0, 5.0, 5.0, 1.0)}
    b = make(s, failure_threshold=2, reset_timeout=1.0, categories=slow)
    seen = states(s, b)
    a = watch(s, b, [(210, REFUSED)])  # waits until 215
    watch(s, b, [(211, REFUSED)])  # opens the circuit; HALF_OPEN at 212
    s.start()
    assert [t for t, _ in items(a)] == [215]
    assert seen[:3] == [(0, CLOSED), (211, OPEN), (212, HALF)]
    assert b.stats().probes == 2  # the held one at 212, then a at 215


def test_a_success_while_open_is_ignored() -> None:
    s = TestScheduler()
    b = make(s, failure_threshold=2, reset_timeout=20.0, categories=FOREVER)
    watch(s, b, [(210, REFUSED)])  # released at 211, stays up past 216
    watch(s, b, [(212, REFUSED)])  # opens the circuit until 232
    s.advance_to(230)
    assert b.current is OPEN
    assert b.stats().successes == 0


def test_a_disposed_lone_probe_leaves_the_circuit_half_open() -> None:
    s = TestScheduler()
    b = make(s, failure_threshold=1, reset_timeout=10.0, probe_timeout=3.0, categories=FOREVER)
    seen = states(s, b)
    watch(s, b, [(210, REFUSED)], disposed=221)  # the probe at 220, gone at 221
    s.start()
    assert seen == [(0, CLOSED), (210, OPEN), (220, HALF)]  # no verdict, nothing to judge
