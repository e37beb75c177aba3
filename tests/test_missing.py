"""Packages that are not installed, recorded as missing so a dependency's repeated failed
import of them fails at once (``connector_kit._missing``), and the replay path using it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from connector_kit._missing import cache_missing
from connector_kit.testkit.kit import ConnectorTestKit

REPO = Path(__file__).resolve().parents[1]
ABSENT = "connector_kit_test_no_such_package"


def test_a_package_that_is_not_installed_is_cached_as_missing_with_its_submodules(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ABSENT, f"{ABSENT}.sub", f"{ABSENT}.sub.leaf"):
        monkeypatch.delitem(sys.modules, name, raising=False)  # and removed again after the test
    cache_missing((ABSENT, f"{ABSENT}.sub", f"{ABSENT}.sub.leaf"))
    assert [sys.modules[name] for name in (ABSENT, f"{ABSENT}.sub", f"{ABSENT}.sub.leaf")] == [None] * 3
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"{ABSENT}.sub.leaf")


def test_an_installed_package_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)  # installed, not yet imported
    cache_missing(("colorsys",))
    assert "colorsys" not in sys.modules
    assert importlib.import_module("colorsys").__name__ == "colorsys"


def test_a_replay_caches_the_optional_packages_vcrpys_httpx_patcher_tries() -> None:
    if importlib.util.find_spec("httpx_curl_cffi") is not None:
        pytest.skip("httpx_curl_cffi is installed here: nothing to cache")
    result = ConnectorTestKit("langflow", REPO / "cassettes" / "langflow").replay("plain_chat")
    assert result.reproduced and result.requests, result.explain()
    assert sys.modules.get("httpx_curl_cffi", "absent") is None
