"""Read an envelope's label, and know the standard ones (NIP-01)."""

from __future__ import annotations

import re

from rx_roots.elements import check_array_length, decode_array, parse_element

__all__ = ["get_label", "is_standard_label", "standard_labels"]

_STANDARD = frozenset({"EVENT", "REQ", "CLOSE", "CLOSED", "EOSE", "NOTICE", "OK", "AUTH"})

# The common front of an envelope: `["LABEL",` or `["LABEL"]`, JSON whitespace allowed,
# a label of printable ASCII without quote or backslash (anything else takes the slow path).
_FRONT_STR = re.compile(r'[ \t\n\r]*\[[ \t\n\r]*"([\x20\x21\x23-\x5b\x5d-\x7e]*)"[ \t\n\r]*[,\]]')
_FRONT_BYTES = re.compile(_FRONT_STR.pattern.encode())


def standard_labels() -> frozenset[str]:
    """Return the eight labels NIP-01 defines."""
    return _STANDARD


def is_standard_label(label: str) -> bool:
    """Tell whether ``label`` is one of NIP-01's labels (case-sensitive)."""
    return label in _STANDARD


def get_label(env: str | bytes) -> str:
    """Return the label (first element) of an envelope.

    The label is read from the front of the text, so the cost does not grow with the
    envelope; only unusual input (escapes, non-ASCII labels, odd spacing) is decoded
    whole. The fast path does not validate what follows the label: parse the envelope
    with a ``find_*`` function before trusting its body.

    Raises:
        InvalidJSON: the text is not JSON.
        InvalidEnvelope: it is not a non-empty array.
        WrongFieldType: its first element is not a string.
    """
    if type(env) is str:
        match = _FRONT_STR.match(env)
        if match is not None:
            return match.group(1)
    elif type(env) is bytes:
        bmatch = _FRONT_BYTES.match(env)
        if bmatch is not None:
            return bmatch.group(1).decode("ascii")
    arr = decode_array(env)
    check_array_length(arr, 1)
    return parse_element(arr, 0, str, "envelope label")
