"""Unit tests of the balanced pool's strategies: plain Candidate tuples, no I/O."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from rx_mana.strategies import (
    Candidate,
    ConsistentHash,
    LeastConnections,
    ResponseTime,
    RoundRobin,
    WeightedRandom,
)

A, B, C, D, E = (f"wss://r{i}.example" for i in range(5))


def cand(url: str, load: int = 0, rtt: float | None = None, score: float = 1.0) -> Candidate:
    return Candidate(url, load, rtt, score)


def test_round_robin_takes_each_in_turn() -> None:
    rr = RoundRobin()
    cands = [cand(A), cand(B), cand(C)]
    assert [rr.choose(cands, None) for _ in range(6)] == [A, B, C, A, B, C]


def test_round_robin_spreads_over_a_changing_set() -> None:
    rr = RoundRobin()
    sets = [[A, B, C], [A, B], [A, B, C], [B, C]]  # by position: turn n picks n % len(set)
    picks = [rr.choose([cand(url) for url in urls], None) for urls in sets]
    assert picks == [A, B, C, C]
    assert Counter(rr.choose([cand(A), cand(B)], None) for _ in range(4)) == {A: 2, B: 2}


@pytest.mark.parametrize(
    "strategy",
    [RoundRobin(), LeastConnections(), ResponseTime(), WeightedRandom({}), ConsistentHash()],
)
def test_every_strategy_refuses_an_empty_set(strategy: object) -> None:
    with pytest.raises(ValueError, match="no candidates"):
        strategy.choose([], "k")  # type: ignore[attr-defined]


def test_least_connections_picks_the_lowest_load() -> None:
    lc = LeastConnections()
    assert lc.choose([cand(A, 5), cand(B, 1), cand(C, 3)], None) == B


def test_least_connections_shares_ties() -> None:
    lc = LeastConnections()
    cands = [cand(A, 2), cand(B, 0), cand(C, 0)]
    assert [lc.choose(cands, None) for _ in range(4)] == [B, C, B, C]


def test_response_time_tries_untried_relays_first() -> None:
    rt = ResponseTime()
    assert rt.choose([cand(A, rtt=0.01), cand(B), cand(C, rtt=0.5)], None) == B


def test_response_time_then_picks_the_fastest() -> None:
    rt = ResponseTime()
    assert rt.choose([cand(A, rtt=0.3), cand(B, rtt=0.02), cand(C, rtt=0.5)], None) == B


def test_weighted_random_follows_the_weights() -> None:
    wr = WeightedRandom({A: 3.0, "R1.EXAMPLE": 1.0}, random.Random(7))  # any spelling
    picks = Counter(wr.choose([cand(A), cand(B)], None) for _ in range(4000))
    assert 0.70 < picks[A] / 4000 < 0.80


def test_weighted_random_uses_the_default_for_unlisted_relays() -> None:
    wr = WeightedRandom({A: 0.0}, random.Random(1), default=1.0)
    assert {wr.choose([cand(A), cand(B)], None) for _ in range(200)} == {B}


def test_weighted_random_with_all_zero_weights_picks_uniformly() -> None:
    wr = WeightedRandom({A: 0.0, B: 0.0}, random.Random(3))
    picks = Counter(wr.choose([cand(A), cand(B)], None) for _ in range(1000))
    assert set(picks) == {A, B} and 400 < picks[A] < 600


@pytest.mark.parametrize("weights", [{A: -1.0}, {A: float("nan")}])
def test_weighted_random_refuses_bad_weights(weights: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="weight"):
        WeightedRandom(weights)


def test_consistent_hash_refuses_no_replicas() -> None:
    with pytest.raises(ValueError, match="replicas"):
        ConsistentHash(0)


def test_consistent_hash_sends_a_key_to_the_same_relay_every_time() -> None:
    ch = ConsistentHash()
    cands = [cand(A), cand(B), cand(C)]
    first = [ch.choose(cands, f"key{i}") for i in range(100)]
    # a fresh ring (another process, say) agrees: the hash is stable, not Python's hash()
    again = ConsistentHash()
    assert [again.choose(list(reversed(cands)), f"key{i}") for i in range(100)] == first
    assert len(set(first)) == 3


def test_consistent_hash_without_a_key_goes_round_robin() -> None:
    ch = ConsistentHash()
    assert [ch.choose([cand(A), cand(B)], None) for _ in range(4)] == [A, B, A, B]


KEYS = [f"pubkey-{i}" for i in range(10_000)]


def owners(ch: ConsistentHash, urls: list[str]) -> list[str]:
    cands = [cand(u) for u in urls]
    return [ch.choose(cands, k) for k in KEYS]


def test_adding_a_fifth_relay_moves_a_fifth_of_the_keys_all_to_it() -> None:
    ch = ConsistentHash(replicas=100)
    before = owners(ch, [A, B, C, D])
    after = owners(ch, [A, B, C, D, E])
    moved = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert {a for _, a in moved} == {E}  # every moved key went to the new relay
    assert 0.15 < len(moved) / len(KEYS) < 0.25  # ≈ 1/5
    share = Counter(after)
    assert all(0.12 < share[u] / len(KEYS) < 0.28 for u in (A, B, C, D, E))  # balanced


def test_removing_a_relay_moves_only_its_keys() -> None:
    ch = ConsistentHash(replicas=100)
    before = owners(ch, [A, B, C, D])
    after = owners(ch, [A, B, D])
    for b, a in zip(before, after, strict=True):
        if b != C:
            assert a == b  # keys of the relays that stay do not move
        else:
            assert a != C
    assert 0.15 < before.count(C) / len(KEYS) < 0.35  # ≈ 1/4 moved


def test_the_ring_cache_stays_bounded() -> None:
    ch = ConsistentHash(replicas=2)
    urls = [f"wss://r{i}.example" for i in range(20)]
    for n in range(1, 20):
        ch.choose([cand(u) for u in urls[:n]], "k")
    ch.choose([cand(urls[18])], "k")  # cached, then the oldest ones evicted
    assert len(ch._rings) <= 8
    ch.choose([cand(u) for u in urls[:19]], "k")  # a hit moves it to the end
    assert list(ch._rings)[-1] == frozenset(urls[:19])
