"""The package's public names are exactly ``__all__`` (httpx's habit)."""

from __future__ import annotations

import rx_honeybee


def test_all_names_exist() -> None:
    for name in rx_honeybee.__all__:
        assert hasattr(rx_honeybee, name), name


def test_all_is_the_public_surface() -> None:
    public = {
        name
        for name, value in vars(rx_honeybee).items()
        if not name.startswith("_") and not getattr(value, "__name__", "").startswith("rx_")
    }
    assert public - {"annotations"} == set(rx_honeybee.__all__)
