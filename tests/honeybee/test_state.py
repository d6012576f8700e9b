"""Tests for rx_honeybee.state: the table keyed by event and the machine that applies it."""

from __future__ import annotations

from typing import Any

import pytest

from rx_honeybee.errors import InvalidState
from rx_honeybee.state import LIVE, TERMINAL, TRANSITIONS, Event, StateMachine
from rx_roots import ConnectionStatus as S

E = Event

INITIATOR_LIFE = [E.DIALLED, E.OPENED, E.DROPPED, E.DIALLED, E.OPENED, E.CLOSE_REQUESTED]
INITIATOR_STATUSES = [S.CONNECTING, S.CONNECTED, S.BACKOFF, S.CONNECTING, S.CONNECTED, S.CLOSING]

# A path of events from DISCONNECTED to each reachable status.
PATHS: dict[S, tuple[Event, ...]] = {
    S.DISCONNECTED: (),
    S.CONNECTING: (E.DIALLED,),
    S.UPGRADING: (E.ACCEPTED,),
    S.CONNECTED: (E.DIALLED, E.OPENED),
    S.BACKOFF: (E.DIALLED, E.DROPPED),
    S.CLOSING: (E.DIALLED, E.CLOSE_REQUESTED),
    S.ERROR: (E.DIALLED, E.GAVE_UP),
    S.CLOSED: (E.CLOSE_DONE,),
}
ILLEGAL = [(s, e) for s in PATHS for e in Event if (s, e) not in TRANSITIONS]


def machine_in(status: S) -> StateMachine:
    machine = StateMachine()
    for event in PATHS[status]:
        machine.apply(event)
    assert machine.status is status
    return machine


class Sink:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def attach(self, machine: StateMachine) -> Any:
        return machine.stream.subscribe(
            self.events.append, lambda e: self.events.append(("error", e)), self.completed
        )

    def completed(self) -> None:
        self.events.append("completed")


# --- the table ----------------------------------------------------------------------------


def test_the_table_is_keyed_by_status_and_event() -> None:
    assert all(isinstance(s, S) and isinstance(e, Event) for s, e in TRANSITIONS)
    assert all(isinstance(new, S) for new in TRANSITIONS.values())


def test_no_event_keeps_the_status() -> None:
    assert all(s is not new for (s, _), new in TRANSITIONS.items())


def test_terminal_statuses_dial_nothing_and_only_error_can_finish_closing() -> None:
    assert TERMINAL == {S.ERROR, S.CLOSED}
    assert not any(s is S.CLOSED for s, _ in TRANSITIONS)
    assert [(s, e) for s, e in TRANSITIONS if s is S.ERROR] == [(S.ERROR, E.CLOSE_DONE)]
    assert LIVE.isdisjoint(TERMINAL)


def test_awaiting_is_unused_by_design() -> None:
    assert not any(S.AWAITING in (s, new) for (s, _), new in TRANSITIONS.items())


def test_every_reachable_status_can_eventually_reach_closed() -> None:
    for start in PATHS:
        seen, frontier = {start}, [start]
        while frontier:
            current = frontier.pop()
            for (s, _), nxt in TRANSITIONS.items():
                if s is current and nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert S.CLOSED in seen, start


def test_giving_up_never_passes_through_backoff() -> None:
    for status in (S.CONNECTING, S.CONNECTED, S.UPGRADING, S.BACKOFF):
        assert TRANSITIONS[(status, E.GAVE_UP)] is S.ERROR


# --- the machine --------------------------------------------------------------------------


def test_a_new_machine_is_disconnected() -> None:
    assert StateMachine().status is S.DISCONNECTED


def test_an_initiator_life_is_legal_and_published() -> None:
    machine = StateMachine()
    sink = Sink()
    sink.attach(machine)
    for event, status in zip(INITIATOR_LIFE, INITIATOR_STATUSES, strict=True):
        assert machine.can(event)
        assert machine.apply(event) is status
    machine.apply(E.CLOSE_DONE)
    assert sink.events == [S.DISCONNECTED, *INITIATOR_STATUSES, S.CLOSED, "completed"]


def test_a_responder_is_upgrading_then_connected_and_a_peer_close_ends_it() -> None:
    machine = StateMachine()
    seen: list[S] = []
    machine.stream.subscribe(seen.append)
    for event in (E.ACCEPTED, E.OPENED, E.PEER_CLOSED):
        machine.apply(event)
    assert seen == [S.DISCONNECTED, S.UPGRADING, S.CONNECTED, S.CLOSED]


def test_backoff_may_give_up_and_error_closes() -> None:
    machine = machine_in(S.BACKOFF)
    machine.apply(E.GAVE_UP)
    machine.apply(E.CLOSE_DONE)
    assert machine.status is S.CLOSED


@pytest.mark.parametrize(("status", "event"), ILLEGAL, ids=str)
def test_an_illegal_event_raises_and_leaves_the_status_unchanged(status: S, event: Event) -> None:
    machine = machine_in(status)
    sink = Sink()
    sink.attach(machine)
    before = list(sink.events)
    assert machine.can(event) is False
    with pytest.raises(InvalidState, match=f"{event.value} while {status.name}"):
        machine.apply(event)
    assert machine.status is status
    assert sink.events == before


@pytest.mark.parametrize(
    ("status", "event"), [(s, e) for s, e in TRANSITIONS if s in PATHS], ids=str
)
def test_every_legal_event_is_applied_and_published(status: S, event: Event) -> None:
    machine = machine_in(status)
    seen: list[S] = []
    machine.stream.subscribe(seen.append)
    assert machine.can(event) is True
    new = machine.apply(event)
    assert new is TRANSITIONS[(status, event)] is machine.status
    assert seen[-1] is new


def test_nothing_leaves_closed() -> None:
    machine = machine_in(S.CLOSED)
    for event in Event:
        assert machine.can(event) is False
        with pytest.raises(InvalidState):
            machine.apply(event)
    assert machine.status is S.CLOSED


# --- the stream ---------------------------------------------------------------------------


def test_the_stream_replays_the_current_status_to_a_new_subscriber() -> None:
    machine = StateMachine()
    first = Sink()
    first.attach(machine)
    machine.apply(E.DIALLED)
    machine.apply(E.OPENED)
    late = Sink()
    late.attach(machine)
    assert late.events == [S.CONNECTED]
    assert first.events == [S.DISCONNECTED, S.CONNECTING, S.CONNECTED]


def test_closed_completes_the_stream_and_is_replayed_to_a_late_subscriber() -> None:
    machine = machine_in(S.CLOSING)
    live = Sink()
    live.attach(machine)
    machine.apply(E.CLOSE_DONE)
    assert live.events == [S.CLOSING, S.CLOSED, "completed"]
    late = Sink()
    late.attach(machine)
    assert late.events == [S.CLOSED, "completed"]


def test_subscribers_see_the_new_status_on_the_machine_when_notified() -> None:
    machine = StateMachine()
    seen: list[tuple[S, S]] = []
    machine.stream.subscribe(lambda status: seen.append((status, machine.status)))
    machine.apply(E.DIALLED)
    assert seen == [(S.DISCONNECTED, S.DISCONNECTED), (S.CONNECTING, S.CONNECTING)]


def test_error_does_not_complete_the_stream() -> None:
    assert not machine_in(S.ERROR).stream.is_stopped


def test_a_raising_state_subscriber_goes_to_on_fault_and_the_event_still_applies() -> None:
    faults: list[Exception] = []
    machine = StateMachine(faults.append)
    other: list[S] = []

    def bad(status: S) -> None:
        if status is S.CONNECTING:
            raise RuntimeError("subscriber bug")

    machine.stream.subscribe(bad)
    machine.stream.subscribe(other.append)
    machine.apply(E.DIALLED)
    assert machine.status is S.CONNECTING
    assert [str(f) for f in faults] == ["subscriber bug"]
    assert other == [S.DISCONNECTED, S.CONNECTING]
