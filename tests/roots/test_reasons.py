"""classify_reason: the NIP-01 machine-readable prefixes of OK and CLOSED messages."""

from __future__ import annotations

import pytest

from rx_roots import REASON_PREFIXES, classify_reason

STANDARD = [
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
]


def test_prefixes() -> None:
    assert isinstance(REASON_PREFIXES, frozenset)
    assert set(STANDARD) == REASON_PREFIXES
    assert len(STANDARD) == len(REASON_PREFIXES)


@pytest.mark.parametrize("prefix", STANDARD)
@pytest.mark.parametrize(
    ("tail", "text"),
    [
        (": some text", "some text"),
        (":no space", "no space"),
        (":", ""),
        (": ", ""),
        (":   padded  ", "padded"),
        (": a: b", "a: b"),
        (": été", "été"),
    ],
)
def test_standard_prefix(prefix: str, tail: str, text: str) -> None:
    assert classify_reason(prefix + tail) == (prefix, text)


@pytest.mark.parametrize(
    "message",
    [
        "",
        "hello world",
        "no colon at all",
        "unknown: prefix",
        "foo:bar",
        ":",
        ": leading colon",
        "Duplicate: capitalised",
        "ERROR: upper case",
        " duplicate: leading space",
        "duplicate : space before colon",
        "note: duplicate: not first",
        "duplicate",
        "rate-limited",
        "rate limited: no hyphen",
        "auth-required-ish: x",
    ],
)
def test_no_standard_prefix(message: str) -> None:
    assert classify_reason(message) == ("", message)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("rate-limited: slow down", ("rate-limited", "slow down")),
        (
            "auth-required: we only accept events from registered users",
            (
                "auth-required",
                "we only accept events from registered users",
            ),
        ),
        ("pow: difficulty 26 is less than 30", ("pow", "difficulty 26 is less than 30")),
        (
            "error: could not connect to the database",
            ("error", "could not connect to the database"),
        ),
        ("blocked:", ("blocked", "")),
    ],
)
def test_examples_from_nip01(message: str, expected: tuple[str, str]) -> None:
    assert classify_reason(message) == expected
