"""normalize_relay_url: one canonical spelling per relay."""

from __future__ import annotations

from typing import Any

import pytest

from rx_roots import InvalidRelayURL, RootsError, normalize_relay_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("wss://relay.example.com", "wss://relay.example.com"),
        ("ws://relay.example.com", "ws://relay.example.com"),
        # case: scheme and host lower-cased, path and query kept as they are
        ("WSS://Relay.Example.COM", "wss://relay.example.com"),
        ("Ws://HOST/Path/To?Q=Up", "ws://host/Path/To?Q=Up"),
        # default ports dropped, other ports kept
        ("wss://relay.example.com:443", "wss://relay.example.com"),
        ("ws://relay.example.com:80", "ws://relay.example.com"),
        ("wss://relay.example.com:80", "wss://relay.example.com:80"),
        ("ws://relay.example.com:443", "ws://relay.example.com:443"),
        ("wss://relay.example.com:7777", "wss://relay.example.com:7777"),
        ("wss://relay.example.com:0443", "wss://relay.example.com"),
        ("wss://relay.example.com:", "wss://relay.example.com"),
        # trailing slashes
        ("wss://relay.example.com/", "wss://relay.example.com"),
        ("wss://relay.example.com//", "wss://relay.example.com"),
        ("wss://relay.example.com/nostr/", "wss://relay.example.com/nostr"),
        ("wss://relay.example.com/a/b", "wss://relay.example.com/a/b"),
        # missing scheme
        ("relay.example.com", "wss://relay.example.com"),
        ("relay.example.com/", "wss://relay.example.com"),
        ("relay.example.com:443", "wss://relay.example.com"),
        ("localhost:7777", "wss://localhost:7777"),
        ("Relay.Example.com/Path", "wss://relay.example.com/Path"),
        # query kept, fragment dropped
        ("wss://relay.example.com/?token=abc", "wss://relay.example.com?token=abc"),
        ("wss://relay.example.com/p?a=1&b=2", "wss://relay.example.com/p?a=1&b=2"),
        ("wss://relay.example.com/p#frag", "wss://relay.example.com/p"),
        ("wss://relay.example.com/p/?q=1#frag", "wss://relay.example.com/p?q=1"),
        ("wss://relay.example.com#", "wss://relay.example.com"),
        # IPv6 literals keep their brackets
        ("wss://[::1]", "wss://[::1]"),
        ("wss://[::1]:443/", "wss://[::1]"),
        ("ws://[2001:DB8::1]:8080/x", "ws://[2001:db8::1]:8080/x"),
        ("[::1]:7777", "wss://[::1]:7777"),
        # IPv4 and surrounding whitespace
        ("ws://127.0.0.1:8080", "ws://127.0.0.1:8080"),
        ("  wss://relay.example.com/  ", "wss://relay.example.com"),
        ("\twss://relay.example.com\n", "wss://relay.example.com"),
        # userinfo is not part of a relay's identity
        ("wss://user:pw@relay.example.com", "wss://relay.example.com"),
        # no scheme, but '://' further on (regression: it was taken for a scheme separator)
        ("relay.example.com/?r=wss://other", "wss://relay.example.com?r=wss://other"),
        ("relay.example.com/p#wss://x", "wss://relay.example.com/p"),
    ],
)
def test_normalizes(url: str, expected: str) -> None:
    assert normalize_relay_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "wss://relay.example.com",
        "ws://[::1]:8080/x?y=1",
        "WSS://Relay.Example.COM:443/nostr/#f",
        "relay.example.com",
    ],
)
def test_is_idempotent(url: str) -> None:
    once = normalize_relay_url(url)
    assert normalize_relay_url(once) == once


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://relay.example.com", "scheme must be ws or wss, got http"),
        ("https://relay.example.com", "scheme must be ws or wss, got https"),
        ("HTTPS://relay.example.com", "scheme must be ws or wss, got https"),
        ("ftp://relay.example.com", "scheme must be ws or wss, got ftp"),
        ("wss://", "no host"),
        ("ws://", "no host"),
        ("", "no host"),
        ("   ", "no host"),
        ("wss:///path", "no host"),
        ("wss://:443", "no host"),
        ("wss://user@", "no host"),
        ("wss://relay.example.com:abc", "Port could not be cast to integer value as 'abc'"),
        ("wss://relay.example.com:70000", "Port out of range 0-65535"),
        ("wss://relay.example.com:-1", "Port could not be cast to integer value as '-1'"),
        ("wss://[::1", "Invalid IPv6 URL"),
    ],
)
def test_refuses(url: str, reason: str) -> None:
    with pytest.raises(InvalidRelayURL) as info:
        normalize_relay_url(url)
    assert info.value.url == url
    assert info.value.reason == reason
    assert str(info.value) == f"invalid relay URL {url!r}: {reason}"
    assert isinstance(info.value, RootsError)


@pytest.mark.parametrize("url", ["://relay.example.com", "1ws://relay.example.com"], ids=repr)
def test_refuses_malformed_schemes(url: str) -> None:
    with pytest.raises(InvalidRelayURL):
        normalize_relay_url(url)


@pytest.mark.parametrize("url", [None, b"wss://relay.example.com", 5, ["wss://x"]], ids=repr)
def test_refuses_non_str(url: Any) -> None:
    with pytest.raises(InvalidRelayURL) as info:
        normalize_relay_url(url)
    assert info.value.url == repr(url)
    assert info.value.reason == "expected a string"
