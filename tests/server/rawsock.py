"""A raw TCP websocket client for server tests: small buffers, no reader behind our back.

aiohttp's client reads into its own buffers and the kernel grows a loopback receive
buffer to tens of MB, so "a client that stops reading" needs a plain socket with a small
``SO_RCVBUF`` and a hand-written upgrade.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct

__all__ = ["RawClient", "open_raw"]


class RawClient:
    """One TCP connection; ``upgrade()`` makes it a websocket, nothing reads unless asked."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def upgrade(self, host: str, port: int) -> int:
        """Send the HTTP upgrade and read the status line; return the HTTP status."""
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write(
            (
                f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1])

    def send_text(self, text: str) -> None:
        """Write one masked text frame."""
        self.writer.write(_frame(0x1, text.encode()))

    def send_close(self, code: int = 1000) -> None:
        """Write a masked close frame (the peer sees the client leaving)."""
        self.writer.write(_frame(0x8, struct.pack("!H", code)))

    async def body(self) -> bytes:
        """What is left to read until the server closes (an HTTP refusal's body)."""
        return await self.reader.read()

    async def closed_by_peer(self) -> bool:
        """Read and discard until EOF or reset: True once the server closed the socket."""
        try:
            while await self.reader.read(65536):
                pass
        except ConnectionError:
            pass
        return True

    def close(self) -> None:
        self.writer.transport.abort()


async def open_raw(host: str, port: int, *, rcvbuf: int | None = None) -> RawClient:
    """Connect a plain TCP socket (``rcvbuf`` set before connecting, so it sticks)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=2**16)
    return RawClient(reader, writer)


def _frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked
