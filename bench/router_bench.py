"""Router cost per envelope against a hand-written dict of Subjects, in the same run.

Run: .venv/bin/python bench/router_bench.py [--n 100000] [--repeat 5]

Envelopes are a realistic inbound mix (~90% EVENT of ~700 bytes, the rest OK, EOSE and
NOTICE) pushed through a Subject. Every variant reads each label with ``get_label`` and
delivers each envelope to a sink subscribed per label, so the differences are the
routing machinery alone:

- ``dict``: baseline, one subscriber looking the label up in a dict of Subjects;
- ``route``: ``route()`` with each group subscribed directly as it opens;
- ``channels``: ``channels()``, one subscriber per label channel;
- ``rx ops``: the same channels stacked from stock reactivex operators (guard,
  ``group_by``, ``share``, ``filter``, ``merge_all``), for comparison.

Prints µs per envelope, the ratio to the baseline and the overhead over it (lower is
better). Also prints the bare ``get_label`` loop, which every variant pays.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from reactivex import GroupedObservable, Observable, abc
from reactivex import operators as ops
from reactivex.subject import Subject

from rx_honeybee.channels import channels
from rx_honeybee.router import route
from rx_roots import (
    RootsError,
    enclose_eose,
    enclose_notice,
    enclose_ok,
    enclose_subscription_event,
    get_label,
    standard_labels,
)


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def make_envelopes(n: int, seed: int = 1) -> list[str]:
    """Build ``n`` inbound envelopes: 90% EVENT (~700 bytes), then OK / EOSE / NOTICE."""
    rng = random.Random(seed)
    words = ["nostr", "relay", "zap", "bitcoin", "café", "https://example.com/x", "🌻", "gm"]
    events = []
    for _ in range(200):  # a pool of distinct events, reused: building 90k costs seconds
        content = ""
        while len(content) < 170:
            content += rng.choice(words) + " "
        event = {
            "id": _hex(rng, 64),
            "pubkey": _hex(rng, 64),
            "created_at": 1_700_000_000 + rng.randrange(10_000_000),
            "kind": 1,
            "tags": [["e", _hex(rng, 64)], ["p", _hex(rng, 64)], ["t", "nostr"]],
            "content": content[:170],
            "sig": _hex(rng, 128),
        }
        events.append(enclose_subscription_event(f"sub{rng.randrange(20)}", event))
    others = [
        enclose_ok(_hex(rng, 64), True, ""),
        enclose_ok(_hex(rng, 64), False, "duplicate: already have this event"),
        enclose_eose("sub3"),
        enclose_notice("rate-limited: slow down"),
    ]
    return [rng.choice(events) if rng.random() < 0.9 else rng.choice(others) for _ in range(n)]


Setup = Callable[[Callable[[Any], None]], Subject[str]]


def setup_dict(sink: Callable[[Any], None]) -> Subject[str]:
    """Baseline: one subscriber dispatching to a dict of per-label Subjects."""
    source: Subject[str] = Subject()
    subjects: dict[str, Subject[str]] = {label: Subject() for label in standard_labels()}
    for subject in subjects.values():
        subject.subscribe(sink)
    get = subjects.get

    def dispatch(env: str) -> None:
        target = get(get_label(env))
        if target is not None:
            target.on_next(env)

    source.subscribe(dispatch)
    return source


def setup_route(sink: Callable[[Any], None]) -> Subject[str]:
    """route(): subscribe the sink to each group as it opens."""
    source: Subject[str] = Subject()

    def on_group(group: GroupedObservable[str, str | bytes]) -> None:
        group.subscribe(sink)

    source.pipe(route()).subscribe(on_group)
    return source


def setup_channels(sink: Callable[[Any], None]) -> Subject[str]:
    """channels(): one subscription per standard label."""
    source: Subject[str] = Subject()
    for channel in channels(source).values():
        channel.subscribe(sink)
    return source


def _guarded_pairs(source: Observable[str]) -> Observable[tuple[str, str]]:
    """The obvious guard: pair each envelope with its label, drop unreadable ones."""

    def subscribe(
        observer: abc.ObserverBase[tuple[str, str]], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        def on_next(env: str) -> None:
            try:
                label = get_label(env)
            except RootsError:
                return
            observer.on_next((label, env))

        return source.subscribe(on_next, observer.on_error, observer.on_completed)

    return Observable(subscribe)


def _key_is(label: str) -> Callable[[GroupedObservable[str, str]], bool]:
    def predicate(group: GroupedObservable[str, str]) -> bool:
        return group.key == label

    return predicate


def setup_rx_ops(sink: Callable[[Any], None]) -> Subject[str]:
    """The same channels stacked from stock operators: guard, group_by, share, filter,
    merge_all (what router.py replaced; shown for comparison)."""
    source: Subject[str] = Subject()
    groups = source.pipe(_guarded_pairs, ops.group_by(itemgetter(0), itemgetter(1)), ops.share())
    for label in standard_labels():
        groups.pipe(
            ops.filter(_key_is(label)),
            ops.merge_all(),
        ).subscribe(sink)
    return source


def run(setup: Setup, data: Sequence[str], repeat: int) -> float:
    """Best-of-``repeat`` seconds per envelope, for the push loop only."""
    times = []
    for _ in range(repeat):
        out: list[Any] = []
        source = setup(out.append)
        push = source.on_next
        start = time.perf_counter()
        for env in data:
            push(env)
        times.append(time.perf_counter() - start)
        if len(out) != len(data):
            raise AssertionError(f"{setup.__name__} delivered {len(out)} of {len(data)}")
    return min(times) / len(data)


def label_only(data: Sequence[str], repeat: int) -> float:
    """Best-of-``repeat`` seconds per envelope for ``get_label`` alone."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for env in data:
            get_label(env)
        times.append(time.perf_counter() - start)
    return min(times) / len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    data = make_envelopes(args.n)
    events = [e for e in data if get_label(e) == "EVENT"]
    mean_event = sum(len(e.encode()) for e in events) / len(events)
    print(
        f"{args.n} envelopes, {len(events) / len(data):.1%} EVENT of {mean_event:.0f} bytes; "
        f"best of {args.repeat}"
    )
    print(f"{'variant':<10} {'µs/item':>8} {'ratio':>7} {'over dict':>10}")
    print(f"{'get_label':<10} {label_only(data, args.repeat) * 1e6:8.3f}")
    base = run(setup_dict, data, args.repeat)
    print(f"{'dict':<10} {base * 1e6:8.3f} {1.0:7.2f} {0.0:10.3f}")
    variants = (("route", setup_route), ("channels", setup_channels), ("rx ops", setup_rx_ops))
    for name, setup in variants:
        cost = run(setup, data, args.repeat)
        print(f"{name:<10} {cost * 1e6:8.3f} {cost / base:7.2f} {(cost - base) * 1e6:10.3f}")


if __name__ == "__main__":
    main()
