"""Item 4 of issue 12: NIP-11 says whether the relay verifies signatures."""

from __future__ import annotations

import pytest

from rx_honeybee.relay import Relay
from rx_honeybee.transport.relay_info import fetch_relay_info
from rx_honeybee.verify import verify_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


async def test_a_verifying_relay_says_so_over_http() -> None:
    async with Relay(verify=verify_event) as relay:
        doc = await fetch_relay_info(relay.url)
        assert doc["limitation"]["verify_signatures"] is True
        assert "signatures verified" in doc["description"]


async def test_a_relay_without_verify_says_so() -> None:
    async with Relay() as relay:
        doc = await fetch_relay_info(relay.url)
        assert doc["limitation"]["verify_signatures"] is False
        assert "NOT verified" in doc["description"]
