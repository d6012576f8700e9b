"""The error tree of rx_roots: hierarchy, structured fields and message text."""

from __future__ import annotations

from typing import Any

import pytest

from rx_roots import errors
from rx_roots.errors import (
    InvalidEnvelope,
    InvalidEvent,
    InvalidFilter,
    InvalidJSON,
    InvalidRelayURL,
    MissingField,
    RootsError,
    WrongEnvelopeLabel,
    WrongFieldType,
)

SUBCLASSES = [
    InvalidJSON,
    InvalidEnvelope,
    WrongEnvelopeLabel,
    WrongFieldType,
    MissingField,
    InvalidRelayURL,
    InvalidFilter,
    InvalidEvent,
]


def test_roots_error_is_a_value_error() -> None:
    assert issubclass(RootsError, ValueError)
    assert RootsError.__bases__ == (ValueError,)


@pytest.mark.parametrize("cls", SUBCLASSES, ids=lambda c: c.__name__)
def test_every_error_derives_directly_from_roots_error(cls: type[RootsError]) -> None:
    assert cls.__bases__ == (RootsError,)
    assert issubclass(cls, ValueError)


def test_module_all_lists_the_whole_tree() -> None:
    assert sorted(errors.__all__) == sorted(c.__name__ for c in [RootsError, *SUBCLASSES])


@pytest.mark.parametrize(
    ("error", "message", "fields"),
    [
        pytest.param(
            InvalidJSON("Expected object or value"),
            "invalid JSON: Expected object or value",
            {"reason": "Expected object or value"},
            id="InvalidJSON",
        ),
        pytest.param(
            InvalidEnvelope("expected a JSON array, got object"),
            "invalid envelope: expected a JSON array, got object",
            {"reason": "expected a JSON array, got object"},
            id="InvalidEnvelope",
        ),
        pytest.param(
            WrongEnvelopeLabel("EVENT", "REQ"),
            "wrong envelope label: expected EVENT, got REQ",
            {"expected": "EVENT", "got": "REQ"},
            id="WrongEnvelopeLabel",
        ),
        pytest.param(
            WrongFieldType("subscription id", "string", "null"),
            "wrong field type for subscription id: expected string, got null",
            {"position": "subscription id", "expected": "string", "got": "null"},
            id="WrongFieldType",
        ),
        pytest.param(
            MissingField("message", 3),
            "missing field: message (element 3)",
            {"position": "message", "index": 3},
            id="MissingField",
        ),
        pytest.param(
            InvalidRelayURL("http://x", "scheme must be ws or wss, got http"),
            "invalid relay URL 'http://x': scheme must be ws or wss, got http",
            {"url": "http://x", "reason": "scheme must be ws or wss, got http"},
            id="InvalidRelayURL",
        ),
        pytest.param(
            InvalidFilter("kinds", "a list of integers"),
            "kinds must be a list of integers",
            {"position": "kinds", "expected": "a list of integers", "got": None},
            id="InvalidFilter",
        ),
        pytest.param(
            InvalidFilter("a filter", "an object", "list"),
            "a filter must be an object, got list",
            {"position": "a filter", "expected": "an object", "got": "list"},
            id="InvalidFilter-got",
        ),
        pytest.param(
            InvalidEvent("created_at must be a non-negative integer"),
            "created_at must be a non-negative integer",
            {"reason": "created_at must be a non-negative integer", "url": None},
            id="InvalidEvent",
        ),
        pytest.param(
            InvalidEvent("bad signature", url="ws://relay"),
            "bad signature (from ws://relay)",
            {"reason": "bad signature", "url": "ws://relay"},
            id="InvalidEvent-url",
        ),
    ],
)
def test_message_and_structured_fields(
    error: RootsError, message: str, fields: dict[str, Any]
) -> None:
    assert str(error) == message
    assert error.args == (message,)
    for name, value in fields.items():
        assert getattr(error, name) == value


@pytest.mark.parametrize(
    "error",
    [
        InvalidJSON("x"),
        InvalidEnvelope("x"),
        WrongEnvelopeLabel("A", "B"),
        WrongFieldType("p", "e", "g"),
        MissingField("p", 0),
        InvalidRelayURL("u", "r"),
        InvalidFilter("p", "e"),
        InvalidEvent("r"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_caught_as_value_error_and_roots_error(error: RootsError) -> None:
    with pytest.raises(ValueError) as as_value_error:
        raise error
    assert as_value_error.value is error
    with pytest.raises(RootsError) as as_roots_error:
        raise error
    assert as_roots_error.value is error
