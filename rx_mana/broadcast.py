"""Send one envelope to many connections, encoded and compressed once (relay fan-out, pools).

Each connection still gets the envelope through its own write queue (order, back-pressure
and ``QueueFull`` as usual); only the work of turning the text into a frame payload is
shared, through a :class:`~rx_mana.prepared.PreparedCache`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rx_honeybee.interfaces import FanOut, Sender
from rx_mana.prepared import PreparedCache

__all__ = ["broadcast", "cached_fan_out"]


def broadcast(
    conns: Iterable[Sender], env: str, cache: PreparedCache, *, priority: int | None = None
) -> list[Exception]:
    """Queue ``env`` on every connection of ``conns``, prepared once through ``cache``.

    Never raises half-way: a connection that refuses (``QueueFull``, ``InvalidState``,
    ``EnvelopeTooLarge``...) adds its error to the result and the others still get it.
    An envelope that cannot be encoded at all (not a ``str``, a lone surrogate) is one
    error and goes nowhere. The cache is asked once: one miss for a new envelope and a
    hit for every other connection it is offered to (refusals included).

    Example::

        cache = PreparedCache()
        failures = broadcast(server.clients, enclose_subscription_event("feed", event), cache)

    Args:
        conns: the connections (each ``send(envelope, priority=...)``).
        env: the envelope text.
        cache: where the encoded (and compressed) form is made and kept.
        priority: handed to each ``send`` (for a priority write queue).

    Returns:
        The errors of the connections that refused it, in order; empty when all took it.
    """
    targets = list(conns)
    if not targets:
        return []
    try:
        envelope = cache.prepare(env, uses=len(targets)).envelope  # once for all of them
    except Exception as exc:  # not encodable: nobody got it
        return [exc]
    failures: list[Exception] = []
    for conn in targets:
        try:
            conn.send(envelope, priority=priority)
        except Exception as exc:
            failures.append(exc)
    return failures


def cached_fan_out(cache: PreparedCache | None = None) -> FanOut:
    """A honeybee fan-out (``Relay(fan_out=...)``, ``Pool(fan_out=...)``) through ``cache``.

    Example::

        async with Relay(fan_out=cached_fan_out()) as relay:  # each new event to every
            ...                                               # subscriber: deflated once
    """
    shared = cache if cache is not None else PreparedCache()

    def fan_out(targets: Sequence[Sender], envelope: str) -> list[Exception]:
        return broadcast(targets, envelope, shared)

    return fan_out
