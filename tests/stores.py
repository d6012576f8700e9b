"""Run a module's relay tests against both stores: memory and SQLite (issue 12).

``new_store`` (import :func:`new_store_fixture`) makes bare stores of either kind for
store-level tests.

Import :func:`both_stores` into a test module that builds relays as ``Relay(...)`` from
its own namespace: every test there then runs twice, the second time with each relay
keeping its events in a fresh SQLite file (``store=SqliteStore(...)``, with the
``max_events``/``max_bytes`` the test asked for). The conformance suite and the restart
scenarios need no second copy for the second store.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rx_honeybee.relay import Relay
from rx_honeybee.relay.backend import Store
from rx_honeybee.relay.sqlite_store import SqliteStore
from rx_honeybee.relay.store import DEFAULT_MAX_BYTES, EventStore

__all__ = ["NewStore", "both_stores", "new_store_fixture"]


@pytest.fixture(params=["memory", "sqlite"], autouse=True)
def both_stores(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """``"memory"`` or ``"sqlite"``: the store each ``Relay(...)`` of the test gets."""
    if request.param == "sqlite":
        numbers = itertools.count()
        made: list[Relay] = []
        original = request.module.Relay

        def on_sqlite(*args: Any, **kwargs: Any) -> Relay:
            if "store" in kwargs:  # the test chose its store
                return original(*args, **kwargs)  # type: ignore[no-any-return]
            store = SqliteStore(
                tmp_path / f"relay{next(numbers)}.db",
                kwargs.pop("max_events", 100_000),
                kwargs.pop("max_bytes", DEFAULT_MAX_BYTES),
            )
            try:
                relay: Relay = original(*args, store=store, **kwargs)
            except BaseException:
                store.close()
                raise
            made.append(relay)
            return relay

        monkeypatch.setattr(request.module, "Relay", on_sqlite)
        yield request.param
        for relay in made:  # a test that never entered ``async with`` still lets go
            relay.store.close()
    else:
        yield request.param


NewStore = Callable[..., Store]
"""Makes a store of the kind under test, caps as keywords (``new_store``)."""


@pytest.fixture(params=["memory", "sqlite"], name="new_store")
def new_store_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NewStore]:
    """Makes stores of the parametrized kind (caps as keywords), closed after the test."""
    made: list[Store] = []

    def make(**caps: Any) -> Store:
        if request.param == "memory":
            store: Store = EventStore(**caps)
        else:
            store = SqliteStore(tmp_path / f"events{len(made)}.db", **caps)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
