"""The client side of NIP-01 (``publish``, ``request``, ...): lives in :mod:`rx_honeybee.client`.

This module keeps the import path ``rx_honeybee.initiator`` that users rely on.
"""

from __future__ import annotations

from rx_honeybee.client.initiator import (
    AuthHook,
    OkResult,
    SessionConfig,
    configure_session,
    publish,
    publish_event,
    request,
    send_auth_response,
    send_close,
    send_req,
    use_auth,
)

__all__ = [
    "AuthHook",
    "OkResult",
    "SessionConfig",
    "configure_session",
    "publish",
    "publish_event",
    "request",
    "send_auth_response",
    "send_close",
    "send_req",
    "use_auth",
]
