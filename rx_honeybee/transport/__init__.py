"""The only package that imports aiohttp: the client socket, the accepted socket, the server.

Everything else in rx_honeybee sees a socket as a cold Observable
(:mod:`rx_honeybee.socket`), so it can be tested without one.
"""

from __future__ import annotations

from rx_honeybee.transport.client import (
    SharedSession,
    aiohttp_socket,
    classify_dial_error,
    shared_sockets,
)
from rx_honeybee.transport.frames import AiohttpLink, read_frames

__all__ = [
    "AiohttpLink",
    "SharedSession",
    "aiohttp_socket",
    "classify_dial_error",
    "read_frames",
    "shared_sockets",
]
