"""The replay policy alone (no connection): bounds, order, confirmation, loss, expiry."""

from __future__ import annotations

import dataclasses

import pytest
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.testing import TestScheduler

from rx_honeybee.errors import HoneybeeError, InvalidState
from rx_mana.errors import ReplayGivenUp
from rx_mana.replay import ReplayBuffer, ReplayStats, Stage, event_id_of


def event(event_id: str) -> str:
    return f'["EVENT",{{"id":"{event_id}","kind":1,"content":"x"}}]'


def make(**kwargs: object) -> tuple[ReplayBuffer, TestScheduler]:
    scheduler = TestScheduler()
    return ReplayBuffer(**kwargs, scheduler=scheduler), scheduler  # type: ignore[arg-type]


def reasons(errors: list[ReplayGivenUp]) -> list[tuple[str, str, int]]:
    return [(e.envelope, e.reason, e.attempts) for e in errors]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_messages": 0},
        {"max_attempts": 0},
        {"batch_size": 0},
        {"max_age": 0},
        {"max_age": -1.0},
        {"max_age": float("nan")},
        {"batch_delay": -0.1},
        {"batch_delay": float("nan")},
    ],
)
def test_invalid_configuration_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ReplayBuffer(**kwargs)  # type: ignore[arg-type]


def test_defaults_are_the_seeds() -> None:
    buffer = ReplayBuffer()
    assert (buffer.max_messages, buffer.max_age, buffer.max_attempts) == (1000, 300.0, 3)
    assert (buffer.batch_size, buffer.batch_delay) == (50, 0.1)
    assert buffer.stats() == ReplayStats(0, 0, 0, 0, 0, 0, 0)


def test_replay_order_is_priority_then_age() -> None:
    buffer, scheduler = make()
    for env, priority in [("a", 0), ("b", 2), ("c", None), ("d", 2), ("e", 1), ("f", -1)]:
        scheduler.advance_by(1)
        assert buffer.hold(env, priority) == []
    assert buffer.order() == ["b", "d", "e", "a", "c", "f"]
    taken = []
    while (held := buffer.take()) is not None:
        taken.append((held.envelope, held.attempts, held.stage))
    assert taken == [(env, 1, Stage.QUEUED) for env in "bdeacf"]
    assert buffer.stats().replayed == 6 and len(buffer) == 0


def test_a_full_buffer_evicts_the_lowest_priority_then_the_oldest() -> None:
    buffer, _ = make(max_messages=3)
    buffer.hold("old-low", 0)
    buffer.hold("high", 5)
    buffer.hold("new-low", 0)
    assert reasons(buffer.hold("mid", 1)) == [("old-low", "evicted", 0)]
    assert reasons(buffer.hold("newest-low", 0)) == [("new-low", "evicted", 0)]
    # the newcomer itself is the lowest priority: it is the one evicted
    assert reasons(buffer.hold("lowest", -3)) == [("lowest", "evicted", 0)]
    assert buffer.order() == ["high", "mid", "newest-low"]
    stats = buffer.stats()
    assert (stats.buffered, stats.evicted) == (3, 3)


def test_untake_puts_back_without_counting_a_replay() -> None:
    buffer, _ = make()
    buffer.hold("a", 1)
    buffer.hold("b", 0)
    held = buffer.take()
    assert held is not None and held.envelope == "a"
    buffer.untake(held)
    assert held.attempts == 0 and held.stage is Stage.WAITING
    assert buffer.order() == ["a", "b"] and buffer.stats().replayed == 0


def test_anything_but_an_event_is_confirmed_once_written() -> None:
    buffer, _ = make()
    held = buffer.track('["REQ","s",{}]')
    assert held.event_id is None and buffer.stats().in_flight == 1
    assert buffer.written(held, live=True) == []
    assert held.stage is Stage.DONE
    assert buffer.stats() == ReplayStats(0, 0, 0, 1, 0, 0, 0)
    assert buffer.written(held, live=True) == []  # a late second call changes nothing


def test_an_event_is_confirmed_by_its_ok_only() -> None:
    buffer, _ = make()
    one, two = buffer.track(event("e1")), buffer.track(event("e2"))
    buffer.written(one, live=True)
    buffer.written(two, live=True)
    assert [one.stage, two.stage] == [Stage.WRITTEN] * 2 and buffer.awaiting_ok
    assert buffer.answered("nope") == 0
    assert buffer.answered("e1") == 1 and one.stage is Stage.DONE
    assert buffer.stats().confirmed == 1 and buffer.stats().in_flight == 1
    assert buffer.answered("e2") == 1 and not buffer.awaiting_ok


def test_an_event_written_on_a_dead_socket_waits_again() -> None:
    buffer, _ = make()
    held = buffer.track(event("e1"))
    assert buffer.written(held, live=False) == []
    assert held.stage is Stage.WAITING and buffer.order() == [event("e1")]


def test_a_lost_socket_sends_unanswered_events_back_until_max_attempts() -> None:
    buffer, _ = make(max_attempts=2)
    buffer.track(event("never-sent"))  # queued: the connection's queue keeps it, not lost
    held = buffer.track(event("e1"))
    buffer.written(held, live=True)
    for attempt in (1, 2):
        assert buffer.lost() == []
        assert buffer.take() is held and held.attempts == attempt
        buffer.written(held, live=True)
    assert reasons(buffer.lost()) == [(event("e1"), "attempts", 2)]
    assert held.stage is Stage.DONE
    stats = buffer.stats()
    assert (stats.replayed, stats.given_up, stats.buffered, stats.in_flight) == (2, 1, 0, 1)


def test_refused_by_a_full_queue_a_live_send_waits_here() -> None:
    buffer, _ = make()
    held = buffer.track("a", 3)
    assert buffer.defer(held) == []
    assert held.stage is Stage.WAITING and held.attempts == 0 and buffer.order() == ["a"]


def test_expiry_gives_up_waiting_and_written_entries_not_queued_ones() -> None:
    buffer, scheduler = make(max_age=10)
    buffer.hold("w1")  # waiting, t=0
    queued = buffer.track(event("q"))  # queued, t=0: the connection writes it
    scheduler.advance_to(2)
    written = buffer.track(event("e"))
    buffer.written(written, live=True)  # t=2
    scheduler.advance_to(5)
    buffer.hold("w2")  # t=5
    assert buffer.next_expiry() == 5.0  # w1 at 10
    scheduler.advance_to(9.5)
    assert buffer.expire() == []
    scheduler.advance_to(12)
    assert reasons(buffer.expire()) == [("w1", "expired", 0), (event("e"), "expired", 0)]
    assert not buffer.awaiting_ok and queued.stage is Stage.QUEUED
    assert buffer.next_expiry() == 3.0  # w2 at 15
    scheduler.advance_to(20)
    assert reasons(buffer.expire()) == [("w2", "expired", 0)]
    assert buffer.next_expiry() is None  # only the queued one is left
    assert buffer.stats() == ReplayStats(0, 1, 0, 0, 3, 0, 0)


def test_expiry_of_an_event_leaves_others_with_the_same_id_awaiting() -> None:
    buffer, scheduler = make(max_age=10)
    first = buffer.track(event("same"))
    buffer.written(first, live=True)
    scheduler.advance_to(5)
    second = buffer.track(event("same"))
    buffer.written(second, live=True)
    scheduler.advance_to(11)
    assert len(buffer.expire()) == 1 and buffer.awaiting_ok
    assert buffer.answered("same") == 1 and second.stage is Stage.DONE


def test_abandon_gives_up_everything_unconfirmed() -> None:
    buffer, _ = make()
    buffer.hold("w")
    buffer.track("q")
    written = buffer.track(event("e"))
    buffer.written(written, live=True)
    assert reasons(buffer.abandon()) == [  # oldest first
        ("w", "closed", 0),
        ("q", "closed", 0),
        (event("e"), "closed", 0),
    ]
    assert buffer.stats() == ReplayStats(0, 0, 0, 0, 0, 0, 3)
    assert buffer.take() is None and not buffer.awaiting_ok and buffer.next_expiry() is None


def test_detach_keeps_unanswered_events_and_leaves_queued_ones_to_the_connection() -> None:
    buffer, _ = make()
    queued = buffer.track("q")
    written = buffer.track(event("e"))
    buffer.written(written, live=True)
    assert buffer.detach() == []
    assert queued.stage is Stage.DONE and buffer.order() == [event("e")]
    assert buffer.stats().in_flight == 0


def test_stale_heap_items_are_compacted() -> None:
    buffer, _ = make()
    buffer.hold("a")
    for _ in range(500):
        held = buffer.take()
        assert held is not None
        buffer.untake(held)
    assert len(buffer._order) <= 2 * len(buffer) + 64
    assert len(buffer._victims) <= 2 * len(buffer) + 64
    assert buffer.order() == ["a"]


def test_stats_are_a_frozen_snapshot() -> None:
    buffer, _ = make()
    stats = buffer.stats()
    buffer.hold("a")
    assert stats.buffered == 0 and buffer.stats().buffered == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.buffered = 5  # type: ignore[misc]


def test_given_up_is_a_honeybee_error_with_its_fields() -> None:
    error = ReplayGivenUp("x" * 200, 3)
    assert isinstance(error, HoneybeeError)
    assert (error.envelope, error.attempts, error.reason) == ("x" * 200, 3, "attempts")
    assert len(str(error)) < 140 and str(error).endswith("...")


@pytest.mark.parametrize(
    ("envelope", "expected"),
    [
        (event("abc"), "abc"),
        ('[ "EVENT" , {"id":"abc"}]', "abc"),
        ('["EVENT",{"id":5}]', None),
        ('["EVENT",{}]', None),
        ('["EVENT","sub",{"id":"abc"}]', None),  # a relay's EVENT: confirmed once written
        ('["REQ","s",{}]', None),
        ("not json", None),
    ],
)
def test_event_id_of(envelope: str, expected: str | None) -> None:
    assert event_id_of(envelope) == expected


def test_without_a_scheduler_or_a_loop_the_clock_refuses() -> None:
    with pytest.raises(InvalidState):
        ReplayBuffer().hold("a")


@pytest.mark.asyncio
async def test_without_a_scheduler_the_loop_is_the_clock() -> None:
    buffer = ReplayBuffer()
    buffer.hold("a")
    assert isinstance(buffer.scheduler, AsyncIOScheduler)
    next_expiry = buffer.next_expiry()
    assert next_expiry is not None and 299 < next_expiry <= 300
