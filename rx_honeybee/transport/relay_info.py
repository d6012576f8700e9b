"""Fetch a relay's NIP-11 information document (limits a client should honour).

https://github.com/nostr-protocol/nips/blob/master/11.md: plain HTTP(S) on the relay's
own URL with ``Accept: application/nostr+json``. A client that knows
``limitation.max_subscriptions`` can queue its REQs instead of having them refused.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from rx_honeybee.errors import ConnectionFailed
from rx_roots import normalize_relay_url

__all__ = ["fetch_relay_info", "http_url_of"]


def http_url_of(relay_url: str) -> str:
    """``ws://`` → ``http://``, ``wss://`` → ``https://`` (the same host, port and path)."""
    url = normalize_relay_url(relay_url)
    return "http" + url[2:]  # ws... → http..., wss... → https...


async def fetch_relay_info(relay_url: str, *, timeout: float = 5.0) -> dict[str, Any]:
    """Return the relay's NIP-11 document.

    Raises:
        InvalidRelayURL: ``relay_url`` is not a ws:// or wss:// URL.
        ConnectionFailed: unreachable, an HTTP error, a timeout, or a body that is not a
            JSON object.
    """
    url = http_url_of(relay_url)
    headers = {"Accept": "application/nostr+json"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http,
            http.get(url, headers=headers) as response,
        ):
            response.raise_for_status()
            info = await response.json(content_type=None)
    except aiohttp.ClientResponseError as exc:
        raise ConnectionFailed(relay_url, "nip-11", str(exc), exc.status) from exc
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise ConnectionFailed(relay_url, "nip-11", repr(exc)) from exc
    if not isinstance(info, dict):
        raise ConnectionFailed(relay_url, "nip-11", "the document is not a JSON object")
    return info
