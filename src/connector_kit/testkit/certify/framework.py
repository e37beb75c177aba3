"""Certification: declared suites of checks, each run or bypassed with a written reason.

Suites for an agent connector: ``contract`` (registration, config validation, headers and
auth, build_request vs the recordings), ``replay`` (every scenario reproduces its recorded
outcome), ``fuzz`` and ``faults`` (their own modules) and ``timing`` (replay overhead within
a budget). A code-interpreter connector gets ``contract``, ``sandbox`` and ``timing``.

A folder may declare its suites in ``certify.yaml``::

    suites: [contract, replay, fuzz, faults, timing]
    bypass: {faults: "the server never returns 5xx (reason shown in the report)"}
    timing: {budget_ms: 50}
    fuzz: {examples: 200}

Every check can fail: ``tests/test_certify_catches.py`` holds a known-bad connector for each.

A verdict means work was done. A check reports what it exercised (``exercised``: scenarios,
requests, examples); one that exercised nothing -- no cassette, no matched request, zero
examples, an unknown suite -- is "not run", never "passed". A strict report (the default)
is certified only when every check passed or was bypassed with a written reason.
"""

from __future__ import annotations

import json
import math
import statistics
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from ..._safe_yaml import load_yaml, validate
from ...connectors.agent.base import BaseAgentConnector
from ...connectors.base import BaseConnector, ConnectorConfig
from ...connectors.exceptions import ConnectorKitError
from ...connectors.registry import ConnectorRegistry
from ..diff.drift import recorded_server_versions
from ..kit import ConnectorTestKit
from ..recording.cassettes import Cassette
from ..recording.episode import class_path
from ..recording.replay import recorded_key
from ..recording.schemas import DeclarationFile

Status = Literal["passed", "failed", "bypassed", "not run", "error"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "error", "bypassed", "not run")
AGENT_SUITES = ("contract", "replay", "fuzz", "faults", "timing", "operations")
CODE_SUITES = ("contract", "sandbox", "timing")


class CheckFailed(AssertionError):
    """Raised inside a check to fail it with a message (and optional figures)."""

    def __init__(self, message: str, figures: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.figures = figures or {}


class DeclarationError(ConnectorKitError, ValueError):
    """A folder's certify.yaml is invalid (e.g. a bypass without a written reason)."""


class CheckNotRun(Exception):
    """Raised inside a check when it cannot do its work here; strict mode fails on it."""


#: The former name, kept for suites written against it.
CheckSkipped = CheckNotRun


@dataclass
class CheckResult:
    suite: str
    name: str
    status: Status
    detail: str = ""
    duration_ms: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)
    #: What the check actually did: {"scenarios": 3, "requests": 5}, {"examples": 200}.
    exercised: dict[str, int] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.suite}.{self.name}"

    def work(self) -> str:
        return ", ".join(f"{count} {what}" for what, count in self.exercised.items())


@dataclass
class Check:
    """One check: a name, the suite it belongs to, and what it runs."""

    suite: str
    name: str
    run: Callable[[], dict[str, Any] | str | None]
    description: str = ""
    bypass_reason: str | None = None

    @property
    def id(self) -> str:
        return f"{self.suite}.{self.name}"

    def execute(self) -> CheckResult:
        if self.bypass_reason:
            return CheckResult(self.suite, self.name, "bypassed", self.bypass_reason)
        started = time.perf_counter()
        try:
            produced = self.run()
        except CheckFailed as exc:
            return CheckResult(self.suite, self.name, "failed", str(exc), _ms(started), exc.figures)
        except CheckNotRun as exc:
            return CheckResult(self.suite, self.name, "not run", str(exc), _ms(started))
        except Exception as exc:
            # One line a reader can act on; a report cell never holds a traceback.
            return CheckResult(self.suite, self.name, "error", describe_error(exc), _ms(started))
        figures = produced if isinstance(produced, dict) else {}
        detail = produced if isinstance(produced, str) else str(figures.pop("detail", ""))
        exercised = {str(k): int(v) for k, v in (figures.pop("exercised", None) or {}).items()}
        if exercised and not any(exercised.values()):
            nothing = ", ".join(f"0 {what}" for what in exercised)
            return CheckResult(self.suite, self.name, "not run", f"exercised nothing ({nothing})"
                               + (f": {detail}" if detail else ""), _ms(started), figures, exercised)
        return CheckResult(self.suite, self.name, "passed", detail, _ms(started), figures, exercised)


def describe_error(exc: BaseException) -> str:
    """``Type: message``, and for an unexpected exception where it was raised (file:line)."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ConnectorKitError):
        return text
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        text += f" (raised at {Path(last.filename).name}:{last.lineno})"
    return text


@dataclass
class Declaration:
    """What a folder's certify.yaml declares (defaults when there is none)."""

    suites: list[str]
    bypass: dict[str, str] = field(default_factory=dict)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path | None, default_suites: tuple[str, ...]) -> Declaration:
        path = folder / "certify.yaml" if folder else None
        if path is None or not path.exists():
            return cls(list(default_suites))
        data = load_yaml(path, error=DeclarationError)
        if data is None:
            data = {}
        declared = validate(DeclarationFile, data, str(path), error=DeclarationError,
                            what="certify.yaml")
        suites = list(declared.suites or default_suites)
        bypass = {k: v or "" for k, v in declared.bypass.items()}
        for suite, reason in bypass.items():
            if not reason.strip():
                raise DeclarationError(f"{path}: bypassing '{suite}' needs a written reason.")
        return cls(suites, bypass, declared.settings())


@dataclass
class CertificationReport:
    target: str
    connector_class: str
    cassettes: str | None
    strict: bool
    results: list[CheckResult]
    duration_ms: float = 0.0
    #: Server versions the recordings came from: package -> the distinct versions seen.
    server_versions: dict[str, list[str]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {s: 0 for s in STATUSES}
        for result in self.results:
            counts[result.status] += 1
        return counts

    @property
    def ok(self) -> bool:
        """Certified: something was checked and nothing failed; strict: every check ran."""
        bad: set[str] = {"failed", "error", "not run"} if self.strict else {"failed", "error"}
        ran = any(r.status == "passed" for r in self.results)
        return ran and not any(r.status in bad for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target, "connector_class": self.connector_class,
            "cassettes": self.cassettes, "strict": self.strict, "ok": self.ok,
            "counts": self.counts(), "duration_ms": round(self.duration_ms, 1),
            "server_versions": self.server_versions,
            "checks": [{"id": r.id, "suite": r.suite, "name": r.name, "status": r.status,
                        "detail": r.detail, "duration_ms": round(r.duration_ms, 2),
                        "exercised": r.exercised, "figures": r.figures} for r in self.results],
        }


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


# -- building the plan -------------------------------------------------------------------

SuiteBuilder = Callable[["Plan"], list[Check]]
_SUITES: dict[str, SuiteBuilder] = {}


def register_suite(name: str) -> Callable[[SuiteBuilder], SuiteBuilder]:
    """Add a suite (fuzz, faults and contributors' own suites plug in here)."""

    def decorator(builder: SuiteBuilder) -> SuiteBuilder:
        _SUITES[name] = builder
        return builder

    return decorator


@dataclass
class Plan:
    """Everything a suite needs to build its checks for one connector."""

    connector_class: type[BaseConnector]
    kit: ConnectorTestKit | None
    declaration: Declaration
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Options given in code or on the command line obey the same bounds as certify.yaml.
        validate(DeclarationFile, self.options, "certification options", error=DeclarationError)

    def setting(self, suite: str, key: str, default: Any) -> Any:
        if key in self.options.get(suite, {}):
            return self.options[suite][key]
        return self.declaration.settings.get(suite, {}).get(key, default)

    def cassettes(self) -> list[Cassette]:
        if self.kit is None:
            return []
        if not hasattr(self, "_cassettes"):
            self._cassettes = [self.kit.load(name) for name in self.kit.recorded_names()]
        return self._cassettes


def is_code_connector(cls: type[BaseConnector]) -> bool:
    try:
        from ...connectors.code_interpreter import BaseCodeInterpreterConnector
    except ImportError:
        return False
    return issubclass(cls, BaseCodeInterpreterConnector)


def plan_checks(plan: Plan, suites: list[str] | None = None) -> list[Check]:
    """Every check of the declared suites, bypassed suites as checks that report the reason."""
    _load_plugin_suites()
    chosen = suites or plan.declaration.suites
    checks: list[Check] = []
    for suite in chosen:
        reason = plan.declaration.bypass.get(suite)
        if reason:
            checks.append(Check(suite, "*", _skip(reason), bypass_reason=reason))
            continue
        builder = _SUITES.get(suite)
        if builder is None:
            known = ", ".join(sorted(_SUITES))
            checks.append(Check(suite, "*", _skip(f"no suite named '{suite}' is installed "
                                                  f"(known: {known})")))
            continue
        try:
            checks.extend(builder(plan))
        except Exception as exc:
            checks.append(Check(suite, "*", _error(exc)))
    return checks



def _skip(reason: str) -> Callable[[], None]:
    def run() -> None:
        raise CheckSkipped(reason)

    return run


def _error(exc: Exception) -> Callable[[], None]:
    def run() -> None:
        raise exc

    return run


def suite_names() -> list[str]:
    """Every installed suite's name (built-in and plugged in)."""
    _load_plugin_suites()
    return sorted(_SUITES)


def run_checks(checks: list[Check]) -> list[CheckResult]:
    return [check.execute() for check in checks]


def _load_plugin_suites() -> None:
    # Suites living in their own modules register themselves on import.
    import importlib

    for module in ("connector_kit.testkit.fuzz.engine", "connector_kit.testkit.certify.suites.faults",
                   "connector_kit.testkit.certify.suites.operations",
                   "connector_kit.testkit.certify.suites.sandbox"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def make_plan(target: str | type[BaseConnector], cassettes: Path | None = None, *,
              options: dict[str, Any] | None = None) -> Plan:
    kit = ConnectorTestKit(target, cassettes) if cassettes is not None else None
    cls = kit.connector_class if kit else _load(target)
    defaults = CODE_SUITES if is_code_connector(cls) else AGENT_SUITES
    return Plan(cls, kit, Declaration.load(cassettes, defaults), options or {})


def _load(target: str | type[BaseConnector]) -> type[BaseConnector]:
    from ..recording.episode import load_connector

    return load_connector(target)


def certify(kit_or_target: ConnectorTestKit | str | type[BaseConnector],
            cassettes: Path | None = None, *, strict: bool = True,
            suites: list[str] | None = None, options: dict[str, Any] | None = None,
            target_name: str | None = None) -> CertificationReport:
    """Certify a connector: run every declared check and return the report."""
    started = time.perf_counter()
    if isinstance(kit_or_target, ConnectorTestKit):
        kit = kit_or_target
        cls = kit.connector_class
        defaults = CODE_SUITES if is_code_connector(cls) else AGENT_SUITES
        plan = Plan(cls, kit, Declaration.load(kit.cassettes, defaults), options or {})
    else:
        plan = make_plan(kit_or_target, cassettes, options=options)
    results = run_checks(plan_checks(plan, suites))
    return CertificationReport(
        target=target_name or (kit_or_target if isinstance(kit_or_target, str)
                               else class_path(plan.connector_class)),
        connector_class=class_path(plan.connector_class),
        cassettes=str(plan.kit.cassettes) if plan.kit else None,
        strict=strict, results=results, duration_ms=_ms(started),
        server_versions=recorded_server_versions(plan.kit.cassettes) if plan.kit else {},
    )


# -- the contract suite --------------------------------------------------------------------

@register_suite("contract")
def contract_suite(plan: Plan) -> list[Check]:
    cls = plan.connector_class
    checks = [
        Check("contract", "registration", lambda: _check_registration(cls),
              "the class is registered in ConnectorRegistry under a name"),
        Check("contract", "config_validation", lambda: _check_config_validation(cls),
              "valid configs construct; invalid ones are rejected"),
    ]
    if issubclass(cls, BaseAgentConnector):
        agent_cls = cls
        checks.append(Check("contract", "headers_and_auth",
                            lambda: _check_headers(agent_cls, plan),
                            "the key reaches an auth header, never a repr; none without a key"))
        checks.append(Check("contract", "build_request",
                            lambda: _check_build_request(agent_cls, plan),
                            "build_request is JSON-serialisable and equals the recorded requests"))
    return checks


def _check_registration(cls: type[BaseConnector]) -> dict[str, Any]:
    names = [n for n in ConnectorRegistry.list_all() if ConnectorRegistry.get(n) is cls]
    if not names:
        raise CheckFailed(
            f"{cls.__name__} is not registered: decorate it with "
            "@ConnectorRegistry.register('<name>') so blocks and flows can find it by name."
        )
    return {"detail": f"registered as {', '.join(names)}", "names": names}


def _sample_options(cls: type[BaseConnector], plan: Plan | None = None) -> dict[str, Any]:
    if plan is not None:
        for cassette in plan.cassettes():
            return dict(cassette.scenario.get("options") or {})
    return {}


def _check_config_validation(cls: type[BaseConnector]) -> dict[str, Any]:
    url = "http://localhost/api"
    try:
        cls(config=ConnectorConfig(url=url))
    except Exception as exc:
        raise CheckFailed(f"a valid config was refused: {type(exc).__name__}: {exc}") from None
    refused = []
    for bad in ({"url": url, "timeout": 0}, {"url": url, "timeout": -1},
                {"url": url, "timeout": float("nan")}, {"url": url, "max_retries": -1}):
        try:
            cls(config=bad)  # type: ignore[arg-type]
        except (ValidationError, ValueError, TypeError):
            refused.append(bad)
            continue
        raise CheckFailed(
            f"an invalid config was accepted: {bad}. Keep `config: ConnectorConfig` so pydantic "
            "validates it, and validate your own fields."
        )
    try:
        cls()  # type: ignore[call-arg]
    except (ValidationError, ValueError, TypeError):
        pass
    else:
        if not is_code_connector(cls):
            raise CheckFailed("the connector constructs without any config; require `config`.")
    return {"detail": f"{len(refused)} invalid configs refused", "refused": len(refused),
            "exercised": {"configs": len(refused) + 1}}


def _check_headers(cls: type[BaseAgentConnector], plan: Plan) -> dict[str, Any]:
    key = "ck-cert-probe-key-12345"
    options = _sample_options(cls, plan)
    with_key = cls(config=ConnectorConfig(url="http://localhost/api", api_key=key), **options)
    without = cls(config=ConnectorConfig(url="http://localhost/api"), **options)
    headers = with_key._build_headers()
    if not any(key in str(v) for v in headers.values()):
        raise CheckFailed(f"the API key reaches no header (headers: {sorted(headers)}).")
    if not any(k.lower() == "content-type" and "json" in v for k, v in headers.items()):
        raise CheckFailed("no Content-Type: application/json header.")
    for shown in (repr(with_key), str(with_key), repr(with_key.config), str(with_key.config)):
        if key in shown:
            raise CheckFailed("the API key appears in the connector's or config's repr/str.")
    bare = without._build_headers()
    leaked = [k for k, v in bare.items() if k.lower() in ("authorization", "x-api-key")
              or "None" in str(v)]
    if leaked:
        raise CheckFailed(f"with no API key, auth headers are still sent: {leaked}.")
    auth_names = sorted(k.lower() for k in headers if k.lower() not in ("content-type", "accept"))
    recorded = {name for c in plan.cassettes() for i in c.interactions
                for name in (h.lower() for h in i.request.headers)
                if name in ("authorization", "x-api-key")}
    if recorded and not recorded & set(auth_names):
        raise CheckFailed(
            f"the recordings authenticate with {sorted(recorded)} but the connector now sends "
            f"{auth_names}."
        )
    return {"detail": f"auth via {', '.join(auth_names) or '(none)'}", "auth_headers": auth_names}


def _check_build_request(cls: type[BaseAgentConnector], plan: Plan) -> dict[str, Any]:
    if plan.kit is None or not plan.cassettes():
        raise CheckNotRun("no cassettes to compare build_request with")
    normalizer = plan.kit.normalizer
    compared = 0
    for cassette in plan.cassettes():
        section = cassette.scenario
        if section.get("steps") or cassette.metadata.get("lost"):
            continue  # several calls, or the run's answer lost and joined: replay checks those
        connector = plan.kit.replay_connector(cassette, cls)
        assert isinstance(connector, BaseAgentConnector)
        messages = section.get("messages") or []
        try:
            payload = connector.build_request(messages, str(section.get("session_id")))
        except Exception as exc:
            if cassette.outcome is not None and not cassette.outcome.ok:
                continue  # the recorded call failed before or at building: nothing to compare
            raise CheckFailed(f"{section.get('name')}: build_request raised {type(exc).__name__}: "
                              f"{exc}") from None
        try:
            json.dumps(payload, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise CheckFailed(f"{section.get('name')}: build_request output is not JSON-"
                              f"serialisable: {exc}") from None
        masked = normalizer.mask(payload)
        bodies = [recorded_key(normalizer, i.request).body for i in cassette.interactions]
        if masked in bodies:
            compared += 1
            continue
        reached_run = cassette.outcome is not None and (cassette.outcome.ok or (
            cassette.outcome.error_type not in ("ConnectorAuthError",)))
        if reached_run and bodies:
            from ..jsondiff import diff

            differences = diff(bodies[-1], masked)
            raise CheckFailed(
                f"{section.get('name')}: build_request differs from the recorded request:\n  "
                + "\n  ".join(map(str, differences[:8]))
            )
    if not compared:
        raise CheckNotRun(f"no recorded request to compare build_request with: none of the "
                          f"{len(plan.cassettes())} cassette(s) reached the run request")
    return {"detail": f"{compared} recorded request(s) match", "compared": compared,
            "exercised": {"scenarios": compared}}


# -- the replay suite ------------------------------------------------------------------------

@register_suite("replay")
def replay_suite(plan: Plan) -> list[Check]:
    if plan.kit is None:
        return [Check("replay", "*", _skip("no cassette folder given"))]
    kit = plan.kit
    names = kit.recorded_names()
    if not names:
        return [Check("replay", "*", _skip(f"no cassettes in {kit.cassettes}; record them first"))]
    return [Check("replay", name, _replay_check(kit, name),
                  f"scenario '{name}' reproduces its recorded outcome offline") for name in names]


def _replay_check(kit: ConnectorTestKit, name: str) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        result = kit.replay(name)
        if not result.reproduced:
            raise CheckFailed(result.explain(), {"elapsed_ms": round(result.elapsed_ms, 2)})
        outcome = result.outcome
        shown = "ok" if outcome is not None and outcome.ok else getattr(outcome, "error_type", "?")
        note = f" ({result.note})" if result.note else ""
        return {"detail": f"reproduced: {shown}, {len(result.requests)} request(s){note}",
                "elapsed_ms": round(result.elapsed_ms, 2), "requests": len(result.requests),
                "exercised": {"scenarios": 1, "requests": len(result.requests)}}

    return run


# -- the timing suite -------------------------------------------------------------------------

@register_suite("timing")
def timing_suite(plan: Plan) -> list[Check]:
    if is_code_connector(plan.connector_class):
        return [Check("timing", "warm_execution", lambda: _code_timing(plan),
                      "warm execution median within the budget")]
    if plan.kit is None or not plan.kit.recorded_names():
        return [Check("timing", "*", _skip("no cassettes to time"))]
    return [Check("timing", "replay_overhead", lambda: _replay_timing(plan),
                  "the connector's own overhead per replayed scenario is within the budget")]


def _replay_timing(plan: Plan) -> dict[str, Any]:
    assert plan.kit is not None
    budget = float(plan.setting("timing", "budget_ms", 50.0))
    rounds = int(plan.setting("timing", "rounds", 3))
    per_scenario: dict[str, float] = {}
    for name in plan.kit.recorded_names():
        samples = []
        for _ in range(rounds):
            samples.append(plan.kit.replay(name, strict=False).elapsed_ms)
        # Best of the rounds: a busy machine (CI, xdist workers) only ever adds time, and the
        # check is about what the connector itself costs.
        per_scenario[name] = min(samples)
    worst = max(per_scenario, key=lambda n: per_scenario[n])
    figures: dict[str, Any] = {
        "budget_ms": budget, "median_ms": round(statistics.median(per_scenario.values()), 2),
        "worst_scenario": worst, "worst_ms": round(per_scenario[worst], 2)}
    if per_scenario[worst] > budget:
        raise CheckFailed(f"replaying '{worst}' takes {per_scenario[worst]:.1f} ms (best of "
                          f"{rounds}), over the {budget:g} ms budget: the connector itself is slow "
                          "(it sleeps or does heavy work per call).", figures)
    figures["detail"] = (f"median {figures['median_ms']} ms, worst {figures['worst_ms']} ms "
                         f"({worst}), budget {budget:g} ms")
    figures["exercised"] = {"scenarios": len(per_scenario), "replays": len(per_scenario) * rounds}
    return figures


def _code_timing(plan: Plan) -> dict[str, Any]:
    budget = float(plan.setting("timing", "budget_ms", 25.0))
    cls = plan.connector_class
    connector = cls(config=ConnectorConfig(timeout=10))
    try:
        run = connector.execute_code  # type: ignore[attr-defined]
        run("1 + 1")  # warm the pool
        samples = []
        for _ in range(int(plan.setting("timing", "rounds", 30))):
            started = time.perf_counter()
            run("x = 1 + 1")
            samples.append(_ms(started))
    finally:
        connector.close()
    median = statistics.median(samples)
    figures: dict[str, Any] = {"budget_ms": budget, "median_ms": round(median, 3),
               "p95_ms": round(sorted(samples)[math.ceil(0.95 * len(samples)) - 1], 3)}
    if median > budget:
        raise CheckFailed(f"warm execution median {median:.2f} ms is over the {budget:g} ms budget.",
                          figures)
    figures["detail"] = f"warm median {figures['median_ms']} ms (budget {budget:g} ms)"
    figures["exercised"] = {"executions": len(samples)}
    return figures


