r"""NIP-01 event ids: the canonical serialization, its sha256, and checks of an event's shape.

https://github.com/nostr-protocol/nips/blob/master/01.md#events-and-signatures

An event's id is the lowercase hex sha256 of the UTF-8 text
``[0,<pubkey>,<created_at>,<kind>,<tags>,<content>]``, written with no whitespace. Inside
strings:

- ``"`` ``\`` and the line feed, carriage return, tab, backspace and form feed are written as
  the two-character escapes ``\"`` ``\\`` ``\n`` ``\r`` ``\t`` ``\b`` ``\f``;
- the other control characters below U+0020 as ``\u00xx``, lowercase hex. NIP-01 lists no
  escape for them, and raw they would not be JSON; ``JSON.stringify`` (nostr-tools) and
  serde_json (rust-nostr) both write them this way;
- everything else stays raw UTF-8: ``/``, DEL, U+2028, every non-ASCII character;
- a Python string can also hold surrogate code points, which have no UTF-8 form: a high/low
  pair is written as the character it encodes and a lone one as ``\udxxx``, as
  ``JSON.stringify`` does.

The escaper is written from these rules, not borrowed from a JSON encoder, so that the tests
can hold it against ``json.dumps(..., separators=(",", ":"), ensure_ascii=False)`` and against
events signed by other clients.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, cast

from rx_roots.elements import json_type_name
from rx_roots.errors import InvalidEvent, MissingField, RootsError, WrongFieldType

__all__ = [
    "check_event",
    "check_event_shape",
    "compute_event_id",
    "is_valid_event_id",
    "readable_id",
    "serialize_for_id",
]

# An event's fields in NIP-01's order. ``MissingField.index`` is a field's place here, which
# for ``pubkey`` to ``content`` is also its place in the serialized array.
_FIELDS = ("id", "pubkey", "created_at", "kind", "tags", "content", "sig")

_ESCAPES: dict[int, str] = {code: f"\\u{code:04x}" for code in range(0x20)}
_ESCAPES.update(
    {
        0x08: "\\b",
        0x09: "\\t",
        0x0A: "\\n",
        0x0C: "\\f",
        0x0D: "\\r",
        0x22: '\\"',
        0x5C: "\\\\",
    }
)
_TO_ESCAPE = re.compile(r'["\\\x00-\x1f]')  # what _ESCAPES replaces
_SURROGATE = re.compile("[\ud800-\udfff]")
_LOWER_HEX = re.compile("[0-9a-f]*")
_MAX_KIND = 65535


def _quote(text: str) -> str:
    if _TO_ESCAPE.search(text) is None:  # the common case: hex, words, most content
        return '"' + text + '"'
    return '"' + text.translate(_ESCAPES) + '"'


def _escape_surrogates(text: str) -> str:
    # Join each high/low pair into the character it encodes, then escape the lone ones.
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", joined)


def _get(event: Mapping[str, Any], name: str) -> Any:
    if name not in event:
        raise MissingField(f"event {name}", _FIELDS.index(name))
    return event[name]


def _string(event: Mapping[str, Any], name: str) -> str:
    value = _get(event, name)
    if not isinstance(value, str):
        raise WrongFieldType(f"event {name}", "string", json_type_name(value))
    return value


def _integer(event: Mapping[str, Any], name: str) -> int:
    value = _get(event, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise WrongFieldType(f"event {name}", "integer", json_type_name(value))
    return int(value)


def _tags(event: Mapping[str, Any]) -> list[list[str]]:
    tags = _get(event, "tags")
    if not isinstance(tags, list):
        raise WrongFieldType("event tags", "array", json_type_name(tags))
    for i, tag in enumerate(tags):
        if not isinstance(tag, list):
            raise WrongFieldType(f"event tags[{i}]", "array", json_type_name(tag))
        for j, item in enumerate(tag):
            if not isinstance(item, str):
                raise WrongFieldType(f"event tags[{i}][{j}]", "string", json_type_name(item))
    return tags


def _mapping(event: object) -> Mapping[str, Any]:
    if not isinstance(event, Mapping):
        raise WrongFieldType("event", "object", json_type_name(event))
    return event


def _hex(event: Mapping[str, Any], name: str, length: int) -> None:
    value = _string(event, name)
    if len(value) != length or _LOWER_HEX.fullmatch(value) is None:
        shown = repr(value) if len(value) <= 20 else repr(value[:20]) + "..."
        raise WrongFieldType(
            f"event {name}", f"{length} lowercase hex characters", f"{shown} ({len(value)} chars)"
        )


def serialize_for_id(event: Mapping[str, Any]) -> bytes:
    """Return the UTF-8 bytes whose sha256 is the event's id (NIP-01).

    Only ``pubkey``, ``created_at``, ``kind``, ``tags`` and ``content`` are read, and only
    their types are checked (``check_event_shape`` checks the rest); other keys are ignored.

    Example:
        >>> template = {"pubkey": "ab", "created_at": 1, "kind": 1, "tags": [], "content": "a/é"}
        >>> serialize_for_id(template).decode()
        '[0,"ab",1,1,[],"a/é"]'

    Args:
        event: the event, or an event template without ``id`` and ``sig``.

    Returns:
        ``[0,<pubkey>,<created_at>,<kind>,<tags>,<content>]`` as compact UTF-8 JSON.

    Raises:
        MissingField: one of the five fields is absent.
        WrongFieldType: ``event`` is not a mapping, or a field has the wrong type (integers
            exclude ``bool``; tags must be a list of lists of strings).
    """
    fields = _mapping(event)
    pubkey = _string(fields, "pubkey")
    created_at = _integer(fields, "created_at")
    kind = _integer(fields, "kind")
    tags = _tags(fields)
    content = _string(fields, "content")
    text = "".join(
        (
            "[0,",
            _quote(pubkey),
            ",",
            str(created_at),
            ",",
            str(kind),
            ",[",
            ",".join("[" + ",".join(map(_quote, tag)) + "]" for tag in tags),
            "],",
            _quote(content),
            "]",
        )
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # surrogate code points, the only str that UTF-8 refuses
        return _escape_surrogates(text).encode("utf-8")


def compute_event_id(event: Mapping[str, Any]) -> str:
    """Return the event's id: the lowercase hex sha256 of ``serialize_for_id(event)``.

    Raises:
        MissingField: as ``serialize_for_id``.
        WrongFieldType: as ``serialize_for_id``.
    """
    return hashlib.sha256(serialize_for_id(event)).hexdigest()


def check_event_shape(event: object) -> None:
    """Require a well-formed signed event (NIP-01), checking fields in NIP-01's order.

    ``id`` and ``pubkey`` are 64 lowercase hex characters, ``sig`` 128, ``created_at`` an
    integer, ``kind`` an integer from 0 to 65535, ``tags`` a list of lists of strings and
    ``content`` a string; ``bool`` is not an integer. Other keys are allowed. Neither the id's
    hash nor the signature is checked.

    Raises:
        MissingField: a field is absent; ``index`` is its place in NIP-01's field order,
            from 0 for ``id`` to 6 for ``sig``.
        WrongFieldType: ``event`` is not a mapping, or a field has the wrong type or format.
    """
    fields = _mapping(event)
    _hex(fields, "id", 64)
    _hex(fields, "pubkey", 64)
    _integer(fields, "created_at")
    kind = _integer(fields, "kind")
    if not 0 <= kind <= _MAX_KIND:
        raise WrongFieldType("event kind", f"integer from 0 to {_MAX_KIND}", str(kind))
    _tags(fields)
    _string(fields, "content")
    _hex(fields, "sig", 128)


def is_valid_event_id(event: object) -> bool:
    """Return True when ``event`` is well formed and its ``id`` is the hash of its content.

    Never raises: a malformed event (see ``check_event_shape``) gives False. The signature is
    not checked.
    """
    try:
        check_event_shape(event)
    except RootsError:
        return False
    fields = cast(Mapping[str, Any], event)
    return compute_event_id(fields) == cast(str, fields["id"])


def check_event(event: object) -> dict[str, Any]:
    """Return ``event`` if every NIP-01 field is there with the right type.

    The shape is :func:`check_event_shape`'s, plus a ``created_at`` that is not negative; the
    event must be a ``dict`` (as decoded JSON is). The id hash and the signature are not
    checked (see :func:`is_valid_event_id`).

    Raises:
        InvalidEvent: the first field that is missing or wrong, named in the message (the
            ``MissingField``/``WrongFieldType`` behind it is the ``__cause__``).
    """
    if not isinstance(event, dict):
        raise InvalidEvent(f"an event must be an object, got {type(event).__name__}")
    try:
        check_event_shape(event)
    except RootsError as err:
        raise InvalidEvent(str(err)) from err
    if event["created_at"] < 0:
        raise InvalidEvent("created_at must be a non-negative integer")
    return event


def readable_id(event: object) -> str | None:
    """The event's ``id`` if it is a string (so an ``OK`` can name it), else None.

    Never raises: meant for answering an event that failed :func:`check_event`.
    """
    if isinstance(event, Mapping):
        event_id = event.get("id")
        if isinstance(event_id, str):
            return event_id
    return None
