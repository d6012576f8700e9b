"""Subscription repository: which REQs go out, when, and in which order (SPEC §5 item 3).

Relays cap the subscriptions they hold per client (NIP-11 ``limitation.max_subscriptions``)
and answer the REQ beyond it with ``CLOSED ...too many...``; after a reconnect, a client
that resends a hundred REQs at once gets throttled too. :class:`SubscriptionRepository` is
a session's registry (:class:`~rx_honeybee.interfaces.SubscriptionRegistry`) that is also
its :class:`~rx_honeybee.interfaces.AdmissionControl`:

- at most ``max_subscriptions`` REQs are out at a time (set, or learned from the first
  ``too many`` refusal); the others wait in restore order and go out as others close, so
  none is lost and the relay refuses none (the subscriber never sees those refusals);
- after a reconnect the live ones are sent again in restore order — priority, then
  importance (recent events per minute), then age, oldest first — a burst of
  ``restore_rate`` REQs, then ``restore_rate`` per second;
- it keeps each subscription's usage, and :meth:`~SubscriptionRepository.optimize` names the
  ones worth closing (idle ones and exact duplicates). It closes nothing itself.

One repository serves one session (its counts are that relay's)::

    repo = SubscriptionRepository(max_subscriptions=20)
    Session(conn, registry=repo)
    repo.set_priority("dms", 10)                     # restored first, admitted first
    request(conn, [{"kinds": [4]}], sub_id="dms").subscribe(print)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reactivex import abc

from rx_honeybee.operators import resolve_scheduler
from rx_honeybee.transport.relay_info import fetch_relay_info

__all__ = [
    "RepositoryStats",
    "SubscriptionRepository",
    "SubscriptionUsage",
    "learn_limit_from_relay",
]

Send = Callable[[], None]

_TAU = 60.0  # seconds: the decay constant of the event rate (so it reads per minute)
_SLACK = 1e-6  # a token due less than this far ahead is due now (clock resolution)


@dataclass(frozen=True, slots=True)
class SubscriptionUsage:
    """What one subscription did; times are the scheduler's clock, in seconds."""

    sub_id: str
    filters: tuple[Mapping[str, Any], ...]  # as the session registered them
    priority: int
    created_at: float
    last_active: float | None  # the latest event (None: none yet)
    events: int  # events delivered so far
    events_per_minute: float  # recent rate, decaying with a 60 s time constant
    response_time: float | None  # mean REQ-to-EOSE seconds reported (None: none)
    waiting: bool  # waiting for a free slot (not sent to the relay)


@dataclass(frozen=True, slots=True)
class RepositoryStats:
    """A snapshot of a :class:`SubscriptionRepository`; the last four are running totals."""

    tracked: int  # live subscriptions registered
    active: int  # holding one of the relay's slots (sent, or about to be)
    waiting: int  # waiting for a slot
    pacing: int  # restores waiting for their turn (``restore_rate``)
    max_subscriptions: int | None  # the limit now (set or learned; None: none)
    admitted: int  # REQs let out (first sends, restores and released waiters)
    delayed: int  # REQs that had to wait for a slot
    restored: int  # REQs resent after a reconnect
    refusals_taken: int  # ``too many`` refusals taken back and queued again


class _Entry:
    """One live subscription's registration and usage."""

    __slots__ = (
        "created",
        "events",
        "filters",
        "key",
        "last_active",
        "rate",
        "rt_count",
        "rt_sum",
        "seq",
        "stamp",
    )

    def __init__(self, filters: Sequence[Mapping[str, Any]], now: float, seq: int) -> None:
        self.filters = tuple(dict(f) for f in filters)  # a copy: the caller's may change
        self.key = _filter_key(self.filters)  # equal for exact-duplicate filter sets
        self.created = now  # clock seconds at the first add
        self.seq = seq  # tie-break for equal times: registration order
        self.events = 0
        self.last_active: float | None = None
        self.rate = 0.0  # decayed event count at ``stamp`` (≈ events per minute)
        self.stamp = now
        self.rt_sum = 0.0  # response times reported, summed
        self.rt_count = 0

    def per_minute(self, now: float) -> float:
        return self.rate * math.exp(-max(0.0, now - self.stamp) / _TAU)


class SubscriptionRepository:
    """A session's subscription registry with priorities, a slot limit and a paced restore.

    Args:
        max_subscriptions: REQs out at a time on the connection (None: no limit until a
            relay answers ``too many``, then what it held at that moment).
        restore_rate: REQs per second resent after a reconnect, after a first burst of as
            many.
        idle_after: seconds without an event after which :meth:`optimize` names a
            subscription.
        scheduler: the clock and timers (default: the asyncio loop's, at first use).

    Raises:
        ValueError: ``max_subscriptions`` < 1, or ``restore_rate`` or ``idle_after`` not > 0.
    """

    def __init__(
        self,
        max_subscriptions: int | None = None,
        restore_rate: float = 10.0,
        *,
        idle_after: float = 600.0,
        scheduler: abc.SchedulerBase | None = None,
    ) -> None:
        if max_subscriptions is not None and max_subscriptions < 1:
            raise ValueError(f"max_subscriptions must be >= 1 or None, got {max_subscriptions}")
        if not restore_rate > 0 or math.isinf(restore_rate):
            raise ValueError(f"restore_rate must be a finite number > 0, got {restore_rate}")
        if not idle_after > 0:
            raise ValueError(f"idle_after must be > 0, got {idle_after}")
        self.restore_rate = float(restore_rate)  # tokens per second, and the burst
        self.idle_after = float(idle_after)
        self._limit = max_subscriptions  # slots; lowered by a ``too many`` refusal
        self._scheduler = scheduler  # resolved at first use
        self._entries: dict[str, _Entry] = {}  # live subscriptions, by id
        self._priorities: dict[str, int] = {}  # set by the user; kept across reuse of an id
        self._seq = 0
        self._active: set[str] = set()  # ids holding a slot
        self._waiting: dict[str, Send] = {}  # ids waiting for a slot, with their send
        self._pacing: dict[str, Send] = {}  # restores waiting for a token, in order
        self._tokens = self.restore_rate  # a full burst to start with
        self._stamp: float | None = None  # clock time ``_tokens`` is up to date at
        self._timer: abc.DisposableBase | None = None  # the next token's wake-up
        self._admitted = 0
        self._delayed = 0
        self._restored = 0
        self._refusals = 0

    # -- SubscriptionRegistry --------------------------------------------------------------

    def add(self, sub_id: str, filters: Sequence[Mapping[str, Any]], priority: int = 0) -> None:
        """Register ``sub_id``; a priority set before (``set_priority`` or a non-zero
        ``priority`` here) is kept; adding a registered id again updates its filters."""
        if priority:
            self._priorities[sub_id] = priority
        entry = self._entries.get(sub_id)
        if entry is None:
            self._seq += 1
            self._entries[sub_id] = _Entry(filters, self._now(), self._seq)
        else:
            entry.filters = tuple(dict(f) for f in filters)
            entry.key = _filter_key(entry.filters)

    def remove(self, sub_id: str) -> None:
        """Forget ``sub_id`` (its priority stays); its slot goes to the best waiting one."""
        self._entries.pop(sub_id, None)
        self._waiting.pop(sub_id, None)
        self._pacing.pop(sub_id, None)
        if sub_id in self._active:
            self._active.discard(sub_id)
            self._release()

    def record_activity(
        self, sub_id: str, events: int = 1, response_time: float | None = None
    ) -> None:
        """Count ``events`` for ``sub_id`` (unknown ids are ignored)."""
        entry = self._entries.get(sub_id)
        if entry is None:
            return
        if response_time is not None:
            entry.rt_sum += response_time
            entry.rt_count += 1
        if events <= 0:
            return
        now = self._now()
        entry.rate = entry.per_minute(now) + events
        entry.stamp = now
        entry.events += events
        entry.last_active = now

    def restore_order(self) -> list[str]:
        """Live ids: highest priority first, then most events per minute, then oldest."""
        now = self._now()
        return sorted(self._entries, key=lambda i: self._rank(i, now))

    # -- AdmissionControl ------------------------------------------------------------------

    def admit(self, sub_id: str, send: Send, restore: bool) -> None:
        """Call ``send`` when ``sub_id`` has a slot and, for a restore, a token."""
        self._pacing.pop(sub_id, None)
        if sub_id not in self._active:
            if not self._has_slot():
                if sub_id not in self._waiting:
                    self._delayed += 1
                self._waiting[sub_id] = send
                return
            self._waiting.pop(sub_id, None)
            self._active.add(sub_id)
        if not restore:
            self._admitted += 1
            send()
            return
        self._pacing[sub_id] = send
        self._drain()

    def refused(self, sub_id: str, message: str) -> bool:
        """Take back a ``too many`` refusal: the limit becomes the slots still held."""
        if "too many" not in message.lower() or sub_id not in self._entries:
            return False
        self._active.discard(sub_id)
        self._pacing.pop(sub_id, None)
        held = len(self._active)
        if held == 0:  # refused with none held: waiting would not help
            return False
        self._limit = held if self._limit is None else min(self._limit, held)
        self._refusals += 1
        return True

    # -- the user's side -------------------------------------------------------------------

    @property
    def max_subscriptions(self) -> int | None:
        """The slot limit now: as set, or as learned from the relay."""
        return self._limit

    def learn_limit(self, max_subscriptions: int) -> None:
        """Lower the limit to what the relay announced (NIP-11 ``limitation``)."""
        if max_subscriptions < 1:
            raise ValueError(f"max_subscriptions must be >= 1, got {max_subscriptions}")
        limit = self._limit
        self._limit = max_subscriptions if limit is None else min(limit, max_subscriptions)

    def set_priority(self, sub_id: str, priority: int | None) -> None:
        """Give ``sub_id`` (live or not started yet) a priority; None forgets it (0)."""
        if priority is None:
            self._priorities.pop(sub_id, None)
        else:
            self._priorities[sub_id] = priority

    def usage(self, sub_id: str) -> SubscriptionUsage | None:
        """What ``sub_id`` did, or None if it is not live."""
        entry = self._entries.get(sub_id)
        if entry is None:
            return None
        rt = entry.rt_sum / entry.rt_count if entry.rt_count else None
        return SubscriptionUsage(
            sub_id=sub_id,
            filters=entry.filters,
            priority=self._priorities.get(sub_id, 0),
            created_at=entry.created,
            last_active=entry.last_active,
            events=entry.events,
            events_per_minute=entry.per_minute(self._now()),
            response_time=rt,
            waiting=sub_id in self._waiting,
        )

    def optimize(self) -> list[str]:
        """Ids worth closing: idle longer than ``idle_after``, then exact duplicates of a
        better-ranked subscription's filters. Nothing is closed here."""
        now = self._now()
        idle = [
            sub_id
            for sub_id, entry in self._entries.items()
            if now - (entry.last_active if entry.last_active is not None else entry.created)
            > self.idle_after
        ]
        named = set(idle)
        kept: set[tuple[str, ...]] = set()
        duplicates: list[str] = []
        for sub_id in sorted(self._entries, key=lambda i: self._rank(i, now)):
            key = self._entries[sub_id].key
            if key not in kept:
                kept.add(key)
            elif sub_id not in named:
                duplicates.append(sub_id)
        return idle + duplicates

    def stats(self) -> RepositoryStats:
        """Counts now, and running totals."""
        return RepositoryStats(
            tracked=len(self._entries),
            active=len(self._active),
            waiting=len(self._waiting),
            pacing=len(self._pacing),
            max_subscriptions=self._limit,
            admitted=self._admitted,
            delayed=self._delayed,
            restored=self._restored,
            refusals_taken=self._refusals,
        )

    # -- inside ----------------------------------------------------------------------------

    def _rank(self, sub_id: str, now: float) -> tuple[int, float, float, int]:
        priority = -self._priorities.get(sub_id, 0)
        entry = self._entries.get(sub_id)
        if entry is None:  # admitted without add(): last within its priority
            return (priority, 0.0, math.inf, 0)
        # rates that decayed below a thousandth of an event per minute count as none
        return (priority, -round(entry.per_minute(now), 3), entry.created, entry.seq)

    def _has_slot(self) -> bool:
        return self._limit is None or len(self._active) < self._limit

    def _release(self) -> None:
        """Give free slots to the best-ranked waiting subscriptions."""
        while self._waiting and self._has_slot():
            now = self._now()
            sub_id = min(self._waiting, key=lambda i: self._rank(i, now))
            send = self._waiting.pop(sub_id)
            self._active.add(sub_id)
            self._admitted += 1
            send()

    def _drain(self) -> None:
        """Send the restores a token is there for; wake up when the next one is due."""
        now = self._now()
        if self._stamp is not None:
            self._tokens = min(
                self.restore_rate, self._tokens + (now - self._stamp) * self.restore_rate
            )
        self._stamp = now
        while self._pacing and self._tokens + self.restore_rate * _SLACK >= 1.0:
            sub_id = next(iter(self._pacing))
            send = self._pacing.pop(sub_id)
            self._tokens = max(0.0, self._tokens - 1.0)
            self._admitted += 1
            self._restored += 1
            send()
        if self._pacing and self._timer is None:
            due = (1.0 - self._tokens) / self.restore_rate
            self._timer = self._clock().schedule_relative(due, self._wake)

    def _wake(self, _scheduler: abc.SchedulerBase, _state: Any = None) -> None:
        self._timer = None
        self._drain()

    def _clock(self) -> abc.SchedulerBase:
        if self._scheduler is None:
            self._scheduler = resolve_scheduler(None, None, "SubscriptionRepository")
        return self._scheduler

    def _now(self) -> float:
        clock = self._clock()
        return clock.to_seconds(clock.now)


def _filter_key(filters: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The same for filter sets that are equal as sets (order of filters and keys aside)."""
    return tuple(
        sorted(json.dumps(f, sort_keys=True, separators=(",", ":"), default=str) for f in filters)
    )


async def learn_limit_from_relay(repo: SubscriptionRepository, relay_url: str) -> int | None:
    """Lower ``repo``'s limit to the relay's NIP-11 ``limitation.max_subscriptions``.

    Returns the number learned, or None when the document does not say (the limit is
    then unchanged). A relay that cannot be asked raises ``ConnectionFailed``.
    """
    info = await fetch_relay_info(relay_url)
    limitation = info.get("limitation")
    announced = limitation.get("max_subscriptions") if isinstance(limitation, dict) else None
    if type(announced) is not int or announced < 1:
        return None
    repo.learn_limit(announced)
    return announced
