"""rx_roots.__all__ is exactly the package's public surface."""

from __future__ import annotations
import __future__

import importlib
import pkgutil
import types

import pytest

import rx_roots

SUBMODULES = sorted(m.name for m in pkgutil.iter_modules(rx_roots.__path__))
# Names a submodule exports for its siblings but the package keeps to itself.
INTERNAL = {"json_type_name"}


def _public_names() -> set[str]:
    return {
        name
        for name, value in vars(rx_roots).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and not isinstance(value, __future__._Feature)  # `from __future__ import annotations`
    }


def test_all_equals_the_public_names() -> None:
    assert set(rx_roots.__all__) == _public_names()


def test_all_has_no_duplicates() -> None:
    assert len(rx_roots.__all__) == len(set(rx_roots.__all__))


@pytest.mark.parametrize("name", rx_roots.__all__)
def test_every_name_in_all_exists(name: str) -> None:
    assert hasattr(rx_roots, name)
    assert getattr(rx_roots, name) is not None


def test_star_import() -> None:
    namespace: dict[str, object] = {}
    exec("from rx_roots import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == set(rx_roots.__all__)


def test_submodules() -> None:
    assert SUBMODULES == [
        "backoff",
        "elements",
        "enclose",
        "errors",
        "events",
        "filters",
        "find",
        "kinds",
        "labels",
        "reasons",
        "status",
        "urls",
    ]


@pytest.mark.parametrize("module_name", SUBMODULES)
def test_submodule_all_is_reexported(module_name: str) -> None:
    module = importlib.import_module(f"rx_roots.{module_name}")
    for name in module.__all__:
        assert hasattr(module, name), f"rx_roots.{module_name}.__all__ names missing {name}"
        if name not in INTERNAL:
            assert name in rx_roots.__all__
            assert getattr(rx_roots, name) is getattr(module, name)


def test_package_all_comes_from_submodules() -> None:
    exported = set()
    for module_name in SUBMODULES:
        exported |= set(importlib.import_module(f"rx_roots.{module_name}").__all__)
    assert set(rx_roots.__all__) == exported - INTERNAL


def test_spec_names_are_exported() -> None:
    spec = {
        "ConnectionStatus",
        "get_label",
        "standard_labels",
        "is_standard_label",
        *(f"enclose_{n}" for n in ENVELOPES),
        *(f"find_{n}" for n in ENVELOPES),
        "decode_array",
        "check_array_length",
        "check_label",
        "parse_element",
        "RootsError",
        "InvalidJSON",
        "MissingField",
        "WrongFieldType",
        "InvalidEnvelope",
        "WrongEnvelopeLabel",
        "classify_reason",
        "normalize_relay_url",
        "backoff_delays",
        "serialize_for_id",
        "compute_event_id",
        "check_event_shape",
        "is_valid_event_id",
    }
    assert spec <= set(rx_roots.__all__)


def test_nip01_logic_names_are_exported() -> None:
    # Filter matching, kind classes and the event check, shared by clients and relays.
    names = {
        "Filter": "filters",
        "InvalidFilter": "errors",
        "check_filter": "filters",
        "matches": "filters",
        "matches_any": "filters",
        "newest_first": "filters",
        "select": "filters",
        "sort_key": "filters",
        "is_replaceable": "kinds",
        "is_ephemeral": "kinds",
        "is_addressable": "kinds",
        "address_of": "kinds",
        "InvalidEvent": "errors",
        "check_event": "events",
        "readable_id": "events",
    }
    for name, module_name in names.items():
        module = importlib.import_module(f"rx_roots.{module_name}")
        assert getattr(rx_roots, name) is getattr(module, name)
        assert name in module.__all__


ENVELOPES = [
    "event",
    "subscription_event",
    "req",
    "close",
    "closed",
    "notice",
    "eose",
    "ok",
    "auth_challenge",
    "auth_response",
]
