"""``rxnostr relay --db``: a relay on a SQLite file survives a restart of its process.

The NIP-01 conformance suite runs against both stores (:mod:`tests.stores`); here are
the scenarios only a file can have: a new relay (a new process, as far as the store can
tell) on the same file, and an ``OK`` that is only sent once the event is on disk.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from rx_honeybee import Connection
from rx_honeybee.initiator import OkResult, publish, request
from rx_honeybee.relay import Relay
from rx_honeybee.relay.sqlite_store import SqliteStore
from rx_honeybee.testing import FAST, until
from rx_roots import ConnectionStatus as S
from tests.support import make_event

pytestmark = [pytest.mark.timeout(30)]


async def _ok_of(conn: Connection, event: dict[str, Any]) -> OkResult:
    answer: asyncio.Future[OkResult] = asyncio.get_running_loop().create_future()
    publish(conn, event, timeout=5.0).subscribe(answer.set_result, answer.set_exception)
    return await answer


@pytest.mark.asyncio
async def test_a_new_relay_on_the_same_file_serves_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "relay.db"
    first = make_event(1, created_at=int(time.time()))
    profile = make_event(2, kind=0, created_at=int(time.time()) - 10)
    old_profile = make_event(3, kind=0, created_at=int(time.time()) - 100)
    got: list[dict[str, Any]] = []
    relay = Relay(store=SqliteStore(path))
    async with relay:
        port = relay.port
        conn = Connection(relay.url, FAST)
        await conn.connect()
        try:
            assert (await _ok_of(conn, first)).accepted
            assert (await _ok_of(conn, profile)).accepted
            request(conn, [{"kinds": [1]}]).subscribe(got.append)
            await until(lambda: got == [first])
        except BaseException:
            await conn.close()
            raise
    assert relay.clients == 0  # the first relay is gone, its file closed
    try:
        await until(lambda: conn.status is not S.CONNECTED)
        reborn = Relay(port=port, store=SqliteStore(path))
        async with reborn:
            assert [e["id"] for e in reborn.events] == [first["id"], profile["id"]]
            await until(lambda: conn.status is S.CONNECTED and reborn.subscriptions != [])
            replaced = await _ok_of(conn, old_profile)  # the newer one is still held
            assert replaced.accepted is False and replaced.message.startswith("replaced:")
            second = make_event(4, created_at=int(time.time()) + 1)
            assert (await _ok_of(conn, second)).accepted
            await until(lambda: len(got) == 2)
            assert got == [first, second]  # resumed: the first is not delivered again
    finally:
        await conn.close()


@pytest.mark.asyncio
async def test_ok_is_sent_once_the_event_is_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "relay.db"
    async with Relay(store=SqliteStore(path)) as relay, Connection(relay.url, FAST) as conn:
        for n in range(20):
            event = make_event(n)
            assert (await _ok_of(conn, event)).accepted
            with sqlite3.connect(path) as outside:  # another reader of the file, now
                row = outside.execute("SELECT 1 FROM events WHERE id = ?", (event["id"],))
                assert row.fetchone() == (1,)
            outside.close()


@pytest.mark.asyncio
async def test_a_failed_write_is_answered_and_not_delivered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(tmp_path / "relay.db")

    def full_disk(*_: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    async with Relay(store=store) as relay, Connection(relay.url, FAST) as conn:
        errors: list[Exception] = []
        next(iter(relay._clients)).errors.subscribe(errors.append)  # the relay's side
        got: list[dict[str, Any]] = []
        request(conn, [{"kinds": [1]}]).subscribe(got.append)
        await until(lambda: relay.subscriptions != [])
        monkeypatch.setattr(store, "_write_event", full_disk)
        answer = await _ok_of(conn, make_event(1))
        assert answer.accepted is False
        assert answer.message == "error: could not store the event (OperationalError)"
        assert [type(e) for e in errors] == [sqlite3.OperationalError]
        monkeypatch.undo()
        assert (await _ok_of(conn, make_event(2))).accepted  # the writer carries on
        await until(lambda: len(got) == 1)
        assert got[0]["id"] == make_event(2)["id"] and len(relay.store) == 1


@pytest.mark.asyncio
async def test_stop_after_the_relay_let_go_of_its_file_is_quiet(tmp_path: Path) -> None:
    relay = Relay(store=SqliteStore(tmp_path / "relay.db"))
    async with relay:
        relay.publish(make_event(1))
    await relay.stop()  # a `finally: await relay.stop()` after `async with` must not raise
    await relay.store.flush()  # nothing is left to write: close wrote it all
