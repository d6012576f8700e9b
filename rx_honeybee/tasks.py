"""Track the asyncio tasks a connection spawns, so closing it leaves nothing running; and
run a periodic check as one task that stops cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["Periodic", "TaskSet"]


class TaskSet:
    """A set of tasks that removes finished ones and can be drained on close."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()  # live tasks

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Start ``coro`` as a task on the running loop and track it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for every task, also ones spawned meanwhile; cancel those outliving ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks:
            pending = set(self._tasks)
            remaining = deadline - loop.time()
            if remaining <= 0:
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                continue
            await asyncio.wait(pending, timeout=remaining)


class Periodic:
    """Calls ``tick()`` every ``interval`` seconds between :meth:`start` and :meth:`stop`.

    One task for a sweep over many sockets or clients: cheaper than a timer per item.
    """

    def __init__(self, interval: float, tick: Callable[[], None]) -> None:
        self.interval = interval  # seconds between ticks
        self._tick = tick
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin ticking on the running loop (idempotent)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop ticking (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self._tick()
