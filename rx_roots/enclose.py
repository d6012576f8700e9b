"""Build NIP-01 envelopes (https://github.com/nostr-protocol/nips/blob/master/01.md).

Output is always compact JSON text: strings are escaped by the encoder, non-ASCII stays
UTF-8 and ``/`` is not escaped. An event or filter is given either as a ``Mapping``
(encoded with ujson) or as text that already holds a serialized JSON object (``str`` or
UTF-8 ``bytes``), which is embedded verbatim after a cheap check of its braces: the
common case of relaying an event that arrived as text costs no second encode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ujson

from rx_roots.errors import WrongFieldType

__all__ = [
    "JsonObject",
    "enclose_auth_challenge",
    "enclose_auth_response",
    "enclose_close",
    "enclose_closed",
    "enclose_eose",
    "enclose_event",
    "enclose_notice",
    "enclose_ok",
    "enclose_req",
    "enclose_subscription_event",
]

JsonObject = Mapping[str, Any] | str | bytes
"""An event or a filter: a mapping, or the text of a serialized JSON object."""

_WS = " \t\n\r"


def _dumps(value: Any, position: str) -> str:
    try:
        text = ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False, allow_nan=False)
        if not text.isascii():
            # ujson copies lone surrogates into its output; they have no UTF-8 form, so
            # encoding raises UnicodeEncodeError (a ValueError) here instead of at send time.
            text.encode("utf-8")
    except (TypeError, ValueError, OverflowError) as exc:
        # TypeError: not serializable; UnicodeEncodeError: lone surrogate; OverflowError:
        # NaN/Infinity (not JSON), a number out of range or nesting too deep.
        raise WrongFieldType(position, "JSON-encodable value", f"{exc}") from exc
    return text


def _string(value: object, position: str) -> str:
    if not isinstance(value, str):
        raise WrongFieldType(position, "string", type(value).__name__)
    return _dumps(value, position)


def _object(value: object, position: str) -> str:
    if type(value) is dict:  # the common case, first: no ABC check
        return _dumps(value, position)
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WrongFieldType(position, "UTF-8 JSON object", "invalid UTF-8") from exc
    if isinstance(value, str):
        if value[:1] == "{" and value[-1:] == "}":
            return value
        stripped = value.strip(_WS)
        if stripped[:1] == "{" and stripped[-1:] == "}":
            return stripped
        raise WrongFieldType(position, "JSON object text", repr(value[:20]))
    if isinstance(value, Mapping):
        return _dumps(value if type(value) is dict else dict(value), position)
    raise WrongFieldType(position, "mapping or JSON object text", type(value).__name__)


def enclose_event(event: JsonObject) -> str:
    """Build ``["EVENT",<event>]``, a client publishing an event."""
    return '["EVENT",' + _object(event, "event") + "]"


def enclose_subscription_event(sub_id: str, event: JsonObject) -> str:
    """Build ``["EVENT",<sub_id>,<event>]``, a relay delivering an event."""
    return '["EVENT",' + _string(sub_id, "subscription id") + "," + _object(event, "event") + "]"


def enclose_req(sub_id: str, filters: Sequence[JsonObject]) -> str:
    """Build ``["REQ",<sub_id>,<filter>...]``; no filters gives ``["REQ",<sub_id>]``."""
    if isinstance(filters, str | bytes | Mapping) or not isinstance(filters, Sequence):
        raise WrongFieldType("filters", "sequence of filters", type(filters).__name__)
    parts = ['["REQ",', _string(sub_id, "subscription id")]
    for n, item in enumerate(filters, 1):
        parts.append(",")
        parts.append(_object(item, f"filter {n}"))
    parts.append("]")
    return "".join(parts)


def enclose_close(sub_id: str) -> str:
    """Build ``["CLOSE",<sub_id>]``."""
    return '["CLOSE",' + _string(sub_id, "subscription id") + "]"


def enclose_closed(sub_id: str, message: str) -> str:
    """Build ``["CLOSED",<sub_id>,<message>]``, a relay ending a subscription."""
    return (
        '["CLOSED",' + _string(sub_id, "subscription id") + "," + _string(message, "message") + "]"
    )


def enclose_notice(message: str) -> str:
    """Build ``["NOTICE",<message>]``."""
    return '["NOTICE",' + _string(message, "message") + "]"


def enclose_eose(sub_id: str) -> str:
    """Build ``["EOSE",<sub_id>]``, end of stored events."""
    return '["EOSE",' + _string(sub_id, "subscription id") + "]"


def enclose_ok(event_id: str, accepted: bool, message: str) -> str:
    """Build ``["OK",<event_id>,<true|false>,<message>]``."""
    if type(accepted) is not bool:
        raise WrongFieldType("accepted", "boolean", type(accepted).__name__)
    return (
        '["OK",'
        + _string(event_id, "event id")
        + (",true," if accepted else ",false,")
        + _string(message, "message")
        + "]"
    )


def enclose_auth_challenge(challenge: str) -> str:
    """Build ``["AUTH",<challenge>]``, a relay asking for NIP-42 authentication."""
    return '["AUTH",' + _string(challenge, "challenge") + "]"


def enclose_auth_response(event: JsonObject) -> str:
    """Build ``["AUTH",<event>]``, a client answering with a signed kind-22242 event."""
    return '["AUTH",' + _object(event, "event") + "]"
