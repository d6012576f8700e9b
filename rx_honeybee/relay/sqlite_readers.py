"""Reader threads for the SQLite store: a REQ's query runs off the event loop.

A query of 20 filters over a 100k-event file takes tens of milliseconds; run on the loop
it would hold every other client for as long. ``sqlite3`` lets go of the GIL while SQLite
works, so a few reader threads, each with its own connection to the file (WAL: they read
while the writer writes), answer a flood of costly REQs and an honest small one side by
side instead of one after the other.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["ReaderPool"]

T = TypeVar("T")


class ReaderPool:
    """``workers`` threads, each reading ``path`` through a connection of its own."""

    def __init__(self, path: str, workers: int = 3) -> None:
        self._path = path
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="rxnostr-sqlite-read")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []  # to close at the end
        self._lock = threading.Lock()

    def run(
        self,
        read: Callable[[sqlite3.Connection], T],
        done: Callable[[T], object],
        failed: Callable[[BaseException], object],
    ) -> None:
        """``read(connection)`` on a reader thread; ``done(result)`` or ``failed(error)``
        on the running loop afterwards.

        Raises:
            RuntimeError: the pool was closed.
        """
        loop = asyncio.get_running_loop()
        future = self._pool.submit(self._read, read)

        def answer(_: object) -> None:
            if loop.is_closed():
                return
            error = future.exception()
            if error is None:
                loop.call_soon_threadsafe(done, future.result())
            else:
                loop.call_soon_threadsafe(failed, error)

        future.add_done_callback(answer)

    def close(self) -> None:
        """Finish the reads under way, stop the threads, close their connections."""
        self._pool.shutdown(wait=True)
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()

    def _read(self, read: Callable[[sqlite3.Connection], T]) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            with self._lock:
                self._connections.append(conn)
            self._local.conn = conn
        return read(conn)
