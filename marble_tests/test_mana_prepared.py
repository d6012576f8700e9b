"""Marble tests of PreparedCache: entries live ``ttl`` in virtual time, then are made again."""

from __future__ import annotations

from typing import Any

import pytest
import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.testing import TestScheduler
from reactivex.testing.marbles import marbles_testing

from rx_honeybee.testing import MarbleHarness
from rx_mana.broadcast import broadcast
from rx_mana.prepared import PreparedCache

ENVELOPES = {"a": '["NOTICE","a"]', "b": '["NOTICE","b"]'}


def through_cache(caches: list[PreparedCache], ttl: float) -> Any:
    """Prepare each key's envelope on a cache on the subscribing scheduler; emit the key
    upper-cased for a miss (encoded now), lower-cased for a hit (served from the cache)."""

    def operator(source: Observable[str]) -> Observable[str]:
        def build(scheduler: abc.SchedulerBase) -> Observable[str]:
            cache = PreparedCache(ttl=ttl, scheduler=scheduler)
            caches.append(cache)

            def classify(key: str) -> str:
                misses = cache.stats().misses
                cache.prepare(ENVELOPES[key])
                return key.upper() if cache.stats().misses > misses else key

            return source.pipe(ops.map(classify))

        return reactivex.defer(build)

    return operator


def test_an_entry_is_served_for_ttl_then_made_again() -> None:
    caches: list[PreparedCache] = []
    with marbles_testing(timespan=1.0) as (start, _cold, hot, exp):
        source = hot("-a-a-b-b-a-a-b-|")
        expected = exp("-A-a-B-b-A-a-B-|")  # ttl 4: a at 1 lives until 5, b at 5 until 9
        results = start(source.pipe(through_cache(caches, ttl=4.0)))
    assert results == expected
    stats = caches[0].stats()
    assert (stats.misses, stats.hits, stats.expired) == (4, 3, 4)  # all gone by t=1000


def test_a_hit_does_not_extend_the_life() -> None:
    caches: list[PreparedCache] = []
    with marbles_testing(timespan=1.0) as (start, _cold, hot, exp):
        source = hot("-a-a-a-a-a-a-|")
        expected = exp("-A-a-a-A-a-a-|")  # made at 1, used at 3 and 5, made again at 7
        results = start(source.pipe(through_cache(caches, ttl=6.0)))
    assert results == expected


def test_the_timer_releases_an_idle_cache_in_virtual_time() -> None:
    scheduler = TestScheduler()
    cache = PreparedCache(ttl=5.0, scheduler=scheduler)
    sizes: list[tuple[float, int]] = []
    scheduler.schedule_absolute(1.0, lambda *_: cache.prepare(ENVELOPES["a"]))
    scheduler.schedule_absolute(3.0, lambda *_: cache.prepare(ENVELOPES["b"]))
    for t in (5.9, 6.1, 7.9, 8.1):  # a expires at 6, b at 8
        scheduler.schedule_absolute(t, lambda *_, t=t: sizes.append((t, len(cache))))
    scheduler.advance_to(20.0)
    assert sizes == [(5.9, 2), (6.1, 1), (7.9, 1), (8.1, 0)]  # nobody called in between
    assert cache.stats().expired == 2
    assert cache._timer is None  # nothing left to expire: no timer either


@pytest.mark.asyncio
async def test_broadcast_on_a_connection_reuses_the_prepared_envelope_within_ttl() -> None:
    h = MarbleHarness(lambda link: ["-o"])
    cache = PreparedCache(ttl=5.0, scheduler=h.scheduler)
    await h.start()  # CONNECTED at 1
    env = '["EVENT","s",{"content":"' + "x" * 300 + '"}]'
    assert broadcast([h.conn], env, cache) == []  # t=1: made
    await h.run_until(3)
    assert broadcast([h.conn], env, cache) == []  # t=3: served
    await h.run_until(7)
    assert broadcast([h.conn], env, cache) == []  # t=7: expired at 6, made again
    await h.run_until(8)
    first, second, third = h.link.sent
    assert first is second and third is not first and third == env
    assert h.link.sent_at == [1.0, 3.0, 7.0]
    await h.conn.close()
