"""Check and make BIP-340 Schnorr signatures of Nostr events (NIP-01), with coincurve.

https://github.com/nostr-protocol/nips/blob/master/01.md#events-and-signatures,
https://github.com/bitcoin/bips/blob/master/bip-0340.mediawiki

coincurve is a runtime dependency (clients verify every event by default; the fast path
is :class:`rx_honeybee.checked.EventChecker`). This module still imports without it, for
old installs: ``verifier()`` then returns None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rx_roots import RootsError, check_event_shape, compute_event_id

__all__ = ["sign_event", "verifier", "verify_event"]


def verify_event(event: Mapping[str, Any]) -> bool:
    """Return True when the event is well formed, its id is right and its signature verifies.

    The shape is ``rx_roots.check_event_shape``'s, the id ``rx_roots.compute_event_id``'s and
    the signature a BIP-340 Schnorr signature of the id's 32 bytes by the x-only ``pubkey``.

    Args:
        event: a decoded event; anything malformed (wrong types, bad hex, a pubkey that is
            not a point of secp256k1) gives False rather than an error.

    Raises:
        ImportError: coincurve is not installed (see ``verifier``).
    """
    from coincurve import PublicKeyXOnly

    try:
        check_event_shape(event)
    except RootsError:
        return False
    event_id = compute_event_id(event)
    if event_id != event["id"]:
        return False
    try:
        key = PublicKeyXOnly(bytes.fromhex(event["pubkey"]))
        return key.verify(bytes.fromhex(event["sig"]), bytes.fromhex(event_id))
    except ValueError:  # the pubkey is no x coordinate of a point on the curve
        return False


def verifier() -> Callable[[Mapping[str, Any]], bool] | None:
    """Return ``verify_event`` when coincurve can be imported, else None (checks are off)."""
    try:
        import coincurve  # noqa: F401
    except ImportError:
        return None
    return verify_event


def sign_event(
    event: Mapping[str, Any], secret_key_hex: str, *, aux_randomness: bytes | None = None
) -> dict[str, Any]:
    """Return a signed copy of an event template: ``pubkey``, ``id`` and ``sig`` filled in.

    Example:
        >>> template = {"created_at": 1700000000, "kind": 1, "tags": [], "content": "hi"}
        >>> event = sign_event(template, "01" * 32)
        >>> verify_event(event)
        True

    Args:
        event: ``created_at``, ``kind``, ``tags`` and ``content``; a ``pubkey``, if given,
            must be the secret key's; an ``id`` or ``sig`` is replaced; other keys are kept.
        secret_key_hex: the 32-byte secp256k1 secret key, as 64 hex characters.
        aux_randomness: 32 bytes for BIP-340's auxiliary randomness; None draws fresh random
            bytes. Fixed bytes make the signature deterministic (for corpora and tests).

    Returns:
        A new dict with the NIP-01 fields first, in NIP-01's order, then any other keys.

    Raises:
        ValueError: the secret key is not 64 hex characters of a valid key, the template's
            ``pubkey`` is another key's, or ``aux_randomness`` is not 32 bytes.
        rx_roots.MissingField: a field of the template is absent.
        rx_roots.WrongFieldType: a field of the template has the wrong type.
        ImportError: coincurve is not installed.
    """
    from coincurve import PrivateKey

    if len(secret_key_hex) != 64:
        raise ValueError(f"secret key: expected 64 hex characters, got {len(secret_key_hex)}")
    key = PrivateKey(bytes.fromhex(secret_key_hex))
    pubkey = key.public_key_xonly.format().hex()
    if event.get("pubkey", pubkey) != pubkey:
        raise ValueError(f"the template's pubkey {event['pubkey']!r} is not the secret key's")
    template = {**event, "pubkey": pubkey}
    event_id = compute_event_id(template)
    sig = key.sign_schnorr(
        bytes.fromhex(event_id), b"" if aux_randomness is None else aux_randomness
    )
    signed = {
        "id": event_id,
        "pubkey": pubkey,
        "created_at": template["created_at"],
        "kind": template["kind"],
        "tags": template["tags"],
        "content": template["content"],
        "sig": sig.hex(),
    }
    signed.update((name, value) for name, value in event.items() if name not in signed)
    return signed
