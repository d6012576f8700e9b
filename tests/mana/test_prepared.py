"""PreparedCache (encode once, compress once, ttl, memory bound, stats) and broadcast."""

from __future__ import annotations

import dataclasses
import zlib

import pytest
from reactivex.testing import TestScheduler

from rx_honeybee.errors import InvalidState, QueueFull
from rx_honeybee.socket import EncodedText
from rx_honeybee.testing import until
from rx_mana.broadcast import broadcast
from rx_mana.prepared import Prepared, PreparedCache, PreparedStats

TEXT = '["EVENT","s",{"content":"' + "gm nostr, " * 60 + '"}]'  # ~630 bytes, compressible
SMALL = '["NOTICE","hi"]'


def cache(scheduler: TestScheduler | None = None, **kwargs: object) -> PreparedCache:
    return PreparedCache(scheduler=scheduler or TestScheduler(), **kwargs)  # type: ignore[arg-type]


def inflate(payload: bytes) -> bytes:
    return zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"memory_limit": 0},
        {"ttl": 0},
        {"ttl": -1.0},
        {"ttl": float("inf")},
        {"ttl": float("nan")},
        {"threshold": -1},
        {"level": 0},
        {"level": 10},
    ],
)
def test_invalid_configuration_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        PreparedCache(**kwargs)  # type: ignore[arg-type]


def test_prepare_encodes_once_and_serves_the_same_object() -> None:
    c = cache()
    first = c.prepare(TEXT)
    assert isinstance(first, Prepared) and isinstance(first.envelope, EncodedText)
    assert first.envelope == TEXT and first.data == TEXT.encode()
    assert c.prepare(TEXT) is first and c.prepare(str(TEXT)) is first
    assert TEXT in c and len(c) == 1
    s = c.stats()
    assert (s.hits, s.misses, s.entries) == (2, 1, 1)
    assert c.encoded(TEXT) is first.envelope


def test_uses_counts_the_sends_one_call_serves() -> None:
    c = cache()
    c.prepare(TEXT, uses=5)
    c.prepare(TEXT, uses=3)
    s = c.stats()
    assert (s.misses, s.hits) == (1, 7)
    with pytest.raises(ValueError):
        c.prepare(TEXT, uses=0)


def test_non_ascii_text_is_utf8() -> None:
    p = cache().prepare('["NOTICE","☕ café"]')
    assert p.data == '["NOTICE","☕ café"]'.encode()


def test_compression_happens_once_on_first_demand_and_round_trips() -> None:
    c = cache()
    p = c.prepare(TEXT)
    assert c.stats().bytes_in == 0  # nothing compressed until a deflating socket asks
    payload = p.deflated
    assert payload is not None and len(payload) < len(p.data)
    assert not payload.endswith(b"\x00\x00\xff\xff")  # RFC 7692: the tail is removed
    assert inflate(payload) == p.data
    assert p.deflated is payload  # once
    s = c.stats()
    assert (s.bytes_in, s.bytes_out) == (len(p.data), len(payload))
    assert s.ratio == pytest.approx(len(payload) / len(p.data)) and s.ratio < 0.5
    assert s.memory == 2 * len(p.data) + 240 + len(payload)


def test_below_threshold_nothing_is_compressed() -> None:
    c = cache()
    assert c.prepare(SMALL).deflated is None
    s = c.stats()
    assert (s.bytes_in, s.bytes_out, s.ratio) == (0, 0, 1.0)


def test_compression_that_does_not_pay_is_not_used() -> None:
    tiny = '["A"]'  # deflate framing alone is longer than this
    c = cache(threshold=0, level=9)
    assert c.prepare(tiny).deflated is None
    s = c.stats()
    assert s.bytes_in == s.bytes_out == len(tiny)


def test_level_is_the_compression_level() -> None:
    fast = cache(level=1).prepare(TEXT * 20).deflated
    best = cache(level=9).prepare(TEXT * 20).deflated
    assert fast is not None and best is not None and len(best) <= len(fast)


def test_entries_expire_ttl_after_they_were_made() -> None:
    s = TestScheduler()
    c = cache(s, ttl=5.0)
    first = c.prepare(TEXT)
    s.advance_to(3.0)
    assert c.prepare(TEXT) is first  # a hit does not extend the life
    c.prepare(SMALL)
    s.advance_to(4.999)
    assert c.purge() == 0
    s.advance_to(5.0)  # t = 5: the first is due (the timer has fired too)
    assert TEXT not in c and SMALL in c
    again = c.prepare(TEXT)
    assert again is not first and again.expires_at == pytest.approx(10.0)
    st = c.stats()
    assert (st.misses, st.hits, st.expired) == (3, 1, 1)


def test_purge_without_the_timer_drops_what_is_due() -> None:
    s = TestScheduler()
    c = cache(s, ttl=1.0)
    c.prepare(TEXT)
    c.prepare(SMALL)
    c.clear()  # the timer goes with it
    c.prepare(TEXT)
    c._timer.dispose()  # type: ignore[union-attr]  # as if it never ran
    s.advance_to(2.0)
    assert len(c) == 1
    assert c.purge() == 1 and len(c) == 0 and c.stats().memory == 0


def test_the_oldest_entries_are_evicted_beyond_the_memory_limit() -> None:
    texts = [f'["NOTICE","{n}"]' for n in range(4)]
    per_entry = 2 * len(texts[0].encode()) + 240
    c = cache(memory_limit=3 * per_entry)
    for text in texts:
        c.prepare(text)
    assert [t in c for t in texts] == [False, True, True, True]
    s = c.stats()
    assert (s.evictions, s.entries, s.memory) == (1, 3, 3 * per_entry)


def test_an_envelope_bigger_than_the_limit_is_prepared_but_not_kept() -> None:
    c = cache(memory_limit=300)
    p = c.prepare(TEXT)
    assert p.envelope == TEXT and len(c) == 0
    assert p.deflated is not None  # still compressible for this broadcast
    assert c.stats().memory == 0


def test_a_payload_made_later_counts_against_the_limit() -> None:
    a, b = TEXT, TEXT.replace("gm", "gn")
    raw = 2 * len(a.encode()) + 240
    c = cache(memory_limit=2 * raw + 10)
    pa = c.prepare(a)
    c.prepare(b)
    assert len(c) == 2
    assert pa.deflated is not None  # a grows by its payload: over the limit, a goes
    assert a not in c and b in c and c.stats().evictions == 1


def test_lone_surrogates_and_non_text_are_refused_and_not_cached() -> None:
    c = cache()
    with pytest.raises(UnicodeEncodeError):
        c.prepare('["NOTICE","\ud800"]')
    with pytest.raises(TypeError):
        c.prepare(b"bytes")  # type: ignore[arg-type]
    assert len(c) == 0 and c.stats().misses == 0


def test_without_a_scheduler_it_needs_a_running_loop() -> None:
    with pytest.raises(InvalidState):
        PreparedCache().prepare(TEXT)


@pytest.mark.asyncio
async def test_inside_a_loop_it_runs_on_the_loop_clock() -> None:
    c = PreparedCache(ttl=0.01)
    c.prepare(TEXT)
    assert len(c) == 1
    await until(lambda: len(c) == 0)  # the loop timer released it
    c.clear()


def test_stats_is_a_frozen_dataclass() -> None:
    s = cache().stats()
    assert isinstance(s, PreparedStats)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.hits = 1  # type: ignore[misc]


# -- broadcast ---------------------------------------------------------------------------


class FakeConn:
    def __init__(self, error: Exception | None = None) -> None:
        self.sent: list[tuple[str, int | None]] = []
        self.error = error

    def send(self, envelope: str, *, priority: int | None = None) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append((envelope, priority))


def test_broadcast_sends_one_prepared_object_to_all_and_collects_refusals() -> None:
    c = cache()
    full = QueueFull(10)
    conns = [FakeConn(), FakeConn(full), FakeConn(), FakeConn(InvalidState("closed"))]
    errors = broadcast(iter(conns), TEXT, c, priority=2)
    assert errors[0] is full and isinstance(errors[1], InvalidState) and len(errors) == 2
    sent = [conns[0].sent[0][0], conns[2].sent[0][0]]
    assert sent[0] is sent[1] and isinstance(sent[0], EncodedText) and sent[0] == TEXT
    assert conns[0].sent[0][1] == 2
    s = c.stats()
    assert (s.misses, s.hits) == (1, 3)


def test_broadcast_of_an_unencodable_envelope_sends_nothing() -> None:
    conns = [FakeConn(), FakeConn()]
    errors = broadcast(conns, '["NOTICE","\ud800"]', cache())
    assert len(errors) == 1 and isinstance(errors[0], UnicodeEncodeError)
    assert conns[0].sent == conns[1].sent == []


def test_broadcast_to_nobody_prepares_nothing() -> None:
    c = cache()
    assert broadcast([], TEXT, c) == []
    assert c.stats().misses == 0
