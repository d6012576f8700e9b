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
        ├── InvalidRelayURL      a relay URL that is not ws:// or wss://
        ├── InvalidFilter        a REQ filter that breaks NIP-01 (for ``CLOSED invalid: ...``)
        └── InvalidEvent         an event that is not NIP-01 shaped (for ``OK false invalid:``)

Each error carries structured fields (``expected``, ``got``, ``position`` ...) besides its
message, so higher layers can react without parsing text.
"""

from __future__ import annotations

__all__ = [
    "InvalidEnvelope",
    "InvalidEvent",
    "InvalidFilter",
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


class InvalidFilter(RootsError):
    """A filter that breaks NIP-01; the message is meant for ``CLOSED invalid: ...``.

    The message is ``<position> must be <expected>``, followed by ``, got <got>`` when the
    type found is named (``kinds must be a list of integers``, ``a filter must be an
    object, got list``).
    """

    def __init__(self, position: str, expected: str, got: str | None = None) -> None:
        message = f"{position} must be {expected}"
        if got is not None:
            message += f", got {got}"
        super().__init__(message)
        self.position = position  # what is wrong, in words: "kinds", "tag filter '#ab'"...
        self.expected = expected  # what NIP-01 wants there
        self.got = got  # the type found, when the message names it


class InvalidEvent(RootsError):
    """An event that is not NIP-01 shaped; the message is meant for ``OK false invalid:``.

    The message is ``reason`` as is, followed by `` (from <url>)`` when a relay sent the
    event (a client drops forged and malformed events and reports them so); when a shape
    check failed, that check's :class:`RootsError` (``MissingField``, ``WrongFieldType``) is
    the ``__cause__``.
    """

    def __init__(self, reason: str, *, url: str | None = None) -> None:
        super().__init__(reason if url is None else f"{reason} (from {url})")
        self.reason = reason  # the first field missing or wrong, named
        self.url = url  # the relay that sent the event, if one did
