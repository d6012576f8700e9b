"""One in-flight operation: its type, status, timing and outcome, and the errors around it.

The data the :class:`~rx_mana.operations.OperationRegistry` keeps for each publish,
request or query it tracks (SPEC §5 item 6); the registry alone changes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rx_honeybee.errors import HoneybeeError

__all__ = [
    "Canceller",
    "Operation",
    "OperationCancelled",
    "OperationNotFound",
    "OperationStats",
    "OperationStatus",
    "OperationTimedOut",
    "OperationType",
]


class OperationType(StrEnum):
    """What kind of work an operation is (a str: usable as a JSON key)."""

    SUBSCRIPTION = "subscription"
    PUBLICATION = "publication"
    CONNECTION = "connection"
    QUERY = "query"


class OperationStatus(StrEnum):
    """Where an operation is in its lifecycle; the last four are final."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


_ACTIVE = frozenset({OperationStatus.PENDING, OperationStatus.IN_PROGRESS})


class OperationNotFound(HoneybeeError, KeyError):
    """No operation has this id: never registered, or removed by cleanup."""

    def __init__(self, op_id: str) -> None:
        super().__init__(op_id)
        self.op_id = op_id  # the id asked for

    def __str__(self) -> str:
        return f"no operation {self.op_id!r}"


class OperationCancelled(HoneybeeError):
    """The registry cancelled the operation (``cancel``, ``cancel_type``, ``cancel_all``).

    What a tracked stream errors with; ``wait`` raises ``asyncio.CancelledError`` instead.
    """

    def __init__(self, op_id: str) -> None:
        super().__init__(f"operation {op_id} was cancelled")
        self.op_id = op_id  # the operation cancelled


class OperationTimedOut(HoneybeeError, TimeoutError):
    """A ``wait`` deadline passed before the operation ended; it is now TIMED_OUT."""

    def __init__(self, op_id: str, timeout: float) -> None:
        super().__init__(f"operation {op_id} did not end within {timeout} s")
        self.op_id = op_id  # the operation that timed out
        self.timeout = timeout  # the deadline, seconds


Canceller = Callable[["Operation"], None]
"""Told once when the registry ends an operation (CANCELLED or TIMED_OUT): stop the work."""


class Operation:
    """One unit of work the registry tracks; read-only, its ``status`` is live.

    Only the registry changes it. Times are seconds on the registry's clock.
    """

    __slots__ = (
        "_canceller",
        "_ended_at",
        "_error",
        "_id",
        "_metadata",
        "_priority",
        "_registered_at",
        "_result",
        "_seq",
        "_started_at",
        "_status",
        "_type",
        "_waiters",
    )

    def __init__(
        self,
        op_id: str,
        seq: int,
        type: OperationType,
        priority: int,
        metadata: dict[str, Any],
        now: float,
    ) -> None:
        self._id = op_id  # unique within its registry
        self._seq = seq  # registration order, for listings
        self._type = type  # what kind of work
        self._priority = priority  # higher first in listings
        self._metadata = metadata  # what the application attached (relay url, filters…)
        self._status = OperationStatus.PENDING  # changed only by OperationRegistry._apply
        self._registered_at = now  # when register() made it
        self._started_at: float | None = None  # when start() ran, if it did
        self._ended_at: float | None = None  # when it reached a final status
        self._result: Any = None  # what complete() gave
        self._error: Exception | None = None  # why it failed, was cancelled or timed out
        self._waiters: list[asyncio.Future[None]] = []  # wait() calls, resolved at the end
        self._canceller: Canceller | None = None  # stops the work on cancel or timeout

    @property
    def id(self) -> str:
        """The id the registry gave it (``op-1``, ``op-2``, …)."""
        return self._id

    @property
    def type(self) -> OperationType:
        """What kind of work it is."""
        return self._type

    @property
    def status(self) -> OperationStatus:
        """Its status now."""
        return self._status

    @property
    def priority(self) -> int:
        """Higher comes first in :meth:`OperationRegistry.operations`."""
        return self._priority

    @property
    def metadata(self) -> dict[str, Any]:
        """The keyword arguments given to ``register`` (a dict the caller may add to)."""
        return self._metadata

    @property
    def registered_at(self) -> float:
        """When it was registered."""
        return self._registered_at

    @property
    def started_at(self) -> float | None:
        """When it started, or None while PENDING (or if it ended without starting)."""
        return self._started_at

    @property
    def ended_at(self) -> float | None:
        """When it reached a final status, or None while active."""
        return self._ended_at

    @property
    def result(self) -> Any:
        """What it completed with (None unless COMPLETED)."""
        return self._result

    @property
    def error(self) -> Exception | None:
        """Why it failed, or the OperationCancelled / OperationTimedOut that ended it."""
        return self._error

    @property
    def active(self) -> bool:
        """Whether it is PENDING or IN_PROGRESS."""
        return self._status in _ACTIVE

    def __repr__(self) -> str:
        return f"<Operation {self._id} {self._type.value} {self._status.value}>"


@dataclass(frozen=True, slots=True)
class OperationStats:
    """Counts since the registry was made, and what it holds now.

    ``by_status``: how many operations reached each status (PENDING: registered,
    IN_PROGRESS: started, the others: ended that way); ``by_type``: registered per type;
    ``pending``/``in_progress``: active now; ``held``: operations in the registry now,
    ended ones included; ``removed``: ended ones dropped by ``cleanup`` or ``max_ended``;
    ``mean_completion_time``: seconds from start (or registration, if never started) to
    COMPLETED, averaged over completed operations, None before the first.
    """

    registered: int
    pending: int
    in_progress: int
    held: int
    removed: int
    by_status: dict[OperationStatus, int]
    by_type: dict[OperationType, int]
    mean_completion_time: float | None
