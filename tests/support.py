"""What the loopback tests share: signed events, and the kit's fast config and bounded wait."""

from __future__ import annotations

import hashlib
from typing import Any

import ujson

from rx_honeybee.testing import FAST, until
from rx_honeybee.verify import sign_event

__all__ = ["FAST", "make_event", "secret_of", "until"]

_SIGNED: dict[str, dict[str, Any]] = {}  # made before, by their arguments: signing is slow
_AUX = bytes(32)  # fixed BIP-340 randomness: the same arguments give the same event
_FORGERIES = ("id", "pubkey", "sig")  # fields a test may set to make an event invalid


def secret_of(seed: str) -> str:
    """The secret key (64 hex) of the author ``make_event`` signs with for ``seed``."""
    return hashlib.sha256(seed.encode()).hexdigest()


def make_event(n: int, *, seed: str = "event", kind: int = 1, **fields: Any) -> dict[str, Any]:
    """Event number ``n``, really signed by ``seed``'s key (clients verify by default).

    ``fields`` override the template (``created_at``, ``tags``, ``content`` …) before
    signing; an ``id``, ``pubkey`` or ``sig`` among them is put in after it, which makes
    a forged event. Each call returns a new dict.
    """
    key = ujson.dumps([n, seed, kind, fields], sort_keys=True)
    event = _SIGNED.get(key)
    if event is None:
        template = {
            "created_at": 1_700_000_000 + n,
            "kind": kind,
            "tags": [],
            "content": f"{seed} note {n} ☕",
            **{name: value for name, value in fields.items() if name not in _FORGERIES},
        }
        event = sign_event(template, secret_of(seed), aux_randomness=_AUX)
        event.update((name, fields[name]) for name in _FORGERIES if name in fields)
        _SIGNED[key] = event
    return ujson.loads(ujson.dumps(event))
