"""Give every spelling of a relay URL one canonical form, so pools can key on it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from rx_roots.errors import InvalidRelayURL

__all__ = ["normalize_relay_url"]

_DEFAULT_PORTS = {"ws": 80, "wss": 443}
_HAS_SCHEME = re.compile(r"[^/?#]*://")  # a '://' in the path, query or fragment is no scheme


def normalize_relay_url(url: str) -> str:
    """Return the canonical form of a relay URL.

    Lower-cases scheme and host, adds ``wss://`` when no scheme is given, drops the
    default port, a trailing ``/`` and any fragment; keeps path and query.

    Raises:
        InvalidRelayURL: not a string, a scheme other than ws/wss, or no host.
    """
    if not isinstance(url, str):
        raise InvalidRelayURL(repr(url), "expected a string")
    text = url.strip()
    if not _HAS_SCHEME.match(text):
        text = "wss://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidRelayURL(url, str(exc)) from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidRelayURL(url, f"scheme must be ws or wss, got {scheme or 'none'}")
    host = parts.hostname
    if not host:
        raise InvalidRelayURL(url, "no host")
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, ""))
