"""`rxnostr relay` picks rx_mana's cached fan-out through the ``rxnostr.fan_out`` entry point."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest

cli = importlib.import_module("rx_honeybee.cli.main")  # the module, not the main() function


class Target:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, envelope: str, *, priority: int | None = None) -> None:
        self.sent.append(envelope)


@pytest.mark.asyncio
async def test_the_installed_plugin_prepares_an_envelope_once_for_all_targets() -> None:
    fan_out, name = cli.plugged_fan_out()
    assert fan_out is not None and name == "rx_mana.broadcast:cached_fan_out"
    targets = [Target() for _ in range(3)]
    assert fan_out(targets, '["EVENT","s",{}]') == []
    first, second, third = (t.sent[0] for t in targets)
    assert first == '["EVENT","s",{}]' and first is second is third  # one prepared object


def test_without_a_plugin_the_relay_sends_to_each(monkeypatch: pytest.MonkeyPatch) -> None:
    def none(**_: Any) -> list[Any]:
        return []

    monkeypatch.setattr(importlib.metadata, "entry_points", none)
    assert cli.plugged_fan_out() == (None, "each")
