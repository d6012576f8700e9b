"""Reconnection delays as a pure generator, so the policy can be tested without time."""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Iterator

__all__ = ["backoff_delays"]


def backoff_delays(
    initial: float = 1.0,
    factor: float = 2.0,
    max_delay: float = 30.0,
    jitter: float = 0.2,
    *,
    max_attempts: int = 0,
    random: Callable[[], float] | None = None,
) -> Iterator[float]:
    """Yield the delay before each reconnection attempt, in seconds.

    Attempt ``n`` (from 0) waits ``min(initial * factor**n, max_delay)``, moved by up to
    ``±jitter`` of itself and never above ``max_delay``. The generator ends after
    ``max_attempts`` delays (``0`` means never).

    Args:
        initial: first delay, > 0.
        factor: growth per attempt, >= 1.
        max_delay: cap, >= initial.
        jitter: fraction in [0, 1] of random spread around each delay.
        max_attempts: number of delays to yield, >= 0; 0 is unlimited.
        random: source of floats in [0, 1); ``random.random`` by default.

    Raises:
        ValueError: a parameter is out of range (raised by the call, not at ``next()``).
    """
    if not initial > 0:
        raise ValueError(f"initial must be > 0, got {initial}")
    if not factor >= 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    if not max_delay >= initial:
        raise ValueError(f"max_delay must be >= initial ({initial}), got {max_delay}")
    if not 0 <= jitter <= 1:
        raise ValueError(f"jitter must be within 0..1, got {jitter}")
    if max_attempts < 0:
        raise ValueError(f"max_attempts must be >= 0, got {max_attempts}")
    draw = random if random is not None else _random.random
    return _delays(initial, factor, max_delay, jitter, max_attempts, draw)


def _delays(
    base: float,
    factor: float,
    max_delay: float,
    jitter: float,
    max_attempts: int,
    draw: Callable[[], float],
) -> Iterator[float]:
    attempt = 0
    while max_attempts == 0 or attempt < max_attempts:
        spread = jitter * (2.0 * draw() - 1.0) if jitter else 0.0
        yield min(base * (1.0 + spread), max_delay)
        base = min(base * factor, max_delay)
        attempt += 1
