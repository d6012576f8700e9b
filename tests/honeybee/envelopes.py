"""Envelopes and a recording sink shared by the router and channels tests."""

from __future__ import annotations

from typing import Any

from reactivex import GroupedObservable, Observable
from reactivex import operators as ops
from reactivex.testing import ReactiveTest

from rx_honeybee.router import route
from rx_roots import enclose_eose, enclose_notice, enclose_ok, enclose_subscription_event

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe

E1 = enclose_subscription_event("s1", {"id": "1", "kind": 1})
E2 = enclose_subscription_event("s2", {"id": "2", "kind": 1})
OK1 = enclose_ok("a" * 64, True, "")
EOSE1 = enclose_eose("s1")
NOTICE1 = enclose_notice("hello")
COUNT1 = '["COUNT","q",{"count":3}]'
BAD = "not json"
LOOKUP: dict[str | float, Any] = {
    "a": E1,
    "b": E2,
    "o": OK1,
    "e": EOSE1,
    "n": NOTICE1,
    "c": COUNT1,
    "x": BAD,
}

Group = GroupedObservable[str, str | bytes]


def tagged(source: Observable[str | bytes]) -> Observable[tuple[str, str | bytes]]:
    """route(), flattened into (label, envelope) pairs so marbles can compare it."""

    def tag(group: Group) -> Observable[tuple[str, str | bytes]]:
        return group.pipe(ops.map(lambda env: (group.key, env)))

    return source.pipe(route(), ops.flat_map(tag))


class Sink:
    """Records what one subscription receives."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.errors: list[Exception] = []
        self.completed = False

    def subscribe(self, source: Observable[Any]) -> Any:
        return source.subscribe(self.items.append, self.errors.append, self.on_completed)

    def on_completed(self) -> None:
        self.completed = True
