"""The relay's NIP-11 information document (https://github.com/nostr-protocol/nips/blob/master/11.md).

Besides NIP-11's own ``limitation`` fields it carries two extension keys there:
``verify_signatures``, whether the relay checks each event's id and signature (a relay
run with ``--no-verify`` stores forgeries, and a client should know that), and
``max_filter_values``, the most ids/authors/kinds/tag values one filter may list.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from rx_honeybee.relay.store import MAX_FILTER_VALUES

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
    created_at_upper_limit: int = 900,
    verifies: bool = True,
) -> dict[str, Any]:
    """The relay's NIP-11 document unless one is given.

    ``created_at_upper_limit`` is NIP-11's: seconds ``created_at`` may lie in the future.
    """
    checked = "verified" if verifies else "NOT verified (--no-verify)"
    return {
        "name": "rxnostr relay",
        "description": f"In-memory NIP-01 relay from rx_honeybee; event signatures {checked}",
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
            "created_at_upper_limit": created_at_upper_limit,
            "verify_signatures": verifies,
            "max_filter_values": MAX_FILTER_VALUES,
        },
    }
