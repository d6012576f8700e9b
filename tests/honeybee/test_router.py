"""Tests for rx_honeybee.router: the guarded, shared group_by and the per-label channels."""

from __future__ import annotations

from typing import Any

import pytest
from reactivex import GroupedObservable, Observable
from reactivex import operators as ops
from reactivex.subject import Subject
from reactivex.testing import TestScheduler
from reactivex.testing.marbles import marbles_testing
from reactivex.testing.subscription import Subscription

from rx_honeybee import router
from rx_honeybee.errors import UnknownEnvelopeType
from rx_honeybee.router import route
from rx_roots import (
    InvalidEnvelope,
    InvalidJSON,
    RootsError,
    WrongFieldType,
)

from .envelopes import (
    BAD,
    COUNT1,
    E1,
    E2,
    EOSE1,
    LOOKUP,
    NOTICE1,
    OK1,
    Group,
    Sink,
    on_completed,
    on_next,
    subscribe,
    tagged,
)


def test_exports() -> None:
    assert router.__all__ == ["ErrorHandler", "route"]


# -- route ----------------------------------------------------------------------------------


def test_route_groups_envelopes_by_label_marbles() -> None:
    with marbles_testing(timespan=1.0) as (start, _cold, hot, exp):
        source = hot("-a-o-b-e-|", LOOKUP, None)
        expected = exp(
            "-A-O-B-E-|",
            {
                "A": ("EVENT", E1),
                "O": ("OK", OK1),
                "B": ("EVENT", E2),
                "E": ("EOSE", EOSE1),
            },
            None,
        )
        assert start(tagged(source)) == expected


def test_route_emits_one_group_per_label_in_order_of_appearance() -> None:
    source: Subject[str | bytes] = Subject()
    groups: list[Group] = []
    source.pipe(route()).subscribe(groups.append)
    for env in (E1, OK1, E2, EOSE1, OK1, NOTICE1):
        source.on_next(env)
    assert [g.key for g in groups] == ["EVENT", "OK", "EOSE", "NOTICE"]
    assert all(isinstance(g, GroupedObservable) for g in groups)


def test_route_group_carries_its_label_envelopes() -> None:
    source: Subject[str | bytes] = Subject()
    events = Sink()
    oks = Sink()

    def on_group(group: Group) -> None:
        if group.key == "EVENT":
            events.subscribe(group)
        elif group.key == "OK":
            oks.subscribe(group)

    source.pipe(route()).subscribe(on_group)
    for env in (E1, OK1, E2):
        source.on_next(env)
    assert events.items == [E1, E2]
    assert oks.items == [OK1]


def test_route_accepts_bytes_envelopes() -> None:
    source: Subject[str | bytes] = Subject()
    pairs: list[tuple[str, str | bytes]] = []
    tagged(source).subscribe(pairs.append)
    source.on_next(E1.encode())
    source.on_next(OK1.encode())
    assert pairs == [("EVENT", E1.encode()), ("OK", OK1.encode())]


def test_route_is_shared_one_upstream_subscription() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(on_next(210, E1), on_next(220, OK1), on_completed(300))
    routed = source.pipe(route())
    first: list[Group] = []
    second: list[Group] = []
    scheduler.schedule_absolute(200, lambda *_: routed.subscribe(first.append))
    scheduler.schedule_absolute(200, lambda *_: routed.subscribe(second.append))
    scheduler.start()
    assert source.subscriptions == [subscribe(200, 300)]
    assert [g.key for g in first] == ["EVENT", "OK"]
    assert first == second  # the very same group objects


def test_route_each_call_is_its_own_pipeline() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(on_next(210, E1))
    scheduler.schedule_absolute(200, lambda *_: source.pipe(route()).subscribe())
    scheduler.schedule_absolute(200, lambda *_: source.pipe(route()).subscribe())
    scheduler.start()
    assert source.subscriptions == [Subscription(200), Subscription(200)]  # never disposed


def test_route_late_subscriber_first_receives_the_open_groups() -> None:
    source: Subject[str | bytes] = Subject()
    routed = source.pipe(route())
    early: list[Group] = []
    routed.subscribe(early.append)
    source.on_next(E1)
    source.on_next(OK1)
    late: list[Group] = []
    late_events = Sink()

    def on_late_group(group: Group) -> None:
        late.append(group)
        if group.key == "EVENT":
            late_events.subscribe(group)

    routed.subscribe(on_late_group)
    assert late == early  # replayed, same objects
    source.on_next(EOSE1)
    source.on_next(E2)
    assert [g.key for g in late] == ["EVENT", "OK", "EOSE"]
    assert late_events.items == [E2]  # hot: the group's earlier items are not replayed


def test_route_unreadable_label_is_reported_and_routing_continues() -> None:
    faults: list[Exception] = []
    with marbles_testing(timespan=1.0) as (start, _cold, hot, exp):
        source = hot("-a-x-b-|", LOOKUP, None)

        def create() -> Observable[tuple[str, str | bytes]]:
            def tag(group: Group) -> Observable[tuple[str, str | bytes]]:
                return group.pipe(ops.map(lambda env: (group.key, env)))

            return source.pipe(route(faults.append), ops.flat_map(tag))

        expected = exp("-A---B-|", {"A": ("EVENT", E1), "B": ("EVENT", E2)}, None)
        assert start(create) == expected
    assert len(faults) == 1
    fault = faults[0]
    assert isinstance(fault, UnknownEnvelopeType)
    assert isinstance(fault.__cause__, InvalidJSON)
    assert fault.envelope == BAD
    assert str(fault) == f"unknown envelope type: {fault.__cause__}"


@pytest.mark.parametrize(
    ("envelope", "cause"),
    [
        ("not json", InvalidJSON),
        (b"\xff\xfe", InvalidJSON),
        ('{"EVENT": 1}', InvalidEnvelope),
        ("[]", InvalidEnvelope),
        ("[1, 2]", WrongFieldType),
        ("[null]", WrongFieldType),
        ('"EVENT"', InvalidEnvelope),
    ],
)
def test_route_reports_each_kind_of_unreadable_label(
    envelope: str | bytes, cause: type[RootsError]
) -> None:
    faults: list[Exception] = []
    source: Subject[str | bytes] = Subject()
    groups: list[Group] = []
    outcome = Sink()
    outcome.subscribe(source.pipe(route(faults.append)))
    source.pipe(route()).subscribe(groups.append)
    source.on_next(envelope)
    source.on_next(E1)
    assert [type(f) for f in faults] == [UnknownEnvelopeType]
    assert isinstance(faults[0].__cause__, cause)
    assert isinstance(faults[0].__cause__, RootsError)
    assert [g.key for g in outcome.items] == ["EVENT"]
    assert outcome.errors == []
    assert not outcome.completed
    assert [g.key for g in groups] == ["EVENT"]


def test_route_without_handler_drops_unreadable_envelopes_quietly() -> None:
    source: Subject[str | bytes] = Subject()
    pairs: list[tuple[str, str | bytes]] = []
    errors: list[Exception] = []
    tagged(source).subscribe(pairs.append, errors.append)
    source.on_next(BAD)
    source.on_next(E1)
    assert pairs == [("EVENT", E1)]
    assert errors == []


def test_route_with_labels_drops_other_labels_before_grouping() -> None:
    faults: list[Exception] = []
    source: Subject[str | bytes] = Subject()
    groups: list[Group] = []
    source.pipe(route(faults.append, labels=["EVENT", "COUNT"])).subscribe(groups.append)
    for env in (OK1, E1, '["FOO"]', COUNT1, NOTICE1):
        source.on_next(env)
    assert [g.key for g in groups] == ["EVENT", "COUNT"]
    assert faults == []  # an unwanted label is not a fault


def test_route_completion_reaches_groups_then_the_group_stream() -> None:
    source: Subject[str | bytes] = Subject()
    order: list[str] = []

    def on_group(group: Group) -> None:
        group.subscribe(on_completed=lambda: order.append(group.key))

    source.pipe(route()).subscribe(on_group, on_completed=lambda: order.append("stream"))
    source.on_next(E1)
    source.on_next(OK1)
    source.on_completed()
    assert order == ["EVENT", "OK", "stream"]


def test_route_upstream_error_reaches_groups_and_the_group_stream() -> None:
    with marbles_testing(timespan=1.0) as (start, _cold, hot, exp):
        boom = ConnectionError("socket died")
        source = hot("-a-o-#", LOOKUP, boom)
        expected = exp("-A-O-#", {"A": ("EVENT", E1), "O": ("OK", OK1)}, boom)
        assert start(tagged(source)) == expected


def test_route_upstream_error_is_the_same_object_in_every_group() -> None:
    source: Subject[str | bytes] = Subject()
    seen: list[tuple[str, Exception]] = []

    def on_group(group: Group) -> None:
        group.subscribe(on_error=lambda err: seen.append((group.key, err)))

    source.pipe(route()).subscribe(on_group, lambda err: seen.append(("stream", err)))
    source.on_next(E1)
    source.on_next(OK1)
    boom = ConnectionError("socket died")
    source.on_error(boom)
    assert seen == [("EVENT", boom), ("OK", boom), ("stream", boom)]


def test_route_unexpected_exception_in_label_reading_ends_the_stream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Not bad input but a bug: reported downstream, Rx-style, like group_by would.
    def broken(env: str | bytes) -> str:
        if env == BAD:
            raise RuntimeError("bug")
        return "EVENT"

    monkeypatch.setattr(router, "get_label", broken)
    faults: list[Exception] = []
    source: Subject[str | bytes] = Subject()
    outcome = Sink()
    events = Sink()
    outcome.subscribe(source.pipe(route(faults.append)))
    source.on_next(E1)
    events.subscribe(outcome.items[0])
    source.on_next(BAD)
    assert faults == []
    assert [type(e) for e in outcome.errors] == [RuntimeError]
    assert [type(e) for e in events.errors] == [RuntimeError]


def test_route_resubscription_after_full_dispose_starts_a_new_run() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(on_next(210, E1), on_next(410, E2))
    routed = source.pipe(route())
    runs: list[list[Group]] = [[], []]
    subs: list[Any] = []
    scheduler.schedule_absolute(200, lambda *_: subs.append(routed.subscribe(runs[0].append)))
    scheduler.schedule_absolute(300, lambda *_: subs[0].dispose())
    scheduler.schedule_absolute(400, lambda *_: subs.append(routed.subscribe(runs[1].append)))
    scheduler.start()
    assert source.subscriptions == [subscribe(200, 300), Subscription(400)]
    assert [g.key for g in runs[0]] == ["EVENT"]
    assert [g.key for g in runs[1]] == ["EVENT"]
    assert runs[0][0] is not runs[1][0]  # no dead group replayed from the first run


def test_route_upstream_stays_subscribed_while_a_group_is() -> None:
    # As with reactivex's group_by: disposing the group stream keeps subscribed groups alive.
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(on_next(210, E1), on_next(310, E2))
    events = Sink()
    holder: list[Any] = []

    def on_group(group: Group) -> None:
        holder.append(events.subscribe(group))

    subs: list[Any] = []
    scheduler.schedule_absolute(
        200, lambda *_: subs.append(source.pipe(route()).subscribe(on_group))
    )
    scheduler.schedule_absolute(250, lambda *_: subs[0].dispose())
    scheduler.schedule_absolute(350, lambda *_: holder[0].dispose())
    scheduler.start()
    assert events.items == [E1, E2]
    assert source.subscriptions == [subscribe(200, 350)]


def test_route_subscriber_joining_during_completion_gets_groups_then_completion() -> None:
    source: Subject[str | bytes] = Subject()
    routed = source.pipe(route())
    late = Sink()
    routed.subscribe(on_completed=lambda: late.subscribe(routed))
    source.on_next(E1)
    source.on_completed()
    assert [g.key for g in late.items] == ["EVENT"]
    assert late.completed


def test_route_after_upstream_completed_new_subscriber_completes_at_once() -> None:
    source: Subject[str | bytes] = Subject()
    routed = source.pipe(route())
    routed.subscribe()
    source.on_next(E1)
    source.on_completed()
    late = Sink()
    late.subscribe(routed)
    assert late.items == []
    assert late.completed
