"""NIP-11 CORS: the document and its preflight carry the three headers NIP-11 asks for."""

from __future__ import annotations

import aiohttp
import pytest

from rx_honeybee.relay import Relay

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(10)]

WANTED = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Accept, Content-Type",
    "Access-Control-Allow-Methods": "GET, OPTIONS",
}


async def test_the_document_and_an_options_preflight_allow_any_origin() -> None:
    async with Relay() as relay, aiohttp.ClientSession() as http:
        url = "http" + relay.url[2:]
        headers = {"Accept": "application/nostr+json", "Origin": "https://app.example"}
        async with http.get(url, headers=headers) as got:
            assert got.status == 200
            assert {k: got.headers.get(k) for k in WANTED} == WANTED
        async with http.options(url, headers={"Origin": "https://app.example"}) as pre:
            assert pre.status == 204
            assert {k: pre.headers.get(k) for k in WANTED} == WANTED
