"""rx_roots throughput against bare ujson / string baselines measured in the same run.

Run: .venv/bin/python bench/roots_bench.py [--n 20000] [--repeat 5]
Prints a table of µs per call and the ratio to its baseline (lower is better).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import ujson

from rx_roots import (
    enclose_eose,
    enclose_ok,
    enclose_req,
    enclose_subscription_event,
    find_subscription_event,
    get_label,
)

_OPTS: dict[str, Any] = {"ensure_ascii": False, "escape_forward_slashes": False}


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def make_event(rng: random.Random, content_len: int) -> dict[str, Any]:
    """A realistic kind-1 note: 64-hex id/pubkey, 128-hex sig, a few tags."""
    words = ["nostr", "relay", "zap", "bitcoin", "café", "https://example.com/x", "🌻", "gm"]
    content = ""
    while len(content) < content_len:
        content += rng.choice(words) + " "
    return {
        "id": _hex(rng, 64),
        "pubkey": _hex(rng, 64),
        "created_at": 1_700_000_000 + rng.randrange(10_000_000),
        "kind": 1,
        "tags": [["e", _hex(rng, 64)], ["p", _hex(rng, 64)], ["t", "nostr"]],
        "content": content[:content_len],
        "sig": _hex(rng, 128),
    }


def best(fn: Callable[[Sequence[Any]], None], data: Sequence[Any], repeat: int) -> float:
    """Best-of-``repeat`` seconds per item (the least disturbed run on a noisy machine)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - start)
    return min(times) / len(data)


def loop_loads(data: Sequence[str]) -> None:
    loads = ujson.loads
    for env in data:
        loads(env)


def loop_find(data: Sequence[str]) -> None:
    for env in data:
        find_subscription_event(env)


def loop_label(data: Sequence[str]) -> None:
    for env in data:
        get_label(env)


def loop_concat(data: Sequence[tuple[str, str]]) -> None:
    for sub, ev in data:
        '["EVENT","' + sub + '",' + ev + "]"  # noqa: B018 - the baseline is the expression


def loop_enclose(data: Sequence[tuple[str, Any]]) -> None:
    for sub, ev in data:
        enclose_subscription_event(sub, ev)


def loop_dumps(data: Sequence[tuple[str, Any]]) -> None:
    dumps = ujson.dumps
    for sub, ev in data:
        dumps(["EVENT", sub, ev], **_OPTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(42)
    events = [make_event(rng, rng.randrange(200, 2001)) for _ in range(args.n)]
    event_envs = [enclose_subscription_event("sub1", ev) for ev in events]
    mixed = []
    for i, env in enumerate(event_envs):
        mixed.append(env)
        if i % 10 == 0:
            mixed.append(enclose_ok(events[i]["id"], True, ""))
            mixed.append(enclose_eose("sub1"))
            mixed.append(enclose_req("sub1", [{"kinds": [1], "limit": 100}]))
    kb1 = [e for e in event_envs if 900 <= len(e.encode()) <= 1200]
    big_event = make_event(rng, 64_000)
    kb64 = [enclose_subscription_event("sub1", big_event)] * max(200, args.n // 100)
    str_pairs = [("sub1", ujson.dumps(ev, **_OPTS)) for ev in events]
    map_pairs = [("sub1", ev) for ev in events]

    rows = [
        ("find_subscription_event / ujson.loads (EVENT)", loop_find, loop_loads, event_envs, 1.3),
        ("get_label / ujson.loads (mixed corpus)", loop_label, loop_loads, mixed, None),
        ("get_label / ujson.loads (~1 KB)", loop_label, loop_loads, kb1, 0.2),
        ("get_label / ujson.loads (64 KB)", loop_label, loop_loads, kb64, 0.2),
        ("enclose_subscription_event(str) / concat", loop_enclose, loop_concat, str_pairs, None),
        (
            "enclose_subscription_event(dict) / ujson.dumps",
            loop_enclose,
            loop_dumps,
            map_pairs,
            None,
        ),
    ]
    print(f"{'measure':50} {'ours µs':>9} {'base µs':>9} {'ratio':>7} {'target':>7}")
    for name, ours, base, data, target in rows:
        t_base = best(base, data, args.repeat)
        t_ours = best(ours, data, args.repeat)
        ratio = t_ours / t_base
        tgt = f"≤{target}" if target is not None else "-"
        print(f"{name:50} {t_ours * 1e6:9.3f} {t_base * 1e6:9.3f} {ratio:7.3f} {tgt:>7}")


if __name__ == "__main__":
    main()
