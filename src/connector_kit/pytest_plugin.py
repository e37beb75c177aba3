"""pytest plugin (registered by entry point): cassette-bound kits and certification tests.

Fixtures:

- ``connector_kit`` -- a :class:`BoundKit` for the test's own cassette,
  ``<test dir>/cassettes/<module>/[<Class>.]<test name>.yaml`` (a hash suffix when the name
  needed escaping, so no two tests share a file). Why: so a test can say "send this to
  the agent" and get the connector-level outcome, recorded once from a real server and
  replayed offline (no socket opened) ever after.

Markers:

- ``@pytest.mark.connector_kit(connector, url=None, api_key_env=None, record_mode=None,
  **connector_options)`` -- which connector the fixture binds, and where to record from.
- ``@pytest.mark.live`` -- the test needs a real server (a rig); skipped when there is none.

``--record-mode`` follows pytest-recording (none, once, new_episodes, all, rewrite; default
none = replay only). When pytest-recording is installed its option is used, not redefined.
The command line wins over a marker's ``record_mode`` (a conflict is warned about, never
silently resolved the other way).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from .testkit.cassettes import Cassette, Outcome
from .testkit.episode import load_connector
from .testkit.kit import ConnectorTestKit
from .testkit.scenarios import Scenario, as_messages

RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("connector-kit")
    if importlib.util.find_spec("pytest_recording") is None:
        group.addoption("--record-mode", choices=RECORD_MODES, default=None,
                        help="connector-kit cassettes: none (replay only, default), once, "
                             "new_episodes, all, rewrite")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "connector_kit(connector, url=None, api_key_env=None, record_mode=None, **options): "
        "bind the connector_kit fixture to a connector and (when recording) a live server")
    config.addinivalue_line(
        "markers", "live: needs a real framework server (a rig); skipped when none is available")


def _record_mode(request: pytest.FixtureRequest, marker_mode: str | None) -> str:
    cli = request.config.getoption("--record-mode", default=None)
    if cli and marker_mode and cli != marker_mode:
        warnings.warn(f"--record-mode={cli} overrides record_mode={marker_mode!r} of "
                      f"{request.node.nodeid}", stacklevel=1)
    mode = cli or marker_mode or "none"
    if mode not in RECORD_MODES:
        raise pytest.UsageError(f"record mode must be one of {RECORD_MODES}, got {mode!r}")
    return str(mode)


class BoundKit:
    """A ConnectorTestKit bound to one test's cassette and record mode."""

    def __init__(self, kit: ConnectorTestKit, cassette: Path, mode: str, *,
                 url: str | None, api_key: str | None) -> None:
        self.kit = kit
        self.cassette = cassette
        self.mode = mode
        self.url = url
        self._api_key = api_key

    def __repr__(self) -> str:
        return f"BoundKit({self.kit.connector_class.__name__}, {self.cassette}, mode={self.mode})"

    def run(self, messages: str | list[dict[str, Any]], *, session_id: str | None = None,
            **config: Any) -> Outcome:
        """Send ``messages`` (recording or replaying per the mode); return the outcome."""
        wanted = as_messages(messages)
        if self._must_record():
            return self._record(wanted, session_id, config)
        recorded = Cassette.load(self.cassette)
        if recorded.scenario.get("messages") != wanted:
            raise AssertionError(
                f"The test sends {wanted!r} but {self.cassette} recorded "
                f"{recorded.scenario.get('messages')!r}. Re-record: --record-mode=rewrite.")
        result = self.kit.replay(self.cassette)
        if result.error is not None:
            raise result.error
        assert result.outcome is not None
        return result.outcome

    def _must_record(self) -> bool:
        if self.mode in ("all", "rewrite"):
            return True
        return self.mode in ("once", "new_episodes") and not self.cassette.exists()

    def _record(self, messages: list[dict[str, Any]], session_id: str | None,
                config: dict[str, Any]) -> Outcome:
        if not self.url:
            pytest.skip(f"{self.cassette.name} must be recorded but no url was given "
                        "(@pytest.mark.connector_kit(..., url=...)).")
        scenario = Scenario(name=self.cassette.stem, framework=self.kit.framework,
                            messages=messages, session_id=session_id,
                            config={"api_key": "{api_key}", **config})
        with _exclusive(self.cassette):
            return self.kit.record(scenario, url=self.url, api_key=self._api_key,
                                   out_dir=self.cassette.parent).outcome


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """One writer per cassette, even across pytest-xdist workers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            path.with_suffix(".lock").unlink(missing_ok=True)


@pytest.fixture
def connector_kit(request: pytest.FixtureRequest) -> BoundKit:
    """A kit bound to this test's cassette; replays offline unless --record-mode records."""
    import os

    marker = request.node.get_closest_marker("connector_kit")
    if marker is None or not marker.args:
        raise pytest.UsageError(
            f"{request.node.nodeid} uses the connector_kit fixture: mark it with "
            "@pytest.mark.connector_kit('<connector name or mod:Class>', url=...)")
    options = dict(marker.kwargs)
    url = options.pop("url", None)
    api_key_env = options.pop("api_key_env", None)
    mode = _record_mode(request, options.pop("record_mode", None))
    test_file = Path(str(request.node.path))
    cassette = test_file.parent / "cassettes" / test_file.stem / f"{_cassette_name(request)}.yaml"
    cls = load_connector(marker.args[0])
    kit = ConnectorTestKit(cls, cassette.parent, options=options, framework=_framework_of(cls))
    api_key = os.environ.get(api_key_env) if api_key_env else None
    return BoundKit(kit, cassette, mode, url=url, api_key=api_key)


def _cassette_name(request: pytest.FixtureRequest) -> str:
    """The test's name (with its class, as pytest-recording does) as a unique file name.

    When characters had to be replaced, a hash of the real name is appended so that two
    tests (``test[a b]`` and ``test[a/b]``) never share a cassette, even across xdist workers.
    """
    raw = f"{request.cls.__name__}.{request.node.name}" if request.cls else request.node.name
    name = re.sub(r"[^A-Za-z0-9_.\[\]-]", "_", raw)
    if name != raw or len(name) > 120:
        name = f"{name[:120]}-{hashlib.sha256(raw.encode()).hexdigest()[:10]}"
    return name


def _framework_of(cls: type[Any]) -> str | None:
    """The registry name of the connector (its normaliser), not the cassette folder's name."""
    from .connectors.registry import ConnectorRegistry

    names = [n for n in ConnectorRegistry.list_all() if ConnectorRegistry.get(n) is cls]
    return names[0] if names else None


def certification_tests(target: str, cassettes: str | Path | None = None, *,
                        strict: bool = False, options: dict[str, Any] | None = None,
                        suites: list[str] | None = None) -> Callable[..., None]:
    """A test function parametrised with one case per certification check.

    ``test_langflow = certification_tests("langflow", "cassettes/langflow")`` in a test module
    makes ``pytest -n auto`` spread the checks over all cores.
    """
    from .testkit.certify import make_plan, plan_checks

    plan = make_plan(target, Path(cassettes) if cassettes is not None else None, options=options)
    checks = plan_checks(plan, suites)

    @pytest.mark.parametrize("check", checks, ids=[c.id for c in checks])
    def test_check(check: Any) -> None:
        result = check.execute()
        if result.status in ("failed", "error"):
            pytest.fail(f"{result.id}: {result.detail}", pytrace=False)
        if result.status == "bypassed":
            pytest.skip(f"bypassed: {result.detail}")
        if result.status == "not run":
            if strict:
                pytest.fail(f"{result.id} did not run (strict): {result.detail}", pytrace=False)
            pytest.skip(result.detail)

    return cast(Callable[..., None], test_check)
