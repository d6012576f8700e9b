"""What the session marble tests share: shaped events and a recording subscriber."""

from __future__ import annotations

from typing import Any

from reactivex import Observable, abc
from reactivex.testing import ReactiveTest, TestScheduler

from rx_honeybee.socket import Opened
from rx_honeybee.testing import RecordingLink

__all__ = ["Sink", "ev", "opened"]


def ev(n: int, created_at: int) -> dict[str, Any]:
    """Event number ``n``: well-formed (64-hex id, 128-hex sig), not really signed."""
    return {"id": f"{n:064x}", "pubkey": "a" * 64, "created_at": created_at, "kind": 1,
            "tags": [], "content": f"note {n}", "sig": "b" * 128}  # fmt: skip


def opened(link: RecordingLink, at: float = 1) -> Any:
    """The record of a marble socket opening at ``at`` with ``link``."""
    return ReactiveTest.on_next(at, Opened(link))


class Sink:
    """Records (virtual time, item), the error and the completion of one subscription."""

    def __init__(self, scheduler: TestScheduler) -> None:
        self.scheduler = scheduler
        self.items: list[tuple[float, Any]] = []
        self.error: tuple[float, Exception] | None = None
        self.completed: float | None = None

    def observe(self, source: Observable[Any]) -> abc.DisposableBase:
        return source.subscribe(self._next, self._error, self._completed)

    def _next(self, item: Any) -> None:
        self.items.append((float(self.scheduler.clock), item))

    def _error(self, error: Exception) -> None:
        self.error = (float(self.scheduler.clock), error)

    def _completed(self) -> None:
        self.completed = float(self.scheduler.clock)
