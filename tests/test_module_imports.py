"""Every module of the package imports by its dotted path (a re-export must not shadow one)."""

from __future__ import annotations

import importlib
import pkgutil

import connector_kit


def test_every_module_imports_by_its_dotted_path() -> None:
    names = [m.name for m in pkgutil.walk_packages(connector_kit.__path__, "connector_kit.")
             if not m.name.endswith("__main__")]  # running it is the CLI
    assert "connector_kit.testkit.certify" in names
    for name in names:
        module = importlib.import_module(name)
        parent, _, child = name.rpartition(".")
        # the attribute on the parent package is the module itself, not a re-exported function
        assert getattr(importlib.import_module(parent), child) is module, name
