"""Tests for rx_honeybee.channels: one hot stream per label over a shared dispatcher."""

from __future__ import annotations

import importlib
from typing import Any

from reactivex import Observable
from reactivex import operators as ops
from reactivex.subject import Subject
from reactivex.testing import TestScheduler
from reactivex.testing.marbles import marbles_testing

from rx_honeybee.channels import channels
from rx_honeybee.errors import UnknownEnvelopeType
from rx_roots import WrongFieldType, standard_labels

from .envelopes import (
    BAD,
    COUNT1,
    E1,
    E2,
    EOSE1,
    LOOKUP,
    OK1,
    Sink,
    on_completed,
    on_next,
    subscribe,
)


def test_exports() -> None:
    channels_module = importlib.import_module("rx_honeybee.channels")
    assert channels_module.__all__ == ["EVENT_FRONT", "EVENT_FRONT_BYTES", "ChannelHub", "channels"]


def test_channels_has_one_key_per_standard_label() -> None:
    chans = channels(Subject())
    assert set(chans) == set(standard_labels())
    assert all(isinstance(ch, Observable) for ch in chans.values())


def test_channels_adds_extra_labels() -> None:
    chans = channels(Subject(), labels=["COUNT", "NEG-MSG", "EVENT"])
    assert set(chans) == set(standard_labels()) | {"COUNT", "NEG-MSG"}


def test_channels_deliver_each_label_to_its_channel_marbles() -> None:
    with marbles_testing(timespan=1.0) as (start, _cold, hot, exp):
        source = hot("-a-o-b-e-c-|", LOOKUP, None)
        chans = channels(source, labels=["COUNT"])

        def create() -> Observable[tuple[str, str | bytes]]:
            return chans["EVENT"].pipe(
                ops.map(lambda env: ("EVENT", env)),
                ops.merge(
                    chans["OK"].pipe(ops.map(lambda env: ("OK", env))),
                    chans["COUNT"].pipe(ops.map(lambda env: ("COUNT", env))),
                ),
            )

        expected = exp(
            "-A-O-B---C-|",
            {
                "A": ("EVENT", E1),
                "O": ("OK", OK1),
                "B": ("EVENT", E2),
                "C": ("COUNT", COUNT1),
            },
            None,
        )
        assert start(create) == expected


def test_channels_share_one_upstream_subscription() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(
        on_next(210, E1), on_next(220, OK1), on_next(230, EOSE1), on_completed(300)
    )
    chans = channels(source)
    sinks = {label: Sink() for label in chans}
    for label, chan in chans.items():
        scheduler.schedule_absolute(200, lambda *_, s=sinks[label], c=chan: s.subscribe(c))
    scheduler.start()
    assert source.subscriptions == [subscribe(200, 300)]
    assert sinks["EVENT"].items == [E1]
    assert sinks["OK"].items == [OK1]
    assert sinks["EOSE"].items == [EOSE1]
    assert sinks["NOTICE"].items == []


def test_channel_subscribed_after_its_group_opened_gets_later_items() -> None:
    # The group_by pitfall: the EVENT group opens while only OK is subscribed.
    source: Subject[str | bytes] = Subject()
    chans = channels(source)
    oks = Sink()
    oks.subscribe(chans["OK"])
    source.on_next(E1)  # opens the EVENT group; nobody listens to EVENT yet
    source.on_next(OK1)
    events = Sink()
    events.subscribe(chans["EVENT"])
    source.on_next(E2)
    source.on_next(OK1)
    assert events.items == [E2]  # hot: E1 came before the subscription
    assert oks.items == [OK1, OK1]


def test_two_subscribers_to_one_channel_both_get_items() -> None:
    source: Subject[str | bytes] = Subject()
    chans = channels(source)
    first, second = Sink(), Sink()
    first.subscribe(chans["EVENT"])
    second.subscribe(chans["EVENT"])
    source.on_next(E1)
    assert first.items == second.items == [E1]


def test_disposing_one_channel_leaves_the_others_running() -> None:
    source: Subject[str | bytes] = Subject()
    chans = channels(source)
    events, oks = Sink(), Sink()
    events_sub = events.subscribe(chans["EVENT"])
    oks.subscribe(chans["OK"])
    source.on_next(E1)
    source.on_next(OK1)
    events_sub.dispose()
    source.on_next(E2)
    source.on_next(OK1)
    assert events.items == [E1]
    assert oks.items == [OK1, OK1]


def test_disposing_every_channel_unsubscribes_upstream() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(on_next(210, E1), on_next(260, OK1))
    chans = channels(source)
    subs: list[Any] = []
    scheduler.schedule_absolute(200, lambda *_: subs.append(chans["EVENT"].subscribe()))
    scheduler.schedule_absolute(200, lambda *_: subs.append(chans["OK"].subscribe()))
    scheduler.schedule_absolute(250, lambda *_: subs[0].dispose())
    scheduler.schedule_absolute(300, lambda *_: subs[1].dispose())
    scheduler.start()
    assert source.subscriptions == [subscribe(200, 300)]


def test_channels_drop_labels_without_a_channel() -> None:
    faults: list[Exception] = []
    source: Subject[str | bytes] = Subject()
    chans = channels(source, on_error=faults.append)
    sinks = {label: Sink() for label in chans}
    for label, chan in chans.items():
        sinks[label].subscribe(chan)
    source.on_next(COUNT1)  # no COUNT channel asked for
    source.on_next('["FOO",1]')
    source.on_next(E1)
    assert all(s.items == [] for label, s in sinks.items() if label != "EVENT")
    assert sinks["EVENT"].items == [E1]
    assert faults == []


def test_channels_report_unreadable_labels_and_keep_going() -> None:
    faults: list[Exception] = []
    source: Subject[str | bytes] = Subject()
    chans = channels(source, on_error=faults.append)
    events = Sink()
    events.subscribe(chans["EVENT"])
    source.on_next(E1)
    source.on_next("[1]")
    source.on_next(E2)
    assert events.items == [E1, E2]
    assert events.errors == []
    assert len(faults) == 1
    assert isinstance(faults[0], UnknownEnvelopeType)
    assert isinstance(faults[0].__cause__, WrongFieldType)


def test_channels_report_each_unreadable_envelope_once_however_many_channels() -> None:
    faults: list[Exception] = []
    source: Subject[str | bytes] = Subject()
    for chan in channels(source, on_error=faults.append).values():
        chan.subscribe()
    source.on_next(BAD)
    assert len(faults) == 1


def test_completion_reaches_every_channel() -> None:
    with marbles_testing(timespan=1.0) as (start, _cold, hot, exp):
        source = hot("-a-o-|", LOOKUP, None)
        chans = channels(source)
        notices = Sink()
        notices.subscribe(chans["NOTICE"])  # never saw an envelope: completes all the same
        assert start(chans["EVENT"]) == exp("-a---|", LOOKUP, None)
    assert notices.completed
    assert notices.items == []


def test_completion_reaches_a_channel_whose_group_opened() -> None:
    source: Subject[str | bytes] = Subject()
    chans = channels(source)
    events, oks = Sink(), Sink()
    events.subscribe(chans["EVENT"])
    oks.subscribe(chans["OK"])
    source.on_next(E1)
    source.on_completed()
    assert events.completed and oks.completed
    assert events.items == [E1]


def test_upstream_error_reaches_every_channel() -> None:
    with marbles_testing(timespan=1.0) as (start, _cold, hot, exp):
        boom = ConnectionError("socket died")
        source = hot("-a-#", LOOKUP, boom)
        chans = channels(source)
        oks = Sink()
        oks.subscribe(chans["OK"])
        assert start(chans["EVENT"]) == exp("-a-#", LOOKUP, boom)
    assert oks.errors == [boom]


def test_upstream_error_reaches_a_channel_once() -> None:
    source: Subject[str | bytes] = Subject()
    events = Sink()
    events.subscribe(channels(source)["EVENT"])
    source.on_next(E1)  # the channel is now subscribed to both the groups and the group
    boom = ConnectionError("socket died")
    source.on_error(boom)
    assert events.errors == [boom]


def test_channel_subscribed_after_messages_completed_completes_at_once() -> None:
    source: Subject[str | bytes] = Subject()
    chans = channels(source)
    source.on_completed()
    events = Sink()
    events.subscribe(chans["EVENT"])
    assert events.completed
    assert events.items == []


def test_channels_are_lazy() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(on_next(210, E1))
    channels(source)
    scheduler.start()
    assert source.subscriptions == []
