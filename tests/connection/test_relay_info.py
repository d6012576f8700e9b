"""Fetching a relay's NIP-11 document: URLs, errors."""

from __future__ import annotations

from typing import Any

import pytest

from rx_honeybee import ConnectionFailed
from rx_honeybee.transport.relay_info import fetch_relay_info, http_url_of
from rx_roots import InvalidRelayURL


def test_the_http_url_of_a_relay() -> None:
    assert http_url_of("wss://Relay.Example/path") == "https://relay.example/path"
    assert http_url_of("ws://127.0.0.1:7777") == "http://127.0.0.1:7777"
    with pytest.raises(InvalidRelayURL):
        http_url_of("ftp://relay")


@pytest.mark.asyncio
@pytest.mark.timeout(10)
async def test_an_http_error_is_a_connection_failure_with_its_status(server: Any) -> None:
    server.refuse_status = 503
    with pytest.raises(ConnectionFailed) as failed:
        await fetch_relay_info(server.url)
    assert (failed.value.category, failed.value.status) == ("nip-11", 503)
