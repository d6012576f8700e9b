"""backoff_delays: growth, cap, jitter (with an injected random source), attempts, errors."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rx_roots import backoff_delays


def _const(value: float) -> Callable[[], float]:
    return lambda: value


def _never() -> float:
    raise AssertionError("no random draw without jitter")


def _take(delays: Iterator[float], n: int) -> list[float]:
    return list(itertools.islice(delays, n))


def test_defaults_grow_and_cap() -> None:
    # defaults: initial 1, factor 2, max 30, jitter 0.2; a draw of 0.5 means no spread
    assert _take(backoff_delays(random=_const(0.5)), 8) == [1, 2, 4, 8, 16, 30, 30, 30]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"initial": 1, "factor": 2, "max_delay": 30, "jitter": 0}, [1, 2, 4, 8, 16, 30, 30]),
        ({"initial": 0.5, "factor": 3, "max_delay": 10, "jitter": 0}, [0.5, 1.5, 4.5, 10, 10]),
        ({"initial": 2, "factor": 1, "max_delay": 2, "jitter": 0}, [2, 2, 2, 2]),
        ({"initial": 1, "factor": 1, "max_delay": 5, "jitter": 0}, [1, 1, 1]),
        ({"initial": 3, "factor": 10, "max_delay": 3, "jitter": 0}, [3, 3, 3]),
        ({"initial": 1, "factor": 2, "max_delay": math.inf, "jitter": 0}, [1, 2, 4, 8, 16, 32]),
    ],
)
def test_growth_without_jitter_never_draws(kwargs: dict[str, Any], expected: list[float]) -> None:
    assert _take(backoff_delays(**kwargs, random=_never), len(expected)) == expected


@pytest.mark.parametrize(
    ("draw", "expected"),
    [
        # spread = jitter * (2 * draw - 1): 0.0 -> -jitter, 0.5 -> 0, ~1.0 -> +jitter
        (0.0, [0.8, 1.6, 3.2, 6.4, 12.8, 24.0, 24.0]),
        (0.5, [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]),
        (0.25, [0.9, 1.8, 3.6, 7.2, 14.4, 27.0, 27.0]),
        (0.999999, [1.2, 2.4, 4.8, 9.6, 19.2, 30.0, 30.0]),  # capped at max_delay
    ],
)
def test_jitter_with_injected_random(draw: float, expected: list[float]) -> None:
    got = _take(backoff_delays(1, 2, 30, 0.2, random=_const(draw)), len(expected))
    assert got == pytest.approx(expected, rel=1e-5)
    assert max(got) <= 30


def test_jitter_draws_once_per_delay() -> None:
    draws = iter([0.0, 1.0, 0.5, 0.75])
    got = list(backoff_delays(10, 1, 100, 0.5, max_attempts=4, random=lambda: next(draws)))
    assert got == pytest.approx([5.0, 15.0, 10.0, 12.5])


def test_full_jitter_can_reach_zero() -> None:
    assert _take(backoff_delays(4, 2, 100, 1.0, random=_const(0.0)), 3) == [0, 0, 0]
    assert _take(backoff_delays(4, 2, 100, 1.0, random=_const(0.5)), 3) == [4, 8, 16]


def test_jitter_never_exceeds_the_cap() -> None:
    got = _take(backoff_delays(10, 2, 10, 1.0, random=_const(0.99)), 5)
    assert got == [10, 10, 10, 10, 10]


def test_default_random_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "random", _const(0.0))  # looked up at call time
    assert _take(backoff_delays(1, 2, 30, 0.5), 3) == [0.5, 1.0, 2.0]


def test_default_random_stays_within_bounds() -> None:
    base = [min(2**n, 30) for n in range(200)]
    for delay, nominal in zip(_take(backoff_delays(), 200), base, strict=True):
        assert nominal * 0.8 <= delay <= min(nominal * 1.2, 30)


@pytest.mark.parametrize("attempts", [1, 2, 3, 10])
def test_max_attempts(attempts: int) -> None:
    got = list(backoff_delays(1, 2, 30, 0, max_attempts=attempts))
    assert len(got) == attempts
    assert got == [min(2**n, 30) for n in range(attempts)]


def test_zero_attempts_is_unlimited() -> None:
    delays = backoff_delays(1, 2, 30, 0, max_attempts=0)
    got = _take(delays, 100)
    assert len(got) == 100
    assert got[-1] == 30
    assert next(delays) == 30


def test_is_an_iterator_and_each_call_starts_over() -> None:
    first = backoff_delays(1, 2, 30, 0)
    assert iter(first) is first
    assert _take(first, 3) == [1, 2, 4]
    assert _take(backoff_delays(1, 2, 30, 0), 3) == [1, 2, 4]
    assert _take(first, 2) == [8, 16]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial": 0}, "initial must be > 0, got 0"),
        ({"initial": -1}, "initial must be > 0, got -1"),
        ({"initial": math.nan}, "initial must be > 0, got nan"),
        ({"factor": 0.99}, "factor must be >= 1, got 0.99"),
        ({"factor": 0}, "factor must be >= 1, got 0"),
        ({"factor": math.nan}, "factor must be >= 1, got nan"),
        ({"initial": 5, "max_delay": 4}, "max_delay must be >= initial (5), got 4"),
        ({"max_delay": 0.5}, "max_delay must be >= initial (1.0), got 0.5"),
        ({"max_delay": math.nan}, "max_delay must be >= initial (1.0), got nan"),
        ({"jitter": -0.01}, "jitter must be within 0..1, got -0.01"),
        ({"jitter": 1.01}, "jitter must be within 0..1, got 1.01"),
        ({"jitter": math.nan}, "jitter must be within 0..1, got nan"),
        ({"max_attempts": -1}, "max_attempts must be >= 0, got -1"),
    ],
)
def test_bad_parameters_raise_at_call_time(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        backoff_delays(**kwargs, random=_never)  # no next(): the call itself raises
    assert str(info.value) == message


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": 1e-9},
        {"factor": 1},
        {"initial": 3, "max_delay": 3},
        {"jitter": 0},
        {"jitter": 1},
        {"max_attempts": 0},
    ],
)
def test_boundary_parameters_are_accepted(kwargs: dict[str, Any]) -> None:
    assert len(_take(backoff_delays(**kwargs, random=_const(0.5)), 3)) == 3
