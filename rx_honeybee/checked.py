"""Check every delivered event: its shape always, its id and BIP-340 signature by default.

``EventChecker.check`` is meant for the client's per-event path, so it is built for speed
(measured, see ``bench/verify_bench.py``); what each shortcut saves and why it stays exact:

- Each signature is verified once. A bounded cache maps a verified id to its signature;
  an event whose id is right (recomputed every time: the id commits to author, time, kind,
  tags and content) and whose ``sig`` is the one verified for that id needs no curve
  arithmetic. ~200 bytes an entry (an id and a signature), not a copy of the event.
- Parsed public keys are cached: lifting an x coordinate to a curve point costs ~6 µs.
- The shape check and the id share their work: one pass over the fields; ``bytes.fromhex``
  round trips check the hex and give the bytes the signature check needs.
- The id's preimage is built with ``ujson``: 4-7x faster than ``rx_roots.serialize_for_id``
  on content with escapes or non-ASCII text, whose ``str.translate`` goes character by
  character. Any JSON encoder's output that hashes to the
  id is the id's preimage, so the fast path cannot accept a wrong id; a mismatch is
  confirmed by ``rx_roots.compute_event_id`` before rejecting, so an encoder quirk can only
  cost time.
- Eviction is ``OrderedDict.popitem(last=False)``, O(1): popping ``next(iter(d))`` from a
  plain dict rescans the deleted slots and cost ~9 µs per eviction at 16,384 entries.
- No thread: coincurve (cffi) releases the GIL during ``verify``, but on the 2-core machine a
  second thread paid off only when the other core was idle, and the hand-off would add a
  round trip through the event loop per event.

Not thread-safe: one checker belongs to one event loop.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, NoReturn

import ujson
from coincurve import PublicKeyXOnly

from rx_roots import InvalidEvent, check_event, compute_event_id, readable_id

__all__ = ["EventChecker"]

_MAX_KIND = 65535
_SHOWN_ID = 64  # characters of an event's id a message repeats


def _named(event: object) -> str:
    """`` (event <id>)`` for a message, or nothing when the event has no string id."""
    event_id = readable_id(event)
    if event_id is None:
        return ""
    shown = event_id if len(event_id) <= _SHOWN_ID else event_id[:_SHOWN_ID] + "..."
    return f" (event {shown!r})"


def _plain(event: object) -> bool:
    """True when the event has exactly the decoded-JSON types NIP-01 wants (hex unchecked).

    Exact types (no subclasses, no ``bool``), so the fast id preimage is NIP-01's; False
    sends the event to ``check_event``, which names the fault or accepts the rare subclass.
    """
    if type(event) is not dict:
        return False
    try:
        event_id = event["id"]
        pubkey = event["pubkey"]
        created_at = event["created_at"]
        kind = event["kind"]
        tags = event["tags"]
        content = event["content"]
        sig = event["sig"]
    except KeyError:
        return False
    if not (
        type(event_id) is str
        and type(pubkey) is str
        and type(sig) is str
        and type(content) is str
        and type(created_at) is int
        and created_at >= 0
        and type(kind) is int
        and 0 <= kind <= _MAX_KIND
        and type(tags) is list
    ):
        return False
    for tag in tags:
        if type(tag) is not list:
            return False
        for item in tag:
            if type(item) is not str:
                return False
    return True


def _hex_bytes(text: str, length: int) -> bytes | None:
    """The bytes of ``length`` lowercase hex characters, or None for anything else."""
    if len(text) != length:
        return None
    try:
        data = bytes.fromhex(text)
    except ValueError:
        return None
    return data if data.hex() == text else None  # fromhex takes uppercase and spaces


def _preimage(event: dict[str, Any]) -> bytes:
    """NIP-01's ``[0,pubkey,created_at,kind,tags,content]`` for a ``_plain`` event.

    Raises:
        ValueError: lone surrogates (no UTF-8 form) or a ``created_at`` too long for
            ``str()``; ``compute_event_id`` then decides.
    """
    return "".join(
        (
            '[0,"',
            event["pubkey"],  # lowercase hex: nothing to escape
            '",',
            str(event["created_at"]),
            ",",
            str(event["kind"]),
            ",",
            ujson.dumps(event["tags"], ensure_ascii=False, escape_forward_slashes=False),
            ",",
            ujson.dumps(event["content"], ensure_ascii=False, escape_forward_slashes=False),
            "]",
        )
    ).encode("utf-8")


class EventChecker:
    """Check events' shape, and by default their id and signature, each event once.

    Counters (for metrics): ``checked`` counts every ``check`` call, ``cache_hits`` the
    events whose signature was verified before, ``rejected`` the ``InvalidEvent``s.

    Args:
        verify: check ids and BIP-340 signatures; False checks the shape only.
        cache_size: how many verified signatures (by event id), and how many parsed
            public keys, to keep (oldest out first); 0 keeps none. ~5 MiB when full.
    """

    __slots__ = ("_keys", "_seen", "_size", "_verify", "cache_hits", "checked", "rejected")

    def __init__(self, *, verify: bool = True, cache_size: int = 16_384) -> None:
        if cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, got {cache_size}")
        self._verify = verify
        self._size = cache_size
        self._seen: OrderedDict[str, str] = OrderedDict()  # verified id -> its signature
        self._keys: OrderedDict[str, PublicKeyXOnly] = OrderedDict()
        self.checked = 0
        self.cache_hits = 0
        self.rejected = 0

    def check(self, event: dict[str, Any]) -> None:
        """Return if ``event`` is a well-formed (and, verifying, authentic) NIP-01 event.

        The shape is ``rx_roots.check_event``'s: every field, lowercase hex ``id``,
        ``pubkey`` and ``sig``, integer ``created_at`` >= 0 and ``kind`` <= 65535, tags as
        lists of strings. Verifying, the id must be the NIP-01 hash and ``sig`` a BIP-340
        signature of it by ``pubkey``.

        Raises:
            InvalidEvent: ``bad shape: ...``, ``id mismatch: ...`` or ``bad signature: ...``,
                naming the event's id when it has a string one.
        """
        self.checked += 1
        try:
            self._check(event)
        except InvalidEvent:
            self.rejected += 1
            raise

    def accepts(self, event: Mapping[str, Any]) -> bool:
        """True when :meth:`check` passes: a relay's ``verify`` (``Relay(verify=...)``).

        The relay then pays about half of ``verify_event``'s cost per event (one pass for
        shape and id, public keys parsed once per author; ``bench/verify_bench.py``).
        """
        try:
            self.check(event if type(event) is dict else dict(event))
        except InvalidEvent:
            return False
        return True

    def _check(self, event: dict[str, Any]) -> None:
        if not _plain(event):
            self._check_unusual(event)
            return
        event_id: str = event["id"]
        id_bytes = _hex_bytes(event_id, 64)
        pubkey_bytes = _hex_bytes(event["pubkey"], 64)
        sig_bytes = _hex_bytes(event["sig"], 128)
        if id_bytes is None or pubkey_bytes is None or sig_bytes is None:
            _raise_shape(event)
        if not self._verify:
            return
        try:
            matches = hashlib.sha256(_preimage(event)).digest() == id_bytes
        except ValueError:
            matches = False
        if not matches:
            _check_id(event)  # the reference serializer has the last word
        sig: str = event["sig"]
        if self._seen.get(event_id) == sig:  # this very signature of this id verified before
            self.cache_hits += 1
            return
        self._check_signature(event, pubkey_bytes, sig_bytes, id_bytes)
        if self._size:
            self._seen[event_id] = sig
            if len(self._seen) > self._size:
                self._seen.popitem(last=False)

    def _check_unusual(self, event: object) -> None:
        """Events ``_plain`` turned away: name the fault, or check a rare subclass slowly."""
        try:
            checked = check_event(event)
        except InvalidEvent as err:
            raise InvalidEvent(f"bad shape: {err.reason}{_named(event)}") from err
        if self._verify:
            _check_id(checked)
            self._check_signature(
                checked,
                bytes.fromhex(checked["pubkey"]),
                bytes.fromhex(checked["sig"]),
                bytes.fromhex(checked["id"]),
            )

    def _check_signature(
        self, event: dict[str, Any], pubkey_bytes: bytes, sig_bytes: bytes, id_bytes: bytes
    ) -> None:
        pubkey: str = event["pubkey"]
        key = self._keys.get(pubkey)
        if key is None:
            try:
                key = PublicKeyXOnly(pubkey_bytes)
            except ValueError as err:
                raise InvalidEvent(
                    f"bad signature: pubkey {pubkey} is not a point of secp256k1{_named(event)}"
                ) from err
            if self._size:
                self._keys[pubkey] = key
                if len(self._keys) > self._size:
                    self._keys.popitem(last=False)
        if not key.verify(sig_bytes, id_bytes):
            raise InvalidEvent(f"bad signature: not signed by pubkey {pubkey}{_named(event)}")


def _raise_shape(event: dict[str, Any]) -> NoReturn:
    """Raise ``check_event``'s account of a fault ``_plain`` lets through (the hex)."""
    try:
        check_event(event)
    except InvalidEvent as err:
        raise InvalidEvent(f"bad shape: {err.reason}{_named(event)}") from err
    raise AssertionError("unreachable: check_event accepted bad hex")  # pragma: no cover


def _check_id(event: dict[str, Any]) -> None:
    """Require ``event["id"]`` to be ``compute_event_id``'s (the slow, reference path)."""
    try:
        computed = compute_event_id(event)
    except ValueError as err:  # a created_at longer than str() will write
        raise InvalidEvent(f"bad shape: cannot serialize the event: {err}{_named(event)}") from err
    if computed != event["id"]:
        raise InvalidEvent(f"id mismatch: the event hashes to {computed}{_named(event)}")
