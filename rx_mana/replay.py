"""The replay policy: what a connection could not deliver yet, kept and ordered for later.

No I/O here (:func:`rx_mana.replaying.with_replay` wires it to a connection), so it is
tested alone. Why it exists next to honeybee's write queue, which already keeps what
was put while dialling and rewrites a write that failed on a dying socket:

- that queue is bounded by ``write_queue_size`` (``QueueFull`` while a relay is down for
  long), strictly FIFO and ageless; this buffer evicts the lowest priority, then the
  oldest, expires after ``max_age`` and replays by priority, then age;
- once a socket took an envelope, the queue forgets it, even if the socket dies before
  the relay read it; this buffer keeps an EVENT until its ``OK`` arrives.

Each entry is in one place at a time — waiting here, in the connection's queue, or on
the wire awaiting its ``OK`` — so nothing is handed to the connection twice at once.
"""

from __future__ import annotations

import enum
import heapq
from dataclasses import dataclass

from reactivex import abc

from rx_honeybee.operators import resolve_scheduler
from rx_mana.errors import ReplayGivenUp
from rx_roots import RootsError, find_event, get_label

__all__ = ["Held", "ReplayBuffer", "ReplayStats", "Stage"]


@dataclass(frozen=True, slots=True)
class ReplayStats:
    """A snapshot of a :class:`ReplayBuffer`; the last five are running totals."""

    buffered: int  # waiting here for a (re)send
    in_flight: int  # handed to the connection, not confirmed yet
    replayed: int  # sends out of the buffer
    confirmed: int  # written (any envelope) and, for an EVENT, answered with OK
    expired: int  # older than max_age before they were confirmed
    evicted: int  # pushed out of a full buffer
    given_up: int  # replayed max_attempts times unconfirmed, refused, or the connection ended


class Stage(enum.Enum):
    """Where an entry is; it moves forward, or back to WAITING when a socket is lost."""

    WAITING = "waiting"  # here, until the next replay batch
    QUEUED = "queued"  # in the connection's write queue: that queue writes it
    WRITTEN = "written"  # an EVENT a socket took, waiting for its OK
    DONE = "done"  # confirmed or given up: forgotten


class Held:
    """One envelope the buffer looks after."""

    __slots__ = ("added_at", "attempts", "envelope", "event_id", "priority", "rank", "seq", "stage")

    def __init__(
        self, envelope: str, priority: int | None, seq: int, added_at: float, event_id: str | None
    ) -> None:
        self.envelope = envelope  # the text frame, as the application sent it
        self.priority = priority  # as given (None: the connection's queue decides)
        self.rank = 0 if priority is None else priority  # the buffer's order: higher first
        self.seq = seq  # order of the first send: older is lower
        self.added_at = added_at  # scheduler seconds of the first send; age counts from here
        self.event_id = event_id  # an EVENT's id (confirmed by OK), else None
        self.attempts = 0  # replays so far (the first send is not one)
        self.stage = Stage.WAITING


def event_id_of(envelope: str) -> str | None:
    """The id of a client ``["EVENT",<event>]``, else None (confirmed once written)."""
    try:
        if get_label(envelope) != "EVENT":
            return None
        event_id = find_event(envelope).get("id")
    except RootsError:
        return None
    return event_id if type(event_id) is str else None


def _can_expire(held: Held) -> bool:
    """Whether ``held`` can expire here: waiting or written, not in the connection's queue."""
    return held.stage is Stage.WAITING or held.stage is Stage.WRITTEN


class ReplayBuffer:
    """Bounded, expiring, priority-ordered store of envelopes still to be delivered.

    Args:
        max_messages: most envelopes waiting at once; beyond, the lowest priority (then
            the oldest) is evicted and reported. In-flight ones are bounded by the
            connection's queue and by ``max_age``.
        max_age: seconds from the first send after which an unconfirmed envelope expires.
        max_attempts: replays of one envelope; unconfirmed after that, it is given up.
        batch_size: most envelopes handed to the connection per replay batch.
        batch_delay: seconds between replay batches (0: the next turn of the scheduler).
        scheduler: the clock and the timers; by default the connection's, or the asyncio
            loop's (see :func:`~rx_mana.replaying.with_replay`).

    Raises:
        ValueError: a bound below 1, ``max_age`` not above 0, ``batch_delay`` below 0.
    """

    def __init__(
        self,
        max_messages: int = 1000,
        max_age: float = 300.0,
        max_attempts: int = 3,
        batch_size: int = 50,
        batch_delay: float = 0.1,
        *,
        scheduler: abc.SchedulerBase | None = None,
    ) -> None:
        if max_messages < 1 or max_attempts < 1 or batch_size < 1:
            raise ValueError("max_messages, max_attempts and batch_size must be >= 1")
        if not max_age > 0:
            raise ValueError(f"max_age must be > 0, got {max_age}")
        if not batch_delay >= 0:
            raise ValueError(f"batch_delay must be >= 0, got {batch_delay}")
        self.max_messages = max_messages
        self.max_age = float(max_age)
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.batch_delay = float(batch_delay)
        self.scheduler = scheduler  # resolved on first use, or set by with_replay
        self._seq = 0  # the last entry's seq
        self._live: dict[int, Held] = {}  # every entry not DONE, by seq: oldest first
        self._waiting: dict[int, Held] = {}  # the WAITING ones, by seq
        self._order: list[tuple[int, int]] = []  # heap of (-rank, seq): next to replay first
        self._victims: list[tuple[int, int]] = []  # heap of (rank, seq): next to evict first
        self._ages: list[tuple[float, int]] = []  # heap of (added_at, seq): next to expire
        self._awaiting: dict[str, list[Held]] = {}  # WRITTEN EVENTs by id
        self._replayed = self._confirmed = self._expired = self._evicted = self._given_up = 0

    # -- time ----------------------------------------------------------------------------

    def now(self) -> float:
        """The scheduler's clock in seconds (virtual under a TestScheduler).

        Raises:
            InvalidState: no scheduler was given and no asyncio loop runs.
        """
        if self.scheduler is None:
            self.scheduler = resolve_scheduler(None, None, "ReplayBuffer")
        return self.scheduler.now.timestamp()

    # -- entries in --------------------------------------------------------------------

    def hold(self, envelope: str, priority: int | None = None) -> list[ReplayGivenUp]:
        """Keep ``envelope`` for the next replay; return what a full buffer evicted."""
        return self._wait(self._new(envelope, priority))

    def track(self, envelope: str, priority: int | None = None) -> Held:
        """Follow ``envelope`` handed straight to the connection (QUEUED, not a replay)."""
        held = self._new(envelope, priority)
        held.stage = Stage.QUEUED
        return held

    def defer(self, held: Held) -> list[ReplayGivenUp]:
        """The connection refused a tracked ``held`` (its queue is full): keep it here."""
        return self._wait(held)

    def _new(self, envelope: str, priority: int | None) -> Held:
        self._seq += 1
        held = Held(envelope, priority, self._seq, self.now(), event_id_of(envelope))
        self._live[held.seq] = held
        return held

    def _wait(self, held: Held) -> list[ReplayGivenUp]:
        held.stage = Stage.WAITING
        self._waiting[held.seq] = held
        heapq.heappush(self._order, (-held.rank, held.seq))
        heapq.heappush(self._victims, (held.rank, held.seq))
        heapq.heappush(self._ages, (held.added_at, held.seq))
        evicted: list[ReplayGivenUp] = []
        while len(self._waiting) > self.max_messages:
            victim = self._pop(self._victims)
            self._done(victim)
            self._evicted += 1
            evicted.append(ReplayGivenUp(victim.envelope, victim.attempts, "evicted"))
        return evicted

    def _pop(self, heap: list[tuple[int, int]]) -> Held:
        """The first WAITING entry of ``heap``, taken out of WAITING (stale items skipped)."""
        while True:
            _, seq = heapq.heappop(heap)
            held = self._waiting.pop(seq, None)
            if held is not None:
                self._compact()
                return held

    def _compact(self) -> None:
        """Drop stale heap items once they outnumber the live ones (memory stays bounded).

        A heap item is stale when its entry left the stage it was pushed for; items are
        skipped when met, and rebuilt from the entries here when too many pile up.
        """
        limit = 2 * len(self._waiting) + 64
        if len(self._order) > limit or len(self._victims) > limit:
            waiting = self._waiting.values()
            self._order = [(-h.rank, h.seq) for h in waiting]
            self._victims = [(h.rank, h.seq) for h in waiting]
            heapq.heapify(self._order)
            heapq.heapify(self._victims)
        if len(self._ages) > 2 * len(self._live) + 64:
            self._ages = [(h.added_at, h.seq) for h in self._live.values() if _can_expire(h)]
            heapq.heapify(self._ages)

    def _done(self, held: Held) -> None:
        held.stage = Stage.DONE
        self._live.pop(held.seq, None)

    # -- replaying -----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._waiting)

    def order(self) -> list[str]:
        """The waiting envelopes in replay order: priority (higher first), then age."""
        return [h.envelope for h in sorted(self._waiting.values(), key=lambda h: (-h.rank, h.seq))]

    def take(self) -> Held | None:
        """The next envelope to replay (its attempt counted, now QUEUED), or None."""
        if not self._waiting:
            return None
        held = self._pop(self._order)
        held.stage = Stage.QUEUED
        held.attempts += 1
        self._replayed += 1
        return held

    def untake(self, held: Held) -> None:
        """The connection refused a replay of ``held``: back to WAITING, uncounted."""
        held.attempts -= 1
        self._replayed -= 1
        self._wait(held)  # it just left: there is room

    # -- confirmation and loss ---------------------------------------------------------

    @property
    def awaiting_ok(self) -> bool:
        """Whether some EVENT waits for its OK (an OK reader can skip work otherwise)."""
        return bool(self._awaiting)

    def written(self, held: Held, live: bool) -> list[ReplayGivenUp]:
        """A socket took ``held``; ``live``: that socket is still the current one.

        Anything but an EVENT is confirmed now; an EVENT awaits its OK, or, written on a
        socket that is already gone, counts as lost.
        """
        if held.stage is not Stage.QUEUED:
            return []
        if held.event_id is None:
            self._confirm(held)
            return []
        if not live:
            return self._lose(held)
        held.stage = Stage.WRITTEN
        self._awaiting.setdefault(held.event_id, []).append(held)
        heapq.heappush(self._ages, (held.added_at, held.seq))
        return []

    def answered(self, event_id: str) -> int:
        """An OK for ``event_id`` arrived: confirm the EVENTs awaiting it; return how many."""
        entries = self._awaiting.pop(event_id, ())
        for held in entries:
            self._confirm(held)
        if entries:
            self._compact()
        return len(entries)

    def _confirm(self, held: Held) -> None:
        self._done(held)
        self._confirmed += 1

    def lost(self) -> list[ReplayGivenUp]:
        """The socket was lost: EVENTs it took without an OK wait for a replay again."""
        awaiting, self._awaiting = self._awaiting, {}
        errors: list[ReplayGivenUp] = []
        for entries in awaiting.values():
            for held in entries:
                errors += self._lose(held)
        return errors

    def refuse(self, held: Held, error: Exception) -> ReplayGivenUp:
        """The connection refused ``held`` for good (not a full queue): give it up."""
        self._done(held)
        self._given_up += 1
        given_up = ReplayGivenUp(held.envelope, held.attempts, "refused")
        given_up.__cause__ = error
        return given_up

    def _lose(self, held: Held) -> list[ReplayGivenUp]:
        if held.attempts >= self.max_attempts:
            self._done(held)
            self._given_up += 1
            return [ReplayGivenUp(held.envelope, held.attempts, "attempts")]
        return self._wait(held)

    def expire(self) -> list[ReplayGivenUp]:
        """Give up every waiting or written entry older than ``max_age``; return them."""
        now = self.now()
        errors: list[ReplayGivenUp] = []
        while (held := self._oldest()) is not None and held.added_at + self.max_age <= now:
            heapq.heappop(self._ages)
            if held.stage is Stage.WAITING:
                del self._waiting[held.seq]
            else:
                self._unawait(held)
            self._done(held)
            self._expired += 1
            errors.append(ReplayGivenUp(held.envelope, held.attempts, "expired"))
        if errors:
            self._compact()
        return errors

    def _oldest(self) -> Held | None:
        """The oldest waiting or written entry (a queued one is the connection's to write)."""
        ages = self._ages
        while ages:
            held = self._live.get(ages[0][1])
            if held is not None and _can_expire(held):
                return held
            heapq.heappop(ages)
        return None

    def _unawait(self, held: Held) -> None:
        assert held.event_id is not None  # only EVENTs are WRITTEN
        entries = self._awaiting[held.event_id]
        entries.remove(held)
        if not entries:
            del self._awaiting[held.event_id]

    def expires_at(self) -> float | None:
        """When (scheduler seconds) the oldest waiting or written entry expires, if any."""
        held = self._oldest()
        return None if held is None else held.added_at + self.max_age

    def next_expiry(self) -> float | None:
        """Seconds until the oldest waiting or written entry expires; None if there is none."""
        due = self.expires_at()
        return None if due is None else max(0.0, due - self.now())

    def abandon(self) -> list[ReplayGivenUp]:
        """The connection ended: give up everything unconfirmed and return it."""
        errors = [ReplayGivenUp(h.envelope, h.attempts, "closed") for h in self._live.values()]
        self._given_up += len(errors)
        for held in list(self._live.values()):
            held.stage = Stage.DONE
        self._live.clear()
        self._waiting.clear()
        self._order.clear()
        self._victims.clear()
        self._ages.clear()
        self._awaiting.clear()
        return errors

    def detach(self) -> list[ReplayGivenUp]:
        """The adapter stops: written EVENTs wait again, queued ones are the connection's.

        A buffer detached this way can be given to another ``with_replay``.
        """
        errors = self.lost()
        for held in [h for h in self._live.values() if h.stage is Stage.QUEUED]:
            self._done(held)
        return errors

    def stats(self) -> ReplayStats:
        """A snapshot of the counts."""
        waiting = len(self._waiting)
        return ReplayStats(
            buffered=waiting,
            in_flight=len(self._live) - waiting,
            replayed=self._replayed,
            confirmed=self._confirmed,
            expired=self._expired,
            evicted=self._evicted,
            given_up=self._given_up,
        )
