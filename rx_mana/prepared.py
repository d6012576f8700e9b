"""The prepared-message cache: encode an envelope once, and compress it once, for many sockets.

A relay fanning one event out to hundreds of clients, or a pool sending to every relay,
would encode the same text to UTF-8 once per socket and, where permessage-deflate was
negotiated, compress it once per socket: that compression is most of the cost of a send.
:meth:`PreparedCache.prepare` does both once and hands back an
:class:`~rx_honeybee.socket.EncodedText` (a ``str`` that carries its bytes) which any
write queue passes along in order and honeybee's aiohttp link writes as it is (see
:mod:`rx_honeybee.transport.frames` for why that is safe under context takeover).
:func:`rx_mana.broadcast.broadcast` sends through it.

The cache is keyed by the envelope's hash (the dict compares the text on a hash match, so
a collision never serves the wrong message), entries expire ``ttl`` seconds after they were
made (in the scheduler's time, virtual under a ``TestScheduler``), and the oldest go first
when ``memory_limit`` would be exceeded. No I/O: the only timer releases an idle cache.
"""

from __future__ import annotations

import math
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial

from reactivex import abc

from rx_honeybee.operators import resolve_scheduler
from rx_honeybee.socket import EncodedText

__all__ = ["Prepared", "PreparedCache", "PreparedStats"]

_TRAILER = b"\x00\x00\xff\xff"  # ends every sync flush; RFC 7692 section 7.2.1 drops it
_OVERHEAD = 240  # bytes per entry besides text and payloads (objects, dict slot), roughly
_SLACK = 1e-6  # seconds: a timer may fire this early after a round trip through datetime


@dataclass(frozen=True, slots=True)
class PreparedStats:
    """What the cache did so far (running totals) and holds now."""

    hits: int  # prepare() calls answered from the cache
    misses: int  # prepare() calls that encoded the envelope
    evictions: int  # entries dropped to stay within memory_limit
    bytes_in: int  # UTF-8 bytes given to the compressor
    bytes_out: int  # payload bytes it made (the original size where it did not pay)
    ratio: float  # bytes_out / bytes_in; 1.0 before anything was compressed
    expired: int  # entries dropped because their ttl had passed
    entries: int  # held now
    memory: int  # bytes held now, roughly (text, UTF-8 bytes, compressed payload)


@dataclass(frozen=True, slots=True)
class Prepared:
    """One envelope, encoded once: send ``envelope`` (a ``str`` carrying its bytes)."""

    envelope: EncodedText  # what to give Connection.send
    expires_at: float  # scheduler seconds after which the cache forgets it

    @property
    def data(self) -> bytes:
        """The envelope in UTF-8."""
        return self.envelope.data

    @property
    def deflated(self) -> bytes | None:
        """The permessage-deflate payload (made on first use), or None: sent uncompressed."""
        return self.envelope.deflated


class _Entry:
    """A cached envelope and the memory it is charged."""

    __slots__ = ("cached", "memory", "prepared")

    def __init__(self, memory: int) -> None:
        self.memory = memory  # bytes charged to the cache's memory_limit
        self.cached = False  # still held by the cache
        self.prepared: Prepared | None = None  # set once built


class PreparedCache:
    """Envelopes encoded (and compressed) once, for as long as a fan-out needs them.

    Args:
        memory_limit: bytes the entries may hold; the oldest are evicted beyond it, and an
            envelope bigger than this on its own is prepared but not kept.
        ttl: seconds an entry lives after it was made.
        threshold: envelopes of fewer UTF-8 bytes are never compressed (sent as they are:
            deflate costs more than it saves on small messages).
        level: zlib level of the shared compression (1-9); paid once per envelope, not
            once per socket, so it can afford more than aiohttp's per-socket level 1.
        scheduler: the clock and the cleanup timer; an ``AsyncIOScheduler`` on the running
            loop when first used, by default.

    Raises:
        ValueError: a limit out of range.
    """

    def __init__(
        self,
        memory_limit: int = 64 << 20,
        ttl: float = 5.0,
        threshold: int = 256,
        *,
        level: int = 6,
        scheduler: abc.SchedulerBase | None = None,
    ) -> None:
        if memory_limit < 1:
            raise ValueError(f"memory_limit must be >= 1, got {memory_limit}")
        if not (ttl > 0 and math.isfinite(ttl)):
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl}")
        if threshold < 0:
            raise ValueError(f"threshold must be >= 0, got {threshold}")
        if not 1 <= level <= 9:
            raise ValueError(f"level must be within 1..9, got {level}")
        self.memory_limit = memory_limit  # bound on the bytes held
        self.ttl = ttl  # lifetime of an entry, seconds
        self.threshold = threshold  # smallest envelope worth compressing, bytes
        self.level = level  # zlib compression level
        self.scheduler = scheduler  # resolved on first use when None
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # oldest first
        self._memory = 0  # bytes charged by the entries held
        self._timer: abc.DisposableBase | None = None  # expires the oldest entry
        self._hits = self._misses = self._evictions = self._expired = 0
        self._bytes_in = self._bytes_out = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, envelope: object) -> bool:
        return envelope in self._entries

    # -- preparing -----------------------------------------------------------------------

    def prepare(self, envelope: str, *, uses: int = 1) -> Prepared:
        """Return ``envelope`` encoded, from the cache when it was prepared within ``ttl``.

        Args:
            envelope: the envelope text.
            uses: how many sends this call serves (a broadcast asks once for all its
                connections): each counts as a hit, but the first of a new envelope,
                which is the miss that encodes it.

        Raises:
            TypeError: ``envelope`` is not a ``str``.
            UnicodeEncodeError: it holds a lone surrogate (no UTF-8 form; nothing cached).
            InvalidState: no scheduler was given and no asyncio loop runs.
            ValueError: ``uses`` below 1.
        """
        if uses < 1:
            raise ValueError(f"uses must be >= 1, got {uses}")
        now = self._now()
        self._expire(now)
        entry = self._entries.get(envelope)
        if entry is not None:
            self._hits += uses
            return entry.prepared  # type: ignore[return-value]  # set before it is cached
        if not isinstance(envelope, str):
            raise TypeError(f"an envelope is a str, got {type(envelope).__name__}")
        data = envelope.encode("utf-8")
        self._misses += 1
        self._hits += uses - 1
        entry = _Entry(2 * len(data) + _OVERHEAD)
        deflate = partial(self._deflate, data, entry) if len(data) >= self.threshold else None
        encoded = EncodedText(envelope, data, deflate)
        prepared = entry.prepared = Prepared(encoded, now + self.ttl)
        if entry.memory <= self.memory_limit:
            entry.cached = True
            self._entries[encoded] = entry
            self._memory += entry.memory
            self._evict()
            self._arm(now)
        return prepared

    def encoded(self, envelope: str) -> str:
        """``prepare(envelope).envelope``: the hook form, ``Callable[[str], str]``."""
        return self.prepare(envelope).envelope

    def _deflate(self, data: bytes, entry: _Entry) -> bytes | None:
        """Compress ``data`` as one permessage-deflate message with no history."""
        compressor = zlib.compressobj(self.level, zlib.DEFLATED, -zlib.MAX_WBITS)
        payload = (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)).removesuffix(
            _TRAILER
        )
        self._bytes_in += len(data)
        if len(payload) >= len(data):
            self._bytes_out += len(data)
            return None
        self._bytes_out += len(payload)
        entry.memory += len(payload)
        if entry.cached:
            self._memory += len(payload)
            self._evict()
        return payload

    # -- forgetting ----------------------------------------------------------------------

    def purge(self) -> int:
        """Drop the entries whose ``ttl`` has passed; return how many."""
        return self._expire(self._now())

    def clear(self) -> None:
        """Drop every entry and the cleanup timer (the totals stay)."""
        for entry in self._entries.values():
            entry.cached = False
        self._entries.clear()
        self._memory = 0
        if self._timer is not None:
            self._timer.dispose()
            self._timer = None

    def _expire(self, now: float) -> int:
        entries = self._entries
        dropped = 0
        while entries:
            entry = next(iter(entries.values()))
            if entry.prepared.expires_at > now + _SLACK:  # type: ignore[union-attr]
                break
            self._drop_oldest()
            dropped += 1
        self._expired += dropped
        return dropped

    def _evict(self) -> None:
        while self._memory > self.memory_limit and self._entries:
            self._drop_oldest()
            self._evictions += 1

    def _drop_oldest(self) -> None:
        _, entry = self._entries.popitem(last=False)
        entry.cached = False
        self._memory -= entry.memory

    def _arm(self, now: float) -> None:
        """Have the oldest entry dropped when it expires, even if nobody calls again."""
        if self._timer is not None or not self._entries:
            return
        oldest = next(iter(self._entries.values())).prepared
        delay = max(0.0, oldest.expires_at - now)  # type: ignore[union-attr]
        scheduler = self.scheduler
        assert scheduler is not None  # resolved by _now() before anything is cached
        self._timer = scheduler.schedule_relative(delay, self._on_timer)

    def _on_timer(self, scheduler: abc.SchedulerBase, state: object = None) -> None:
        self._timer = None
        now = self._now()
        self._expire(now)
        self._arm(now)

    def _now(self) -> float:
        scheduler = self.scheduler
        if scheduler is None:
            scheduler = self.scheduler = resolve_scheduler(None, None, "PreparedCache")
        return scheduler.to_seconds(scheduler.now)

    # -- numbers -------------------------------------------------------------------------

    def stats(self) -> PreparedStats:
        """The totals so far and what is held now (expired entries are dropped first)."""
        self.purge()
        bytes_in, bytes_out = self._bytes_in, self._bytes_out
        return PreparedStats(
            hits=self._hits,
            misses=self._misses,
            evictions=self._evictions,
            bytes_in=bytes_in,
            bytes_out=bytes_out,
            ratio=bytes_out / bytes_in if bytes_in else 1.0,
            expired=self._expired,
            entries=len(self._entries),
            memory=self._memory,
        )
