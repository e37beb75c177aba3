"""pytest plugin (registered by entry point): connector calls on pytest-recording, certification tests.

The ``connector_kit`` fixture is pytest-recording underneath. A test marked
``@pytest.mark.connector_kit(...)`` gets pytest-recording's ``vcr`` cassette (the plugin adds
the ``vcr`` marker), configured through pytest-recording's ``pytest_recording_configure``
hook with the kit's hooks (scrub, canonicalise, refuse to save a secret), its strict
matchers (masked JSON body, auth-header presence) and its persister. So everything
pytest-recording users know applies: ``vcr_config``, ``vcr_cassette_dir``,
``default_cassette_name``, ``@pytest.mark.vcr(...)``, ``--record-mode`` (none, once,
new_episodes, all, rewrite; default none), ``--block-network``, ``--allowed-hosts``,
``--disable-recording``. The kit's hooks are vcrpy's defaults on that VCR: a
``vcr_config`` may add ``filter_headers``, ``filter_query_parameters``,
``filter_sensitive_data`` (which run before them), but giving its own
``before_record_request`` / ``before_record_response`` / ``before_save_interaction`` would
replace the kit's scrubbing, so the fixture refuses it.

Fixture ``connector_kit``: a :class:`BoundKit`; ``run(messages, session_id=None, **config)``
sends one call (a test may make several) and returns its :class:`Outcome`, or raises the
connector's error as it would live. What each call sent and got is kept in the cassette's
``connector_kit`` section; on replay a call is compared with the recorded one (inputs,
outcome or error type) and a difference fails the test by name.

Markers:

- ``@pytest.mark.connector_kit(connector, url=None, api_key_env=None, record_mode=None,
  **connector_options)`` -- which connector, where to record from. ``record_mode`` is
  forwarded to ``@pytest.mark.vcr(record_mode=...)`` and has pytest-recording's meaning
  (it beats ``--record-mode``).
- ``@pytest.mark.live`` -- the test needs a real server (a rig); skipped when there is none.

A test that fails saves nothing (vcrpy's ``record_on_exception`` off, also under pytest):
what it recorded is kept aside and the failure report says where. Under ``--record-mode=rewrite``
(which deletes the cassette before the test) a test that does not pass gets the committed
cassette back, byte for byte.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from .testkit.recording.outcome import Outcome
from .testkit.recording.scenarios import as_messages
from .testkit.recording.targets import class_path, registry_names

if TYPE_CHECKING:
    from .testkit.kit import ConnectorTestKit
    from .testkit.recording.interception import KitHooks

_SESSION_KEY = pytest.StashKey["_KitSession"]()
_REPORT_KEY = pytest.StashKey[pytest.TestReport]()
_CURRENT_KEY = pytest.StashKey[pytest.Item]()
_BACKUP_KEY = pytest.StashKey[tuple[Path, bytes]]()
_OWN_HOOKS = ("before_record_request", "before_record_response", "before_save_interaction")
#: vcrpy's default matching plus the kit's strict body and auth matchers. The request hook
#: canonicalises the origin (random loopback ports), ids and timestamps on both sides.
#: A cassette bigger than the safe loader accepts is not backed up (it could not be replayed anyway).
_MAX_BACKUP_BYTES = 8 * 1024 * 1024
PLUGIN_MATCH_ON = ("method", "scheme", "host", "port", "path", "query", "ck_body", "ck_auth")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "connector_kit(connector, url=None, api_key_env=None, record_mode=None, **options): "
        "bind the connector_kit fixture to a connector and (when recording) a live server")
    config.addinivalue_line(
        "markers", "live: needs a real framework server (a rig); skipped when none is available")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every connector_kit test pytest-recording's ``vcr`` marker (its cassette)."""
    for item in items:
        marker = item.get_closest_marker("connector_kit")
        if marker is None:
            continue
        mode = marker.kwargs.get("record_mode")
        item.add_marker(pytest.mark.vcr(record_mode=mode) if mode else pytest.mark.vcr, append=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    item.config.stash[_CURRENT_KEY] = item
    try:
        return (yield)
    finally:
        del item.config.stash[_CURRENT_KEY]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_REPORT_KEY] = report
    elif report.when == "teardown" and _SESSION_KEY in item.stash:
        error = item.stash[_SESSION_KEY].hooks.leak_error()
        if error is not None:  # the save was refused (nothing written): fail the test loudly
            report.outcome = "failed"
            report.longrepr = f"{type(error).__name__}: {error}"
    if report.when == "teardown" and _BACKUP_KEY in item.stash:
        _restore_if_failed(item, report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
                         ) -> Generator[None, Any, Any]:
    # pytest-recording's ``rewrite`` deletes the cassette while setting up its ``vcr`` fixture, so
    # a test that then fails would lose the committed file. Keep its bytes first (the fixtures
    # ``vcr`` stands on are set up by now) and put them back if the test does not pass.
    if fixturedef.argname == "vcr" and request.node.get_closest_marker("connector_kit") is not None:
        path = _cassette_path(request)
        if path is not None:
            request.node.stash[_BACKUP_KEY] = (path, path.read_bytes())
    return (yield)


def _cassette_path(request: pytest.FixtureRequest) -> Path | None:
    folder, name = (str(request.getfixturevalue(f)) for f in ("vcr_cassette_dir",
                                                             "default_cassette_name"))
    base = Path(folder) / name
    for path in (base, base.with_name(base.name + ".yaml")):
        if path.is_file() and path.stat().st_size <= _MAX_BACKUP_BYTES:
            return path
    return None


def _restore_if_failed(item: pytest.Item, report: pytest.TestReport) -> None:
    # Called from the fixture's teardown with the call's report (its sections are shown), and
    # again after teardown for a test whose set-up failed before the fixture ran.
    path, data = item.stash[_BACKUP_KEY]
    del item.stash[_BACKUP_KEY]
    call = item.stash.get(_REPORT_KEY, None)
    passed = call is not None and call.passed and report.passed
    if passed or (path.is_file() and path.read_bytes() == data):
        return
    from .testkit.recording.cassettes import atomic_write

    atomic_write(path, data.decode("utf-8"))
    report.sections.append(("connector-kit", f"the test did not pass, so {path} was put back "
                                             "as it was before the run (--record-mode=rewrite "
                                             "had deleted it)"))


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-recording (the testkit extra)
def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """pytest-recording's hook: put the kit's configuration on the test's VCR."""
    item = config.stash.get(_CURRENT_KEY, None)
    if item is None or item.get_closest_marker("connector_kit") is None:
        return
    session = _session(item)
    from .testkit.recording.cassettes import KitPersister
    from .testkit.recording.replay import register_matchers

    hooks = session.hooks
    vcr.before_record_request = hooks.request
    vcr.before_record_response = hooks.response
    vcr.before_save_interaction = hooks.before_save
    vcr.decode_compressed_response = True
    vcr.record_on_exception = False
    vcr.match_on = PLUGIN_MATCH_ON
    register_matchers(vcr, hooks.normalizer)
    extra = [Path(p) if os.path.isabs(p) else Path(str(vcr.cassette_library_dir)) / p
             for m in item.iter_markers("vcr") for p in m.args]
    vcr.register_persister(KitPersister(extra, lock=True))


class _KitSession:
    """What the plugin knows about one connector_kit test, before its fixtures run."""

    def __init__(self, item: pytest.Item) -> None:
        from .testkit.recording.episode import REPLAY_KEY
        from .testkit.recording.interception import KitHooks
        from .testkit.recording.normalize import normalizer_for
        from .testkit.recording.targets import load_connector

        marker = item.get_closest_marker("connector_kit")
        assert marker is not None
        if not marker.args:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.connector_kit needs the connector "
                "('<registry name or mod:Class>').")
        self.options = {k: v for k, v in marker.kwargs.items()
                        if k not in ("url", "api_key_env", "record_mode")}
        self.url: str | None = marker.kwargs.get("url")
        env = marker.kwargs.get("api_key_env")
        self.api_key: str | None = os.environ.get(env) if env else None
        self.connector_class = load_connector(marker.args[0])
        self.framework = _framework_of(self.connector_class)
        self.hooks: KitHooks = KitHooks(normalizer_for(self.connector_class, self.framework),
                                        [self.api_key, REPLAY_KEY])


def _session(item: pytest.Item) -> _KitSession:
    if _SESSION_KEY not in item.stash:
        item.stash[_SESSION_KEY] = _KitSession(item)
    return item.stash[_SESSION_KEY]


class BoundKit:
    """The connector of one test, sending through the test's pytest-recording cassette."""

    def __init__(self, session: _KitSession, cassette: Any, request: pytest.FixtureRequest) -> None:
        from .testkit.kit import ConnectorTestKit

        self._session = session
        self._vcr = cassette  # vcrpy's Cassette, or None with --disable-recording
        self.cassette = Path(cassette.path) if cassette is not None else None
        self.kit: ConnectorTestKit = ConnectorTestKit(
            session.connector_class, self.cassette.parent if self.cassette else Path.cwd(),
            options=session.options, framework=session.framework)
        self._name = request.node.name
        self._calls = self._recorded_calls()
        self._count = 0
        self.recorded: list[int] = []

    def __repr__(self) -> str:
        return f"BoundKit({self.kit.connector_class.__name__}, {self.cassette})"

    @property
    def mode(self) -> str:
        return str(getattr(getattr(self._vcr, "record_mode", None), "value", "disabled"))

    def _recorded_calls(self) -> list[dict[str, Any]]:
        from .testkit.recording.cassettes import SECTION, CassetteError, load_document

        if self.cassette is None or not self.cassette.is_file():
            return []
        try:
            section = load_document(self.cassette).get(SECTION) or {}
        except CassetteError:
            return []
        return [dict(c) for c in section.get("calls") or [] if isinstance(c, dict)]

    def run(self, messages: str | list[dict[str, Any]], *, session_id: str | None = None,
            **config: Any) -> Outcome:
        """Send ``messages`` (recorded or replayed per the mode); the outcome, or the error."""
        from .connectors.base import ConnectorConfig
        from .connectors.exceptions import ConnectorError
        from .testkit.recording.episode import REPLAY_KEY, outcome_of_response

        index = self._count
        self._count += 1
        wanted = as_messages(messages)
        sid = session_id or f"ck-{hashlib.sha256(self._name.encode()).hexdigest()[:12]}-{index + 1}"
        recorded = self._calls[index] if index < len(self._calls) else None
        url = self._session.url or (recorded or {}).get("url") or "http://localhost"
        key = self._session.api_key or REPLAY_KEY
        self._session.hooks.add_secrets([key, *(str(v) for k, v in config.items()
                                                if "key" in k or "token" in k)])
        cls = self.kit.connector_class
        connector = cls(config=ConnectorConfig(url=url, **{"api_key": key, **config}),
                        **self.kit.options)
        before = len(self._vcr) if self._vcr is not None else 0
        error: ConnectorError | None = None
        try:
            response = connector.send(wanted, sid)  # type: ignore[attr-defined]
            outcome = outcome_of_response(cls, response)  # type: ignore[arg-type]
        except ConnectorError as exc:
            error = exc
            outcome = Outcome(ok=False, error_type=type(exc).__name__, error_message=str(exc),
                              status_code=getattr(exc, "status_code", None))
        except Exception as exc:
            raise self._kit_failure(exc) from None
        finally:
            connector.close()
        inputs = {"messages": wanted, "session_id": sid, "config": _shown(config)}
        if self._vcr is not None and len(self._vcr) > before:
            self._record(index, inputs, url, outcome)
        elif recorded is not None:
            self._compare(index, inputs, recorded, outcome)
        if error is not None:
            raise error
        return outcome

    def _kit_failure(self, exc: Exception) -> Exception:
        from .testkit.recording.cassettes import CassetteError
        from .testkit.recording.replay import mismatch_error

        if type(exc).__name__ == "CannotOverwriteExistingCassetteException":
            if not self.cassette or not self.cassette.exists():
                return CassetteError(
                    f"No cassette at {self.cassette} and the record mode is {self.mode}: record "
                    "it with --record-mode=once (and the marker's url pointing at a live server).")
            return mismatch_error(exc, self._session.hooks.normalizer)
        return exc

    def _record(self, index: int, inputs: dict[str, Any], url: str, outcome: Outcome) -> None:
        from .testkit.recording.cassettes import set_section
        from .testkit.recording.scrub import scrub_value

        hooks = self._session.hooks
        entry = {**scrub_value(inputs, hooks.secrets),
                 "url": hooks.canon.text(url),
                 "outcome": scrub_value(hooks.canon.value(outcome.to_dict()), hooks.secrets)}
        if index < len(self._calls):
            self._calls[index] = entry
        else:
            self._calls.append(entry)
        self.recorded.append(index)
        calls = list(self._calls)
        metadata = {"framework": self.kit.framework, "connector_class": class_path(self.kit.connector_class),
                    "recorded_by": "connector_kit pytest plugin"}
        assert self.cassette is not None
        set_section(self.cassette, lambda existing: {**(existing or {}), "format": 1,
                                                     "metadata": metadata, "calls": calls})

    def _compare(self, index: int, inputs: dict[str, Any], recorded: dict[str, Any],
                 outcome: Outcome) -> None:
        from .testkit.jsondiff import diff

        normalizer = self._session.hooks.normalizer
        was = {k: recorded.get(k) for k in ("messages", "session_id", "config")}
        changed = diff(normalizer.mask(was), normalizer.mask(inputs))
        if changed:
            raise AssertionError(
                f"call #{index + 1} sends other inputs than {self.cassette} recorded:\n  "
                + "\n  ".join(map(str, changed[:8])) + "\nRe-record it: --record-mode=rewrite.")
        then = Outcome.from_dict(recorded.get("outcome") or {"ok": False})
        differences = self.kit.compare(then, outcome)
        if differences:
            raise AssertionError(
                f"call #{index + 1} replays to another outcome than {self.cassette} recorded:\n  "
                + "\n  ".join(map(str, differences[:8]))
                + "\nThe connector changed: re-record (--record-mode=rewrite) if that is intended.")


def _shown(config: dict[str, Any]) -> dict[str, Any]:
    from .testkit.recording.scrub import PLACEHOLDER

    return {k: PLACEHOLDER if ("key" in k or "token" in k) and v else v for k, v in config.items()}


@pytest.fixture
def connector_kit(request: pytest.FixtureRequest, vcr_config: dict[str, Any]) -> Iterator[BoundKit]:
    """A kit bound to this test's pytest-recording cassette; replays unless --record-mode records."""
    if request.node.get_closest_marker("connector_kit") is None:
        raise pytest.UsageError(
            f"{request.node.nodeid} uses the connector_kit fixture: mark it with "
            "@pytest.mark.connector_kit('<connector name or mod:Class>', url=...)")
    own = [k for k in _OWN_HOOKS if k in vcr_config or any(
        k in m.kwargs for m in request.node.iter_markers("vcr"))]
    if own:
        raise pytest.UsageError(
            f"{request.node.nodeid}: vcr_config / @pytest.mark.vcr sets {own}, which would replace "
            "the kit's scrubbing and canonicalising hooks. Use filter_headers, "
            "filter_query_parameters or filter_sensitive_data instead (they run before the kit's).")
    try:  # pytest-recording provides the ``vcr`` fixture this one stands on
        import pytest_recording  # noqa: F401
    except ImportError as exc:
        raise pytest.UsageError(
            f"{request.node.nodeid} uses the connector_kit fixture, which records and replays "
            "through pytest-recording: pip install 'connector-kit[testkit]'") from exc
    session = _session(request.node)
    cassette = request.getfixturevalue("vcr")
    bound = BoundKit(session, cassette, request)
    yield bound
    report = request.node.stash.get(_REPORT_KEY, None)
    if cassette is not None and report is not None and report.failed and cassette.dirty:
        kept = _keep_failed(cassette)
        cassette.dirty = False  # vcrpy saves on exit only when dirty: the committed file stays
        from .testkit.recording.cassettes import clear_section

        clear_section(cassette.path)
        report.sections.append(("connector-kit", f"the test failed, so {cassette.path} was not "
                                                 f"written; what it recorded is kept at {kept}"))
    if report is not None and _BACKUP_KEY in request.node.stash:
        _restore_if_failed(request.node, report)


def _keep_failed(cassette: Any) -> Path:
    from .testkit.recording.cassettes import KitPersister
    from .testkit.recording.record import failed_attempts_dir

    target = failed_attempts_dir() / "pytest" / hashlib.sha256(
        str(cassette.path).encode()).hexdigest()[:12] / Path(cassette.path).name
    KitPersister().save_cassette(target, {"requests": cassette.requests,
                                          "responses": cassette.responses},
                                 serializer=_yaml_serializer())
    return target


def _yaml_serializer() -> Any:
    from vcr.serializers import yamlserializer

    return yamlserializer


def _framework_of(cls: type[Any]) -> str | None:
    """The registry name of the connector (its normaliser), not the cassette folder's name."""
    names = registry_names(cls)
    return names[0] if names else None


def certification_tests(target: str, cassettes: str | Path | None = None, *,
                        strict: bool = True, options: dict[str, Any] | None = None,
                        suites: list[str] | None = None) -> Callable[..., None]:
    """A test function parametrised with one case per certification check.

    ``test_langflow = certification_tests("langflow", "cassettes/langflow")`` in a test module
    makes ``pytest -n auto`` spread the checks over all cores. Strict, as ``connector-kit
    certify`` is: a check that did not run fails its test; ``strict=False`` skips it instead
    (exploring, not a certification). A bypassed check is skipped with its reason.
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

