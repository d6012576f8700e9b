"""Tests for rx_honeybee.hot: the hot, fault-isolating, optionally replaying stream."""

from __future__ import annotations

from typing import Any

import pytest
from reactivex import Observer
from reactivex import operators as ops

from rx_honeybee.hot import HotStream


class Sink:
    """Records every notification it gets, in order, as (kind, value) pairs."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def on_next(self, value: Any) -> None:
        self.events.append(("next", value))

    def on_error(self, error: Exception) -> None:
        self.events.append(("error", error))

    def on_completed(self) -> None:
        self.events.append(("completed", None))

    def attach(self, stream: HotStream[Any]) -> Any:
        return stream.subscribe(self.on_next, self.on_error, self.on_completed)


class Boom(Exception):
    """The fault a misbehaving subscriber raises."""


def faults() -> tuple[list[Exception], Any]:
    seen: list[Exception] = []
    return seen, seen.append


# --- multicast, hot -----------------------------------------------------------------------


def test_items_reach_every_current_subscriber_in_order() -> None:
    stream: HotStream[int] = HotStream()
    a, b = Sink(), Sink()
    a.attach(stream)
    b.attach(stream)
    stream.on_next(1)
    stream.on_next(2)
    assert a.events == [("next", 1), ("next", 2)]
    assert b.events == [("next", 1), ("next", 2)]


def test_a_late_subscriber_misses_earlier_items() -> None:
    stream: HotStream[int] = HotStream()
    early, late = Sink(), Sink()
    early.attach(stream)
    stream.on_next(1)
    late.attach(stream)
    stream.on_next(2)
    assert early.events == [("next", 1), ("next", 2)]
    assert late.events == [("next", 2)]


def test_items_pushed_without_subscribers_are_dropped() -> None:
    stream: HotStream[int] = HotStream()
    stream.on_next(1)
    sink = Sink()
    sink.attach(stream)
    assert sink.events == []


# --- fault isolation ----------------------------------------------------------------------


def test_a_raising_subscriber_is_reported_and_the_others_still_receive() -> None:
    seen, on_fault = faults()
    stream: HotStream[int] = HotStream(on_fault)
    before, after = Sink(), Sink()
    before.attach(stream)
    error = Boom("bad subscriber")

    def bad(_: int) -> None:
        raise error

    stream.subscribe(bad)
    after.attach(stream)
    stream.on_next(1)  # must not raise into the producer
    assert seen == [error]
    assert before.events == [("next", 1)]
    assert after.events == [("next", 1)]


def test_a_faulty_subscriber_still_gets_later_items() -> None:
    seen, on_fault = faults()
    stream: HotStream[int] = HotStream(on_fault)
    received: list[int] = []

    def flaky(value: int) -> None:
        received.append(value)
        if value == 1:
            raise Boom(str(value))

    stream.subscribe(flaky)
    stream.on_next(1)
    stream.on_next(2)
    assert received == [1, 2]
    assert [str(e) for e in seen] == ["1"]


def test_faults_are_logged_when_no_on_fault_is_given(caplog: pytest.LogCaptureFixture) -> None:
    stream: HotStream[int] = HotStream()

    def bad(_: int) -> None:
        raise Boom("logged")

    stream.subscribe(bad)
    with caplog.at_level("ERROR", logger="rx_honeybee.hot"):
        stream.on_next(1)
    logged = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert len(logged) == 1 and isinstance(logged[0], Boom)


def test_a_subscriber_raising_in_on_completed_or_on_error_is_reported() -> None:
    seen, on_fault = faults()
    done: HotStream[int] = HotStream(on_fault)
    failed: HotStream[int] = HotStream(on_fault)
    other = Sink()

    def bad_completed() -> None:
        raise Boom("completed")

    def bad_error(_: Exception) -> None:
        raise Boom("error")

    done.subscribe(on_completed=bad_completed)
    other.attach(done)
    failed.subscribe(on_error=bad_error)
    done.on_completed()
    failed.on_error(ValueError("x"))
    assert [str(e) for e in seen] == ["completed", "error"]
    assert other.events == [("completed", None)]


def test_an_error_to_a_subscriber_without_on_error_is_reported_as_a_fault() -> None:
    seen, on_fault = faults()
    stream: HotStream[int] = HotStream(on_fault)
    stream.subscribe(lambda _: None)
    error = ValueError("terminal")
    stream.on_error(error)  # must not raise into the producer
    assert seen == [error]


# --- replay -------------------------------------------------------------------------------


def test_replay_last_gives_a_new_subscriber_the_latest_item() -> None:
    stream: HotStream[int] = HotStream(replay_last=True)
    stream.on_next(1)
    stream.on_next(2)
    sink = Sink()
    sink.attach(stream)
    stream.on_next(3)
    assert sink.events == [("next", 2), ("next", 3)]


def test_replay_last_replays_the_initial_item_before_any_push() -> None:
    stream: HotStream[str] = HotStream(replay_last=True, initial="start")
    sink = Sink()
    sink.attach(stream)
    assert sink.events == [("next", "start")]


def test_replay_last_without_initial_and_items_replays_nothing() -> None:
    stream: HotStream[int] = HotStream(replay_last=True)
    sink = Sink()
    sink.attach(stream)
    assert sink.events == []


def test_without_replay_the_initial_item_is_not_replayed() -> None:
    stream: HotStream[str] = HotStream(initial="start")
    stream.on_next("pushed")
    sink = Sink()
    sink.attach(stream)
    assert sink.events == []


def test_a_late_subscriber_after_completion_gets_the_last_item_then_completion() -> None:
    stream: HotStream[int] = HotStream(replay_last=True, initial=0)
    stream.on_next(5)
    stream.on_completed()
    sink = Sink()
    disposable = sink.attach(stream)
    assert sink.events == [("next", 5), ("completed", None)]
    disposable.dispose()  # harmless
    assert stream.observed is False


def test_a_late_subscriber_after_an_error_gets_the_last_item_then_the_error() -> None:
    stream: HotStream[int] = HotStream(replay_last=True)
    stream.on_next(5)
    error = ValueError("gone")
    stream.on_error(error)
    sink = Sink()
    sink.attach(stream)
    assert sink.events == [("next", 5), ("error", error)]


def test_a_replaying_stream_ignores_items_after_termination() -> None:
    stream: HotStream[int] = HotStream(replay_last=True)
    stream.on_next(1)
    stream.on_completed()
    stream.on_next(2)
    sink = Sink()
    sink.attach(stream)
    assert sink.events == [("next", 1), ("completed", None)]


# --- terminal semantics -------------------------------------------------------------------


def test_on_completed_reaches_every_subscriber_once_and_stops_the_stream() -> None:
    stream: HotStream[int] = HotStream()
    a, b = Sink(), Sink()
    a.attach(stream)
    b.attach(stream)
    assert stream.is_stopped is False
    stream.on_completed()
    stream.on_completed()
    stream.on_error(ValueError("late"))
    stream.on_next(1)
    assert stream.is_stopped is True
    assert a.events == [("completed", None)]
    assert b.events == [("completed", None)]


def test_on_error_reaches_every_subscriber_once_and_stops_the_stream() -> None:
    stream: HotStream[int] = HotStream()
    a, b = Sink(), Sink()
    a.attach(stream)
    b.attach(stream)
    error = ValueError("first")
    stream.on_error(error)
    stream.on_error(ValueError("second"))
    stream.on_completed()
    stream.on_next(1)
    assert stream.is_stopped is True
    assert a.events == [("error", error)]
    assert b.events == [("error", error)]


def test_a_late_subscriber_without_replay_gets_only_the_terminal_notification() -> None:
    completed: HotStream[int] = HotStream()
    completed.on_next(1)
    completed.on_completed()
    failed: HotStream[int] = HotStream()
    error = ValueError("x")
    failed.on_error(error)
    a, b = Sink(), Sink()
    a.attach(completed)
    b.attach(failed)
    assert a.events == [("completed", None)]
    assert b.events == [("error", error)]


# --- disposal and ``observed`` ------------------------------------------------------------


def test_dispose_removes_only_that_subscriber() -> None:
    stream: HotStream[int] = HotStream()
    a, b = Sink(), Sink()
    sub_a = a.attach(stream)
    b.attach(stream)
    stream.on_next(1)
    sub_a.dispose()
    stream.on_next(2)
    stream.on_completed()
    assert a.events == [("next", 1)]
    assert b.events == [("next", 1), ("next", 2), ("completed", None)]


def test_observed_tracks_whether_anyone_is_subscribed() -> None:
    stream: HotStream[int] = HotStream()
    assert stream.observed is False
    first = stream.subscribe(lambda _: None)
    second = stream.subscribe(lambda _: None)
    assert stream.observed is True
    first.dispose()
    assert stream.observed is True
    second.dispose()
    assert stream.observed is False
    stream.subscribe(lambda _: None)
    assert stream.observed is True
    stream.on_completed()
    assert stream.observed is False


def test_observed_is_false_after_an_error() -> None:
    stream: HotStream[int] = HotStream()
    stream.subscribe(lambda _: None, lambda _: None)
    stream.on_error(ValueError("x"))
    assert stream.observed is False


def test_a_subscriber_disposed_during_a_push_does_not_get_that_item() -> None:
    # the module promises nothing arrives after disposal, also when the disposal happens
    # in an earlier subscriber's on_next, in the middle of a push
    stream: HotStream[int] = HotStream()
    victim = Sink()
    subscriptions: list[Any] = []

    def disposer(_: int) -> None:
        subscriptions[0].dispose()

    stream.subscribe(disposer)
    subscriptions.append(victim.attach(stream))
    stream.on_next(1)
    assert victim.events == []


def test_nothing_arrives_after_completion_triggered_during_a_push() -> None:
    # a subscriber that ends the stream while an item is being pushed: the subscribers after
    # it must not see that item after their on_completed (Rx grammar: nothing after the end)
    stream: HotStream[int] = HotStream()
    later = Sink()

    def finisher(_: int) -> None:
        stream.on_completed()

    stream.subscribe(finisher)
    later.attach(stream)
    stream.on_next(1)
    assert later.events[-1] == ("completed", None)
    assert later.events.count(("completed", None)) == 1


def test_disposing_twice_is_harmless() -> None:
    stream: HotStream[int] = HotStream()
    sink = Sink()
    subscription = sink.attach(stream)
    subscription.dispose()
    subscription.dispose()
    stream.on_next(1)
    assert sink.events == []
    assert stream.observed is False


# --- subscribing forms --------------------------------------------------------------------


def test_subscribing_with_an_observer_object() -> None:
    stream: HotStream[int] = HotStream()
    events: list[Any] = []
    observer: Observer[int] = Observer(
        events.append, lambda e: events.append(("error", e)), lambda: events.append("done")
    )
    subscription = stream.subscribe(observer)
    stream.on_next(1)
    stream.on_completed()
    subscription.dispose()
    assert events == [1, "done"]


def test_subscribing_with_an_observer_object_receives_errors() -> None:
    stream: HotStream[int] = HotStream()
    sink = Sink()
    stream.subscribe(Observer(sink.on_next, sink.on_error, sink.on_completed))
    error = ValueError("x")
    stream.on_error(error)
    assert sink.events == [("error", error)]


def test_subscribing_with_keyword_callbacks_only() -> None:
    stream: HotStream[int] = HotStream()
    done: list[bool] = []
    stream.subscribe(on_completed=lambda: done.append(True))
    stream.on_next(1)  # no on_next given: ignored
    stream.on_completed()
    assert done == [True]


# --- as a reactivex source ----------------------------------------------------------------


def test_works_as_a_source_for_reactivex_operators() -> None:
    stream: HotStream[int] = HotStream()
    sink = Sink()

    def times_ten(x: int) -> int:
        return x * 10

    def over_ten(x: int) -> bool:
        return x > 10

    stream.pipe(ops.map(times_ten), ops.filter(over_ten)).subscribe(
        sink.on_next, sink.on_error, sink.on_completed
    )
    stream.on_next(1)
    stream.on_next(2)
    stream.on_next(3)
    stream.on_completed()
    assert sink.events == [("next", 20), ("next", 30), ("completed", None)]


def test_disposing_an_operator_chain_unsubscribes_from_the_stream() -> None:
    stream: HotStream[int] = HotStream()
    sink = Sink()
    subscription = stream.pipe(ops.map(str)).subscribe(sink.on_next)
    assert stream.observed is True
    stream.on_next(1)
    subscription.dispose()
    assert stream.observed is False
    stream.on_next(2)
    assert sink.events == [("next", "1")]


def test_a_subscriber_behind_an_operator_raising_is_isolated_too() -> None:
    seen, on_fault = faults()
    stream: HotStream[int] = HotStream(on_fault)
    sink = Sink()

    def bad(_: str) -> None:
        raise Boom("downstream")

    stream.pipe(ops.map(str)).subscribe(bad)
    sink.attach(stream)
    stream.on_next(1)
    assert [str(e) for e in seen] == ["downstream"]
    assert sink.events == [("next", 1)]


def test_a_replaying_stream_replays_through_operators() -> None:
    stream: HotStream[int] = HotStream(replay_last=True, initial=1)
    sink = Sink()

    def negate(x: int) -> int:
        return -x

    stream.pipe(ops.map(negate)).subscribe(sink.on_next)
    assert sink.events == [("next", -1)]
