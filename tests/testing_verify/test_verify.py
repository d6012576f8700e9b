"""verify_event, verifier and sign_event: BIP-340 signatures of Nostr events, with coincurve."""

from __future__ import annotations

import builtins
import json
import sys
from pathlib import Path
from typing import Any

import coincurve
import pytest

from rx_honeybee.verify import sign_event, verifier, verify_event
from rx_roots import MissingField, WrongFieldType, compute_event_id, is_valid_event_id

SK = "7f" * 32
OTHER_SK = "3c" * 32
AUX = bytes(range(32))

# Signed by other clients and published on relays. The second has the right id and a wrong
# signature (a relay rejected it): it must fail here though is_valid_event_id accepts it.
_REAL = json.loads((Path(__file__).parent.parent / "data" / "real_events.json").read_text())
PROFILE, BAD_SIGNATURE = _REAL[0], _REAL[3]


def _template(**overrides: Any) -> dict[str, Any]:
    template: dict[str, Any] = {
        "created_at": 1_710_000_000,
        "kind": 1,
        "tags": [["t", "nostr"]],
        "content": 'gm "nostr" 🌅\nline two / \\ é',
    }
    template.update(overrides)
    return template


@pytest.fixture
def signed() -> dict[str, Any]:
    return sign_event(_template(), SK, aux_randomness=AUX)


def test_events_signed_elsewhere() -> None:
    assert verify_event(PROFILE)
    assert is_valid_event_id(BAD_SIGNATURE)
    assert not verify_event(BAD_SIGNATURE)


def test_bip340_vector_0() -> None:
    # BIP-340 test vector 0: secret key 3, message and aux randomness all zero bytes.
    key = coincurve.PrivateKey(bytes.fromhex("00" * 31 + "03"))
    assert key.public_key_xonly.format().hex() == (
        "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9"
    )
    assert key.sign_schnorr(bytes(32), bytes(32)).hex() == (
        "e907831f80848d1069a5371b402410364bdf1c5f8307b0084c55f1ce2dca8215"
        "25f66a4a85ea8b71e482a74f382d2ce5ebeee8fdb2172f477df4900d310536c0"
    )
    event = sign_event(_template(), "00" * 31 + "03")
    assert event["pubkey"] == "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9"


def test_round_trip(signed: dict[str, Any]) -> None:
    assert list(signed) == ["id", "pubkey", "created_at", "kind", "tags", "content", "sig"]
    assert (
        signed["pubkey"] == coincurve.PrivateKey(bytes.fromhex(SK)).public_key_xonly.format().hex()
    )
    assert signed["id"] == compute_event_id(signed)
    assert len(signed["sig"]) == 128
    assert verify_event(signed)
    assert {k: signed[k] for k in ("created_at", "kind", "tags", "content")} == _template()


def test_fixed_aux_randomness_is_deterministic(signed: dict[str, Any]) -> None:
    assert sign_event(_template(), SK, aux_randomness=AUX) == signed
    other = sign_event(_template(), SK, aux_randomness=bytes(32))
    assert other["id"] == signed["id"] and other["sig"] != signed["sig"]
    assert verify_event(other)


def test_fresh_randomness_by_default() -> None:
    first, second = sign_event(_template(), SK), sign_event(_template(), SK)
    assert first["id"] == second["id"] and first["sig"] != second["sig"]
    assert verify_event(first) and verify_event(second)


def test_template_pubkey_extra_keys_and_stale_id() -> None:
    pubkey = sign_event(_template(), SK)["pubkey"]
    event = sign_event(_template(pubkey=pubkey, id="0" * 64, sig="1" * 128, relay="x"), SK)
    assert verify_event(event)
    assert list(event)[-1] == "relay" and event["relay"] == "x"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("content", "gm"),
        ("content", 'gm "nostr" 🌅\nline two / \\ é '),
        ("created_at", 1_710_000_001),
        ("kind", 7),
        ("tags", []),
        ("tags", [["t", "Nostr"]]),
    ],
)
def test_tampered_content_fails(signed: dict[str, Any], name: str, value: Any) -> None:
    tampered = {**signed, name: value}
    assert not verify_event(tampered)
    # Even with the id recomputed, the signature is over the old id.
    tampered["id"] = compute_event_id(tampered)
    assert is_valid_event_id(tampered)
    assert not verify_event(tampered)


def test_tampered_id_sig_or_pubkey_fails(signed: dict[str, Any]) -> None:
    other = sign_event(_template(content="another"), SK, aux_randomness=AUX)
    assert not verify_event({**signed, "id": other["id"]})
    assert not verify_event({**signed, "sig": other["sig"]})
    flipped = signed["sig"][:-1] + ("0" if signed["sig"][-1] != "0" else "1")
    assert not verify_event({**signed, "sig": flipped})
    # Someone else's key: the id changes with the pubkey, and the signature is not theirs.
    theirs = sign_event(_template(), OTHER_SK)["pubkey"]
    moved = {**signed, "pubkey": theirs}
    assert not verify_event(moved)
    assert not verify_event({**moved, "id": compute_event_id(moved)})


@pytest.mark.parametrize(
    "pubkey",
    [
        "ff" * 32,  # above the field prime
        "00" * 32,  # x = 0 is not on secp256k1
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",  # the prime itself
    ],
)
def test_pubkey_off_the_curve_fails(signed: dict[str, Any], pubkey: str) -> None:
    event = {**signed, "pubkey": pubkey}
    event["id"] = compute_event_id(event)
    assert not verify_event(event)


@pytest.mark.parametrize(
    "change",
    [
        {"sig": "AB" * 64},
        {"sig": "ab" * 63},
        {"sig": None},
        {"id": "ab" * 31},
        {"pubkey": 1},
        {"kind": True},
        {"kind": 70000},
        {"created_at": 1.5},
        {"tags": [["t", 1]]},
        {"content": None},
    ],
)
def test_malformed_fails(signed: dict[str, Any], change: dict[str, Any]) -> None:
    assert not verify_event({**signed, **change})


@pytest.mark.parametrize("event", [None, {}, [], "event", 1])
def test_not_an_event_fails(event: Any) -> None:
    assert verify_event(event) is False


def test_missing_fields_fail(signed: dict[str, Any]) -> None:
    for name in signed:
        assert not verify_event({k: v for k, v in signed.items() if k != name}), name


def test_verifier() -> None:
    assert verifier() is verify_event


def test_verifier_without_coincurve(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_coincurve(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "coincurve" or name.startswith("coincurve."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_coincurve)
    monkeypatch.delitem(sys.modules, "coincurve")
    assert verifier() is None
    with pytest.raises(ImportError):
        verify_event(PROFILE)


@pytest.mark.parametrize(
    "secret",
    ["", "7f" * 31, "7f" * 33, "zz" * 32, "00" * 32, "ff" * 32],
)
def test_sign_bad_secret_key(secret: str) -> None:
    with pytest.raises(ValueError):
        sign_event(_template(), secret)


def test_sign_wrong_pubkey() -> None:
    theirs = sign_event(_template(), OTHER_SK)["pubkey"]
    with pytest.raises(ValueError, match="not the secret key's"):
        sign_event(_template(pubkey=theirs), SK)


def test_sign_bad_aux_randomness() -> None:
    with pytest.raises(ValueError):
        sign_event(_template(), SK, aux_randomness=b"short")


def test_sign_malformed_template() -> None:
    template = _template()
    del template["content"]
    with pytest.raises(MissingField):
        sign_event(template, SK)
    with pytest.raises(WrongFieldType):
        sign_event(_template(kind="1"), SK)
