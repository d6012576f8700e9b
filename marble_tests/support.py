"""What the session marble tests share: signed events and a recording subscriber."""

from __future__ import annotations

from functools import cache
from typing import Any

from reactivex import Observable, abc
from reactivex.testing import ReactiveTest, TestScheduler

from rx_honeybee.socket import Opened
from rx_honeybee.testing import RecordingLink
from rx_honeybee.verify import sign_event

__all__ = ["AUTHOR", "Sink", "ev", "opened"]

SECRET = "01" * 32  # the key every ``ev`` is signed with
AUTHOR = "1b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f"  # its pubkey


def ev(n: int, created_at: int) -> dict[str, Any]:
    """Event number ``n`` by ``AUTHOR``, really signed (the client verifies by default)."""
    return dict(_signed(n, created_at))


@cache
def _signed(n: int, created_at: int) -> dict[str, Any]:
    template = {"created_at": created_at, "kind": 1, "tags": [], "content": f"note {n}"}
    return sign_event(template, SECRET, aux_randomness=bytes(32))


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
