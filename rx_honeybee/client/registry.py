"""The default subscription registry: restore in the order subscriptions were made.

A :class:`~rx_honeybee.interfaces.SubscriptionRegistry`; rx_mana's repository replaces it
with priorities, usage statistics and a relay's subscription limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Registry"]


class Registry:
    """Live subscription ids, oldest first; activity is not tracked."""

    __slots__ = ("_ids",)

    def __init__(self) -> None:
        self._ids: dict[str, None] = {}  # live ids, in insertion order

    def add(self, sub_id: str, filters: Sequence[Mapping[str, Any]], priority: int = 0) -> None:
        """Remember ``sub_id`` (a reused id moves to the end)."""
        self._ids.pop(sub_id, None)
        self._ids[sub_id] = None

    def remove(self, sub_id: str) -> None:
        """Forget ``sub_id`` (unknown ids are ignored)."""
        self._ids.pop(sub_id, None)

    def record_activity(
        self, sub_id: str, events: int = 1, response_time: float | None = None
    ) -> None:
        """Ignored: this registry restores by age only."""

    def restore_order(self) -> list[str]:
        """Live ids, oldest first."""
        return list(self._ids)
