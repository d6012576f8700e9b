"""The relay's NIP-11 information document (https://github.com/nostr-protocol/nips/blob/master/11.md)."""

from __future__ import annotations

from importlib import metadata
from typing import Any

__all__ = ["MAX_SUB_ID", "default_info"]

MAX_SUB_ID = 64
"""Longest subscription id the relay accepts (NIP-01 asks clients for at most 64)."""


def _version() -> str:
    try:
        return metadata.version("rxnostr")
    except metadata.PackageNotFoundError:
        return "0"


def default_info(
    *,
    max_subscriptions: int,
    max_filters: int,
    max_limit: int,
    max_message_length: int,
    auth_required: bool,
) -> dict[str, Any]:
    """The relay's NIP-11 document unless one is given."""
    return {
        "name": "rxnostr relay",
        "description": "In-memory NIP-01 relay from rx_honeybee",
        "supported_nips": [1, 11, 42],
        "software": "rxnostr",
        "version": _version(),
        "limitation": {
            "max_message_length": max_message_length,
            "max_subscriptions": max_subscriptions,
            "max_filters": max_filters,
            "max_limit": max_limit,
            "max_subid_length": MAX_SUB_ID,
            "auth_required": auth_required,
        },
    }
