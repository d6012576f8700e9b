"""Errors raised by rx_roots.

Every error is a :class:`RootsError`, itself a :class:`ValueError`, so callers can catch
the whole family in one place while still telling the failure modes apart::

    ValueError
    └── RootsError
        ├── InvalidJSON          the text is not JSON (or not UTF-8, or nested too deep)
        ├── InvalidEnvelope      JSON, but not an array long enough to be the envelope
        ├── WrongEnvelopeLabel   an array whose label is not the one asked for
        ├── WrongFieldType       an element (or an input to ``enclose_*``) of the wrong type
        ├── MissingField         an element asked for by index is not there
        └── InvalidRelayURL      a relay URL that is not ws:// or wss://

Each error carries structured fields (``expected``, ``got``, ``position`` ...) besides its
message, so higher layers can react without parsing text.
"""

from __future__ import annotations

__all__ = [
    "InvalidEnvelope",
    "InvalidJSON",
    "InvalidRelayURL",
    "MissingField",
    "RootsError",
    "WrongEnvelopeLabel",
    "WrongFieldType",
]


class RootsError(ValueError):
    """Base of every error rx_roots raises."""


class InvalidJSON(RootsError):
    """The envelope text could not be decoded as JSON."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid JSON: {reason}")
        self.reason = reason  # the decoder's own words


class InvalidEnvelope(RootsError):
    """The JSON is not an array, or the array is shorter than the envelope needs."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid envelope: {reason}")
        self.reason = reason  # what is wrong with the shape


class WrongEnvelopeLabel(RootsError):
    """The envelope's label is not the expected one."""

    def __init__(self, expected: str, got: str) -> None:
        super().__init__(f"wrong envelope label: expected {expected}, got {got}")
        self.expected = expected  # the label the caller asked for
        self.got = got  # the label found in the envelope


class WrongFieldType(RootsError):
    """An element has the wrong JSON type (or an argument cannot be encoded)."""

    def __init__(self, position: str, expected: str, got: str) -> None:
        super().__init__(f"wrong field type for {position}: expected {expected}, got {got}")
        self.position = position  # which element, in words ("subscription id")
        self.expected = expected  # the JSON type wanted
        self.got = got  # the type found


class MissingField(RootsError):
    """An element asked for by index is absent."""

    def __init__(self, position: str, index: int) -> None:
        super().__init__(f"missing field: {position} (element {index})")
        self.position = position  # which element, in words
        self.index = index  # its index in the array


class InvalidRelayURL(RootsError):
    """A relay URL that cannot be normalized to ws:// or wss://."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"invalid relay URL {url!r}: {reason}")
        self.url = url  # the URL as given
        self.reason = reason  # why it was refused
