"""Read an outgoing envelope's label cheaply, for policies that sort envelopes by it.

A write queue (or a rate limiter) looks at every envelope it holds back, so the label is
read from the front of the text: the compact form ``["LABEL",`` that rx_roots' ``enclose_*``
builds is sliced directly; anything else goes through :func:`rx_roots.get_label`. Text that
is not an envelope has no label (None) rather than an error: the policy then treats it as
unknown instead of failing the send.
"""

from __future__ import annotations

from rx_roots import RootsError, get_label

__all__ = ["CONTROL_LABELS", "read_label"]

CONTROL_LABELS = frozenset({"CLOSE", "AUTH", "EOSE", "OK", "NOTICE", "CLOSED"})
"""Labels that steer a conversation (end it, authenticate, answer): never behind bulk."""


def read_label(envelope: str) -> str | None:
    """Return the label of ``envelope``, or None when it is not a JSON array led by a string."""
    if envelope.startswith('["'):
        end = envelope.find('"', 2)
        if end > 0 and envelope[end + 1 : end + 2] in (",", "]"):
            label = envelope[2:end]
            if "\\" not in label:
                return label
    try:
        return get_label(envelope)
    except RootsError:
        return None
