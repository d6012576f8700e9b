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


def test_importing_the_package_does_not_import_aiohttp() -> None:
    import subprocess
    import sys

    code = "import sys, rx_honeybee; print('aiohttp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
