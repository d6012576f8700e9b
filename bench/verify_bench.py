"""EventChecker cost per event against a bare ``ujson.loads`` of the event, in the same run.

Run: .venv/bin/python bench/verify_bench.py [--n 4000] [--authors 200] [--chars 200-2000]
                                            [--repeat 5]

Events are real BIP-340-signed kind-1 notes (``--chars`` characters of mixed text with
non-ASCII, emoji, quotes and newlines; three tags) by ``--authors`` keys. Rows: µs per event
(best of ``--repeat``, the least disturbed run on a noisy machine) and the ratio to the
baseline:

- ``ujson.loads``: baseline, decoding the event's JSON text (what every event costs anyway);
- ``shape only``: ``EventChecker(verify=False).check``;
- ``shape + id``: the checker's shape check and fast id (ujson preimage + sha256), and for
  comparison the reference ``rx_roots.check_event`` + ``compute_event_id``;
- ``full verify, cold``: ``EventChecker(cache_size=0)``: every public key parsed again;
- ``full verify, warm keys``: events seen for the first time by authors already seen;
- ``cache hit``: the same events again, decoded anew (as from a second relay);
- ``verify.verify_event``: the verifier the relay uses, for comparison.

Then the pubkey parse and the Schnorr verify alone, on one thread and split over two
(coincurve releases the GIL during the C call; what two threads gain depends on the other core
being idle), and the memory a full signature cache of the default size holds (an id and a
signature per entry).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import threading
import time
import tracemalloc
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import ujson
from coincurve import PublicKeyXOnly

from rx_honeybee.checked import EventChecker, _hex_bytes, _plain, _preimage
from rx_honeybee.verify import sign_event, verify_event
from rx_roots import check_event, compute_event_id

_OPTS: dict[str, Any] = {"ensure_ascii": False, "escape_forward_slashes": False}
_WORDS = ["nostr", "relay", "zap", "bitcoin", "café", "https://example.com/x", "🌻", "gm"]
_WORDS += ['"quoted"', "line\nbreak"]


def make_events(n: int, authors: int, chars: tuple[int, int], seed: int) -> list[dict[str, Any]]:
    """``n`` signed notes by ``authors`` keys, with fixed aux randomness (repeatable)."""
    rng = random.Random(seed)
    keys = [f"{k + 1:064x}" for k in range(authors)]
    events = []
    for i in range(n):
        content = ""
        target = rng.randrange(chars[0], chars[1] + 1)
        while len(content) < target:
            content += rng.choice(_WORDS) + " "
        template = {
            "created_at": 1_700_000_000 + i,
            "kind": 1,
            "tags": [["e", f"{rng.getrandbits(256):064x}"], ["p", keys[i % authors]], ["t", "x"]],
            "content": content[:target],
        }
        events.append(sign_event(template, keys[i % authors], aux_randomness=bytes(32)))
    return events


def best(run: Callable[[], object], n: int, repeat: int, setup: Callable[[], None]) -> float:
    """Best-of-``repeat`` µs per event; ``setup`` runs untimed before each pass."""
    times = []
    for _ in range(repeat):
        setup()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times) / n * 1e6


def fast_shape_and_id(events: Sequence[dict[str, Any]]) -> None:
    sha256 = hashlib.sha256
    for event in events:
        assert _plain(event)
        id_bytes = _hex_bytes(event["id"], 64)
        _hex_bytes(event["pubkey"], 64)
        _hex_bytes(event["sig"], 128)
        assert sha256(_preimage(event)).digest() == id_bytes


def reference_shape_and_id(events: Sequence[dict[str, Any]]) -> None:
    for event in events:
        check_event(event)
        assert compute_event_id(event) == event["id"]


def verify_loop(work: Sequence[tuple[PublicKeyXOnly, bytes, bytes]]) -> None:
    for key, sig, message in work:
        assert key.verify(sig, message)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--authors", type=int, default=200)
    parser.add_argument("--chars", default="200-2000", help="content length range, MIN-MAX")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    low, high = map(int, args.chars.split("-"))
    n, repeat = args.n, args.repeat
    events = make_events(n, args.authors, (low, high), seed=42)
    others = make_events(args.authors, args.authors, (low, high), seed=7)  # one note by each author
    texts = [ujson.dumps(event, **_OPTS) for event in events]
    copies = [ujson.loads(text) for text in texts]
    state: dict[str, EventChecker] = {}

    def nothing() -> None:
        pass

    def fresh(**options: Any) -> Callable[[], None]:
        def setup() -> None:
            state["c"] = EventChecker(**options)

        return setup

    def warm_keys() -> None:
        state["c"] = checker = EventChecker()
        for event in others:
            checker.check(event)

    def warm_all() -> None:
        state["c"] = checker = EventChecker()
        for event in events:
            checker.check(event)

    def checking(data: Sequence[dict[str, Any]]) -> Callable[[], None]:
        def run() -> None:
            check = state["c"].check
            for event in data:
                check(event)

        return run

    def loads() -> None:
        decode = ujson.loads
        for text in texts:
            decode(text)

    rows: list[tuple[str, Callable[[], object], Callable[[], None]]] = [
        ("shape only (verify=False)", checking(events), fresh(verify=False)),
        ("shape + id, EventChecker's fast path", lambda: fast_shape_and_id(events), nothing),
        (
            "shape + id, check_event + compute_event_id",
            lambda: reference_shape_and_id(events),
            nothing,
        ),
        ("full verify, cold (cache_size=0)", checking(events), fresh(cache_size=0)),
        ("full verify, warm pubkey cache", checking(events), warm_keys),
        ("cache hit (same events, decoded anew)", checking(copies), warm_all),
        ("verify.verify_event (the relay's)", lambda: [verify_event(e) for e in events], nothing),
    ]
    base = best(loads, n, repeat, nothing)
    size = sum(len(text.encode()) for text in texts) / n
    print(f"{n} events by {args.authors} authors, {size:.0f} bytes of JSON on average")
    print(f"{'measure':46} {'µs/event':>9} {'÷ ujson.loads':>14}")
    print(f"{'ujson.loads of the event (baseline)':46} {base:9.2f} {1.0:14.2f}")
    for name, run, setup in rows:
        cost = best(run, n, repeat, setup)
        print(f"{name:46} {cost:9.2f} {cost / base:14.2f}")

    keys = {e["pubkey"]: PublicKeyXOnly(bytes.fromhex(e["pubkey"])) for e in others}
    work = [(keys[e["pubkey"]], bytes.fromhex(e["sig"]), bytes.fromhex(e["id"])) for e in events]
    parse = best(
        lambda: [PublicKeyXOnly(bytes.fromhex(e["pubkey"])) for e in events], n, repeat, nothing
    )
    one = best(lambda: verify_loop(work), n, repeat, nothing)

    def two_threads() -> None:
        threads = [threading.Thread(target=verify_loop, args=(work[i::2],)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    two = best(two_threads, n, repeat, nothing)
    print(f"{'pubkey parse (PublicKeyXOnly)':46} {parse:9.2f} {parse / base:14.2f}")
    print(f"{'schnorr verify alone, 1 thread':46} {one:9.2f} {one / base:14.2f}")
    print(f"{'schnorr verify alone, 2 threads':46} {two:9.2f} {two / base:14.2f}", end="")
    print(f"  speed-up {one / two:.2f}x")

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    cache: OrderedDict[str, str] = OrderedDict()
    for i in range(16_384):  # EventChecker's default cache_size
        event = ujson.loads(texts[i % n])
        cache[f"{i:064x}"] = event["sig"]  # distinct ids; the delivered dict is dropped
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"a full signature cache (16,384 entries) holds {held / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
