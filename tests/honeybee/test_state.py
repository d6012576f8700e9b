"""Tests for rx_honeybee.state: the transition table and the machine that applies it."""

from __future__ import annotations

from typing import Any

import pytest

from rx_honeybee.errors import InvalidState
from rx_honeybee.state import TRANSITIONS, StateMachine
from rx_roots import ConnectionStatus as S

SPEC_SEQUENCE = [
    S.CONNECTING,
    S.CONNECTED,
    S.BACKOFF,
    S.CONNECTING,
    S.CONNECTED,
    S.CLOSING,
    S.CLOSED,
]

ILLEGAL = [(old, new) for old in S for new in S if new not in TRANSITIONS[old]]


def machine_at(*path: S) -> StateMachine:
    machine = StateMachine()
    for status in path:
        machine.advance(status)
    return machine


# A legal path from DISCONNECTED to each status (AWAITING and UPGRADING are not reachable
# from DISCONNECTED in the table, so the machine is moved there directly).
PATHS: dict[S, tuple[S, ...]] = {
    S.DISCONNECTED: (),
    S.CONNECTING: (S.CONNECTING,),
    S.CONNECTED: (S.CONNECTING, S.CONNECTED),
    S.BACKOFF: (S.CONNECTING, S.BACKOFF),
    S.CLOSING: (S.CONNECTING, S.CLOSING),
    S.ERROR: (S.CONNECTING, S.ERROR),
    S.CLOSED: (S.CLOSED,),
}


def machine_in(status: S) -> StateMachine:
    if status in PATHS:
        return machine_at(*PATHS[status])
    machine = StateMachine()
    machine.status = status
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


def test_every_status_has_an_entry() -> None:
    assert set(TRANSITIONS) == set(S)
    assert all(isinstance(targets, frozenset) for targets in TRANSITIONS.values())
    assert all(targets <= set(S) for targets in TRANSITIONS.values())


def test_no_status_moves_to_itself() -> None:
    assert all(status not in TRANSITIONS[status] for status in S)


def test_closed_is_terminal() -> None:
    assert TRANSITIONS[S.CLOSED] == frozenset()


def test_error_only_moves_to_closed() -> None:
    assert TRANSITIONS[S.ERROR] == frozenset({S.CLOSED})


def test_every_status_but_closed_can_eventually_reach_closed() -> None:
    for start in S:
        seen, frontier = {start}, [start]
        while frontier:
            for nxt in TRANSITIONS[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert S.CLOSED in seen, start


# --- the machine --------------------------------------------------------------------------


def test_a_new_machine_is_disconnected() -> None:
    machine = StateMachine()
    assert machine.status is S.DISCONNECTED


def test_the_spec_sequence_is_legal() -> None:
    machine = StateMachine()
    sink = Sink()
    sink.attach(machine)
    for status in SPEC_SEQUENCE:
        assert machine.can(status)
        machine.advance(status)
        assert machine.status is status
    assert sink.events == [S.DISCONNECTED, *SPEC_SEQUENCE, "completed"]


def test_backoff_may_give_up_with_error_and_error_closes() -> None:
    machine = machine_at(S.CONNECTING, S.CONNECTED, S.BACKOFF)
    seen: list[S] = []
    machine.stream.subscribe(seen.append)
    machine.advance(S.ERROR)
    machine.advance(S.CLOSED)
    assert seen == [S.BACKOFF, S.ERROR, S.CLOSED]
    assert machine.status is S.CLOSED


def test_responder_starts_connected_and_a_peer_4000_closes_at_once() -> None:
    machine = machine_at(S.CONNECTED, S.CLOSED)
    assert machine.status is S.CLOSED


@pytest.mark.parametrize(("old", "new"), ILLEGAL, ids=lambda s: s.name)
def test_an_illegal_transition_raises_and_leaves_the_status_unchanged(old: S, new: S) -> None:
    machine = machine_in(old)
    sink = Sink()
    sink.attach(machine)
    before = list(sink.events)
    assert machine.can(new) is False
    with pytest.raises(InvalidState, match=f"{old.name} -> {new.name}"):
        machine.advance(new)
    assert machine.status is old
    assert sink.events == before  # nothing published


@pytest.mark.parametrize(
    ("old", "new"),
    [(old, new) for old in S for new in TRANSITIONS[old]],
    ids=lambda s: s.name,
)
def test_every_legal_transition_is_applied_and_published(old: S, new: S) -> None:
    machine = machine_in(old)
    seen: list[S] = []
    machine.stream.subscribe(seen.append)
    assert machine.can(new) is True
    machine.advance(new)
    assert machine.status is new
    assert seen[-1] is new


def test_nothing_leaves_closed() -> None:
    machine = machine_at(S.CLOSED)
    for status in S:
        assert machine.can(status) is False
        with pytest.raises(InvalidState):
            machine.advance(status)
        assert machine.status is S.CLOSED


# --- the stream ---------------------------------------------------------------------------


def test_the_stream_replays_the_current_status_to_a_new_subscriber() -> None:
    machine = StateMachine()
    first = Sink()
    first.attach(machine)
    assert first.events == [S.DISCONNECTED]
    machine.advance(S.CONNECTING)
    machine.advance(S.CONNECTED)
    late = Sink()
    late.attach(machine)
    assert late.events == [S.CONNECTED]
    assert first.events == [S.DISCONNECTED, S.CONNECTING, S.CONNECTED]


def test_closed_completes_the_stream_and_is_replayed_to_a_late_subscriber() -> None:
    machine = machine_at(S.CONNECTING, S.CLOSING)
    live = Sink()
    live.attach(machine)
    machine.advance(S.CLOSED)
    assert live.events == [S.CLOSING, S.CLOSED, "completed"]
    assert machine.stream.is_stopped
    late = Sink()
    late.attach(machine)
    assert late.events == [S.CLOSED, "completed"]


def test_subscribers_see_the_new_status_on_the_machine_when_notified() -> None:
    machine = StateMachine()
    seen: list[tuple[S, S]] = []
    machine.stream.subscribe(lambda status: seen.append((status, machine.status)))
    machine.advance(S.CONNECTING)
    machine.advance(S.CONNECTED)
    assert seen == [(s, s) for s in (S.DISCONNECTED, S.CONNECTING, S.CONNECTED)]


def test_error_does_not_complete_the_stream() -> None:
    machine = machine_at(S.CONNECTING, S.ERROR)
    assert not machine.stream.is_stopped


def test_a_raising_state_subscriber_goes_to_on_fault_and_the_transition_still_happens() -> None:
    faults: list[Exception] = []
    machine = StateMachine(faults.append)
    other: list[S] = []

    def bad(status: S) -> None:
        if status is S.CONNECTING:
            raise RuntimeError("subscriber bug")

    machine.stream.subscribe(bad)
    machine.stream.subscribe(other.append)
    machine.advance(S.CONNECTING)
    assert machine.status is S.CONNECTING
    assert [str(f) for f in faults] == ["subscriber bug"]
    assert other == [S.DISCONNECTED, S.CONNECTING]
