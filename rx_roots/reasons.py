"""Split the machine-readable prefix off an OK or CLOSED message (NIP-01)."""

from __future__ import annotations

__all__ = ["REASON_PREFIXES", "classify_reason"]

REASON_PREFIXES = frozenset(
    {
        "duplicate",
        "pow",
        "blocked",
        "rate-limited",
        "invalid",
        "restricted",
        "mute",
        "error",
        "auth-required",
        "unsupported",
    }
)
"""The standard prefixes, without their colon."""


def classify_reason(message: str) -> tuple[str, str]:
    """Return ``(prefix, text)``: ``"rate-limited: slow down"`` → ``("rate-limited", "slow down")``.

    Only the standard prefixes are recognised; any other message gives ``("", message)``.
    """
    head, colon, rest = message.partition(":")
    if colon and head in REASON_PREFIXES:
        return head, rest.strip()
    return "", message
