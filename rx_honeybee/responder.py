"""The relay side of NIP-01 (``serve``, ``send_*``): lives in :mod:`rx_honeybee.relay`.

This module keeps the import path ``rx_honeybee.responder`` that users rely on.
"""

from __future__ import annotations

from rx_honeybee.relay.responder import (
    InboundLimit,
    Server,
    send_auth_challenge,
    send_closed,
    send_eose,
    send_event,
    send_notice,
    send_ok,
    serve,
)

__all__ = [
    "InboundLimit",
    "Server",
    "send_auth_challenge",
    "send_closed",
    "send_eose",
    "send_event",
    "send_notice",
    "send_ok",
    "serve",
]
