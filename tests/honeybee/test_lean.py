"""Tests for rx_honeybee.lean: lock-free observables, sinks and disposable slots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from reactivex import abc
from reactivex import operators as ops
from reactivex.testing import TestScheduler

from rx_honeybee.lean import (
    Handlers,
    LeanObservable,
    OnDispose,
    SerialSlot,
    Sink,
    Slot,
    later,
)


class Probe(abc.DisposableBase):
    """Counts its disposals."""

    def __init__(self) -> None:
        self.disposed = 0

    def dispose(self) -> None:
        self.disposed += 1


class Just(LeanObservable[int]):
    """Emits ``values`` then completes, on subscribe."""

    def __init__(self, *values: int) -> None:
        super().__init__()
        self.values = values

    def _attach(
        self, handlers: Handlers, scheduler: abc.SchedulerBase | None
    ) -> abc.DisposableBase:
        on_next, _, on_completed = handlers
        for value in self.values:
            on_next(value)
        on_completed()
        return OnDispose(lambda: None)


@pytest.mark.parametrize("slot_type", [Slot, SerialSlot])
def test_a_slot_disposed_before_it_is_set_disposes_what_arrives(slot_type: type[Slot]) -> None:
    slot = slot_type()
    slot.dispose()
    late = Probe()
    slot.disposable = late
    slot.disposable = None  # nothing to dispose: fine
    assert late.disposed == 1 and slot.disposable is None and slot.is_disposed
    slot.dispose()  # idempotent
    assert late.disposed == 1


@pytest.mark.parametrize("slot_type", [Slot, SerialSlot])
def test_disposing_a_slot_disposes_what_it_holds_once(slot_type: type[Slot]) -> None:
    slot = slot_type()
    held = Probe()
    slot.disposable = held
    assert slot.disposable is held
    slot.dispose()
    slot.dispose()
    assert held.disposed == 1 and slot.disposable is None


def test_a_serial_slot_disposes_the_previous_one_when_replaced() -> None:
    slot = SerialSlot()
    first, second = Probe(), Probe()
    slot.disposable = first
    slot.disposable = second
    assert (first.disposed, second.disposed) == (1, 0) and slot.disposable is second
    slot.disposable = None
    assert second.disposed == 1


def test_on_dispose_runs_its_action_once() -> None:
    runs: list[int] = []
    disposable = OnDispose(lambda: runs.append(1))
    disposable.dispose()
    disposable.dispose()
    assert runs == [1]


def test_a_sink_passes_nothing_after_its_end() -> None:
    got: list[Any] = []
    sink = Sink((got.append, lambda e: got.append(("error", e)), lambda: got.append("done")))
    sink.on_next(1)
    sink.on_completed()
    boom = ValueError("late")
    sink.on_next(2)
    sink.on_error(boom)
    sink.on_completed()
    assert got == [1, "done"]
    failed = Sink((got.append, lambda e: got.append(("error", e)), lambda: got.append("done")))
    failed.on_error(boom)
    failed.on_next(3)
    failed.on_completed()
    assert got == [1, "done", ("error", boom)]


def test_a_lean_observable_shares_one_lock_and_composes_with_operators() -> None:
    a, b = Just(1, 2), Just(3)
    assert a.lock is b.lock and "lock" not in vars(a)
    got: list[int] = []
    done: list[bool] = []
    tenfold: Callable[[int], int] = lambda x: x * 10  # noqa: E731
    a.pipe(ops.map(tenfold)).subscribe(got.append, on_completed=lambda: done.append(True))
    assert got == [10, 20] and done == [True]
    observed: list[int] = []
    b._subscribe_core(_Observer(observed))  # what reactivex's own subscribe path calls
    assert observed == [3, -1]


class _Observer(abc.ObserverBase[int]):
    def __init__(self, log: list[int]) -> None:
        self.log = log

    def on_next(self, value: int) -> None:
        self.log.append(value)

    def on_error(self, error: Exception) -> None:  # pragma: no cover - never fails
        raise error

    def on_completed(self) -> None:
        self.log.append(-1)


def test_later_on_a_virtual_scheduler_runs_at_the_delay_and_can_be_cancelled() -> None:
    scheduler = TestScheduler()
    fired: list[float] = []
    later(scheduler, 5.0, lambda: fired.append(float(scheduler.clock)))
    cancelled = later(scheduler, 3.0, lambda: fired.append(-1.0))
    cancelled.dispose()
    scheduler.advance_to(10)
    assert fired == [5.0]
