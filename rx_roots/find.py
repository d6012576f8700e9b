"""Parse NIP-01 envelopes (https://github.com/nostr-protocol/nips/blob/master/01.md).

Every function decodes the envelope once and checks, in this order: JSON, array length
(a minimum; extra trailing elements are ignored), label type, label value, then each
field's type. Events and filters come back decoded as ``dict``.
"""

from __future__ import annotations

from typing import Any

import ujson

from rx_roots.elements import check_array_length, decode_array, parse_element
from rx_roots.errors import WrongEnvelopeLabel

_loads = ujson.loads

__all__ = [
    "find_auth_challenge",
    "find_auth_response",
    "find_close",
    "find_closed",
    "find_eose",
    "find_event",
    "find_notice",
    "find_ok",
    "find_req",
    "find_subscription_event",
]


def _open(env: str | bytes, label: str, min_len: int) -> list[Any]:
    """Decode ``env`` and check its length and label; the rest is the caller's.

    The happy path calls ujson directly; anything unusual goes through ``decode_array``,
    which decodes again to raise the precise error.
    """
    try:
        arr = _loads(env)
    except Exception:
        arr = None
    if type(arr) is not list or (type(env) is not str and type(env) is not bytes):
        arr = decode_array(env)
    if len(arr) < min_len:
        check_array_length(arr, min_len)
    got = arr[0]
    if type(got) is not str:
        parse_element(arr, 0, str, "envelope label")
    if got != label:
        raise WrongEnvelopeLabel(label, got)
    return arr


def _text(arr: list[Any], index: int, position: str) -> str:
    value = arr[index]
    return value if type(value) is str else parse_element(arr, index, str, position)


def _object(arr: list[Any], index: int, position: str) -> dict[str, Any]:
    value = arr[index]
    return value if type(value) is dict else parse_element(arr, index, dict, position)


def find_event(env: str | bytes) -> dict[str, Any]:
    """Return the event of ``["EVENT",<event>]`` (client to relay)."""
    return _object(_open(env, "EVENT", 2), 1, "event")


def find_subscription_event(env: str | bytes) -> tuple[str, dict[str, Any]]:
    """Return ``(sub_id, event)`` of ``["EVENT",<sub_id>,<event>]`` (relay to client).

    The inbound hot path: a well-formed envelope is checked inline after one decode;
    anything else takes the general path, which decodes again to name the error.
    """
    try:
        label, sub_id, event = _loads(env)  # a 3-element array, in the common case
    except Exception:
        pass
    else:
        # An event is a dict, so a str or a dict unpacked above never gets through here.
        if (
            label == "EVENT"
            and type(sub_id) is str
            and type(event) is dict
            and type(env) is not bytearray  # type: ignore[comparison-overlap]  # typed str|bytes, called with anything
        ):
            return sub_id, event
    arr = _open(env, "EVENT", 3)
    sub_id, event = arr[1], arr[2]  # checked inline: this is the inbound hot path
    if type(sub_id) is not str:
        parse_element(arr, 1, str, "subscription id")
    if type(event) is not dict:
        parse_element(arr, 2, dict, "event")
    return sub_id, event


def find_req(env: str | bytes) -> tuple[str, list[dict[str, Any]]]:
    """Return ``(sub_id, filters)`` of ``["REQ",<sub_id>,<filter>...]``; filters may be none."""
    arr = _open(env, "REQ", 2)
    sub_id = _text(arr, 1, "subscription id")
    return sub_id, [_object(arr, i, f"filter {i - 1}") for i in range(2, len(arr))]


def find_ok(env: str | bytes) -> tuple[str, bool, str]:
    """Return ``(event_id, accepted, message)`` of ``["OK",<id>,<bool>,<message>]``."""
    arr = _open(env, "OK", 4)
    event_id = _text(arr, 1, "event id")
    accepted = arr[2]
    if type(accepted) is not bool:
        parse_element(arr, 2, bool, "accepted flag")
    return event_id, accepted, _text(arr, 3, "message")


def find_eose(env: str | bytes) -> str:
    """Return the sub id of ``["EOSE",<sub_id>]``."""
    return _text(_open(env, "EOSE", 2), 1, "subscription id")


def find_close(env: str | bytes) -> str:
    """Return the sub id of ``["CLOSE",<sub_id>]``."""
    return _text(_open(env, "CLOSE", 2), 1, "subscription id")


def find_closed(env: str | bytes) -> tuple[str, str]:
    """Return ``(sub_id, message)`` of ``["CLOSED",<sub_id>,<message>]``."""
    arr = _open(env, "CLOSED", 3)
    return _text(arr, 1, "subscription id"), _text(arr, 2, "message")


def find_notice(env: str | bytes) -> str:
    """Return the message of ``["NOTICE",<message>]``."""
    return _text(_open(env, "NOTICE", 2), 1, "message")


def find_auth_challenge(env: str | bytes) -> str:
    """Return the challenge of ``["AUTH",<challenge>]`` (relay to client, NIP-42)."""
    return _text(_open(env, "AUTH", 2), 1, "challenge")


def find_auth_response(env: str | bytes) -> dict[str, Any]:
    """Return the signed event of ``["AUTH",<event>]`` (client to relay, NIP-42)."""
    return _object(_open(env, "AUTH", 2), 1, "event")
