"""NIP-42 on the relay side: is an AUTH event the right answer to our challenge?

https://github.com/nostr-protocol/nips/blob/master/42.md
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rx_roots import InvalidRelayURL, normalize_relay_url

__all__ = ["AUTH_KIND", "AUTH_WINDOW", "auth_problem"]

AUTH_KIND = 22242
AUTH_WINDOW = 600  # seconds an AUTH event's created_at may be off
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "[::1]"})  # hosts as in a relay url


def auth_problem(
    event: Mapping[str, Any], *, challenge: str | None, relay_url: str, now: float
) -> str:
    """Why a (verified, well-formed) AUTH event is refused, or ``""``.

    Args:
        event: the client's kind-22242 event.
        challenge: the challenge this client was sent, if any.
        relay_url: this relay's ``ws://host:port`` (loopback goes by several names).
        now: the relay's clock, in epoch seconds.
    """
    if event["kind"] != AUTH_KIND:
        return f"an AUTH event must be of kind {AUTH_KIND}"
    tags = {tag[0]: tag[1] for tag in reversed(event["tags"]) if len(tag) >= 2}
    if challenge is None or tags.get("challenge") != challenge:
        return "the challenge tag does not match the challenge sent"
    if not _names(tags.get("relay", ""), relay_url):
        return f"the relay tag does not name {relay_url}"
    if abs(now - event["created_at"]) > AUTH_WINDOW:
        return "created_at is too far from now"
    return ""


def _names(url: str, relay_url: str) -> bool:
    try:
        given = normalize_relay_url(url)
    except InvalidRelayURL:
        return False
    mine, _, port = relay_url.removeprefix("ws://").rpartition(":")
    hosts = _LOOPBACK if mine in _LOOPBACK else {mine}
    return given in {f"ws://{host}:{port}" for host in hosts}
