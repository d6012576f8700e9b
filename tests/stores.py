"""Run a module's relay tests against both stores: memory and SQLite (issue 12).

Import :func:`both_stores` into a test module that builds relays as ``Relay(...)`` from
its own namespace: every test there then runs twice, the second time with each relay
keeping its events in a fresh SQLite file (``store=SqliteStore(...)``, with the
``max_events``/``max_bytes`` the test asked for). The conformance suite and the restart
scenarios need no second copy for the second store.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rx_honeybee.relay import Relay
from rx_honeybee.relay.sqlite_store import SqliteStore
from rx_honeybee.relay.store import DEFAULT_MAX_BYTES

__all__ = ["both_stores"]


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
