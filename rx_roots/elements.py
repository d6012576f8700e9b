"""Decode an envelope into its elements and check them: the building blocks of ``find_*``.

These helpers are public so users can parse envelope types rx_roots does not know
(NIP-45 ``COUNT``, NIP-77 ``NEG-*``...) with the same checks and errors as the built-in ones.
"""

from __future__ import annotations

from typing import Any, TypeVar

import ujson

from rx_roots.errors import (
    InvalidEnvelope,
    InvalidJSON,
    MissingField,
    WrongEnvelopeLabel,
    WrongFieldType,
)

__all__ = [
    "Envelope",
    "check_array_length",
    "check_label",
    "decode_array",
    "json_type_name",
    "parse_element",
]

Envelope = str
"""The text of one WebSocket text frame. Every function also accepts ``bytes`` (UTF-8)."""

T = TypeVar("T")

_JSON_NAMES: dict[type, str] = {
    str: "string",
    dict: "object",
    list: "array",
    bool: "boolean",
    int: "number",
    float: "number",
    type(None): "null",
}


def json_type_name(value: object) -> str:
    """Name a decoded value by its JSON type, for error messages."""
    return _JSON_NAMES.get(type(value), type(value).__name__)


def decode_json(env: str | bytes, position: str = "envelope") -> Any:
    """Decode JSON text into Python values; only ``InvalidJSON``/``WrongFieldType`` escape.

    ujson refuses nesting deeper than its limit and invalid UTF-8 with ``ValueError``;
    the other exceptions are caught too so nothing but a ``RootsError`` ever leaves.
    """
    if not isinstance(env, str | bytes):
        raise WrongFieldType(position, "str or bytes", type(env).__name__)
    try:
        return ujson.loads(env)
    except (ValueError, OverflowError, RecursionError, TypeError) as exc:
        raise InvalidJSON(str(exc)) from exc


def decode_array(env: str | bytes) -> list[Any]:
    """Decode an envelope that must be a JSON array.

    Raises:
        InvalidJSON: the text is not JSON.
        InvalidEnvelope: the JSON is not an array.
    """
    arr = decode_json(env)
    if type(arr) is not list:
        raise InvalidEnvelope(f"expected a JSON array, got {json_type_name(arr)}")
    return arr


def check_array_length(arr: list[Any], min_len: int) -> None:
    """Require at least ``min_len`` elements; extra trailing elements are allowed.

    Raises:
        InvalidEnvelope: the array is shorter.
    """
    if len(arr) < min_len:
        raise InvalidEnvelope(f"expected at least {min_len} elements, got {len(arr)}")


def check_label(got: str, want: str) -> None:
    """Require the envelope label ``want`` (case-sensitive).

    Raises:
        WrongEnvelopeLabel: ``got`` differs.
    """
    if got != want:
        raise WrongEnvelopeLabel(want, got)


def parse_element(arr: list[Any], index: int, expected_type: type[T], position: str) -> T:
    """Return ``arr[index]`` if it has the JSON type ``expected_type``.

    ``expected_type`` is one of ``str``, ``dict``, ``list``, ``bool``, ``int``, ``float``.
    ``bool`` is never taken for a number, and ``float`` accepts integers.

    Raises:
        MissingField: the array has no element ``index``.
        WrongFieldType: the element has another type.
    """
    if not 0 <= index < len(arr):
        raise MissingField(position, index)
    value = arr[index]
    kind = type(value)
    if kind is expected_type or (expected_type is float and kind is int):
        return value  # type: ignore[no-any-return]
    raise WrongFieldType(
        position, _JSON_NAMES.get(expected_type, expected_type.__name__), json_type_name(value)
    )
