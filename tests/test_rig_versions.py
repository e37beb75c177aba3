"""Rigs by server version: separate folders and venvs, locks, and errors that say what to do.

Offline: nothing here installs or starts a server (tests/live/ does)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connector_kit.testkit.rig import RigError, load_rig

LIVE = Path(__file__).resolve().parents[1] / "live"


def test_each_version_has_its_own_folder_venv_and_state() -> None:
    default = load_rig("langgraph", LIVE)
    other = load_rig("langgraph", LIVE, server_version="0.15.0")
    assert default.version == "0.16.7" and other.version == "0.15.0"
    assert other.home == LIVE / "langgraph" / "work" / "versions" / "0.15.0"
    assert other.venv != default.venv and other.state_file != default.state_file
    # Asking for the committed lock's own version is the default rig, not a copy of it.
    assert load_rig("langgraph", LIVE, server_version="0.16.7").home == default.home


def test_a_version_without_a_committed_lock_is_resolved_into_its_folder() -> None:
    rig = load_rig("langgraph", LIVE, server_version="0.13.0")
    assert rig.lock == rig.home / "requirements.lock"
    assert "langgraph-api==0.13.0" in rig.requirements_for("0.13.0")
    assert rig.exclude_newer_for("0.4.20") == "2025-09-15"
    assert rig.exclude_newer_for("0.15.0") is None


@pytest.mark.parametrize(("framework", "package"), [("langgraph", "langgraph-api"),
                                                    ("langflow", "lfx")])
def test_committed_locks_are_used_for_their_versions(framework: str, package: str) -> None:
    locks = sorted((LIVE / framework / "locks").glob("*.lock"))
    assert locks
    for lock in locks:
        rig = load_rig(framework, LIVE, server_version=lock.stem)
        assert rig.lock == lock and not rig._needs_resolving()
        assert f"\n{package}=={lock.stem}\n" in lock.read_text()


def test_langflow_releases_map_to_their_server_packages() -> None:
    rig = load_rig("langflow", LIVE)
    assert rig.version == "1.13.0"
    assert rig.requirements_for("1.12.8") == ["langflow-base==1.12.8", "lfx-openai"]
    assert rig.requirements_for("1.11.6") == ["langflow-base==0.11.6", "lfx==1.11.6",
                                              "lfx-openai"]
    with pytest.raises(RigError, match="older than the rig supports"):
        rig.requirements_for("1.4.0")
    with pytest.raises(RigError, match="not a Langflow release"):
        rig.requirements_for("latest")


@pytest.mark.parametrize("bad", ["../../etc", "0.1/../../x", "", "a b"])
def test_a_version_that_is_not_a_version_is_refused(bad: str) -> None:
    if not bad:  # empty means "the default"
        assert load_rig("langgraph", LIVE, server_version=bad).server_version is None
        return
    with pytest.raises(RigError, match="not a version number"):
        load_rig("langgraph", LIVE, server_version=bad)


def test_a_missing_server_script_is_a_rig_error_with_what_to_do(tmp_path: Path) -> None:
    rig = load_rig("langflow", LIVE, server_version="1.11.6")
    empty = rig.variant(tmp_path, {})
    empty.venv = tmp_path / "venv"  # an install that never happened
    with pytest.raises(RigError, match=re.escape("rig install langflow --server-version 1.11.6")):
        empty._server_script()  # type: ignore[attr-defined]


def test_an_unreadable_state_file_is_a_rig_error(tmp_path: Path) -> None:
    rig = load_rig("langgraph", LIVE).variant(tmp_path, {})
    rig.state_file.write_text("{not json")
    with pytest.raises(RigError, match="unreadable"):
        rig.status()
