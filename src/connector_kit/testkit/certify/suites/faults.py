"""The ``faults`` certification suite: an agent connector against a real faulty server.

Each check points the connector at a :class:`~connector_kit.testkit.faults.server.FaultServer`
on 127.0.0.1 (real sockets) through :class:`~connector_kit.testkit.faults.harness.FaultHarness`,
breaks one step of a recorded successful exchange in one way -- a delay, a hang,
500/502/503/504, 429 with Retry-After (seconds, HTTP date, quota), a reset before or in the
middle of the body, a truncated body, invalid JSON, an empty body, a JSON array, a huge body,
a slow trickle (the scripts and their outcomes: :mod:`connector_kit.testkit.faults.scripts`)
-- and :func:`judge` checks the documented outcome: retried then the same answer as without
the fault, or a specific :class:`ConnectorError` subclass, with the attempt count the server
saw and the waits the client slept. The last HTTP step of a send is its run: a fault that may
follow a processed run (502, 504, a reset, a cut body) must not make the connector send the
run again (that pays for it twice); only faults that prove the run never started (503, 429,
refused connections) are retried. Earlier steps (LangGraph's thread) start no work and are
retried.

Waits never happen for real: the connector's HttpClient gets a ``SkippingClock``, a
FakeClock whose sleeps are recorded and skipped but whose reading also advances with real
time, so a real hang or trickle still meets the call's deadline. The whole suite takes a
couple of seconds per connector (the hang and trickle checks wait a fraction of a second
for real, by design).

Successful steps are answered with the REAL response bodies of a recorded cassette (the
first scenario whose recording succeeded), so ``parse_response`` and the extractors meet
what the framework really sends. Without cassettes, the built-in connectors fall back to
trimmed real samples; another connector can give ``faults: {responses: [...]}`` (one JSON
body per HTTP step) in ``certify.yaml``, else the suite is skipped with the reason.

A connector that streams and has a recorded ``stream`` scenario also gets the stream faults
(:data:`~connector_kit.testkit.faults.scripts.STREAM_FAULTS`): that recorded stream cut in the
middle of its last event (``ConnectorStreamError``) and stalled after its first event
(``ConnectorTimeoutError`` within the deadline), each sent exactly once; a stream still running
a second after its deadline is stopped and reported as hung. When the catalogue declares a
stream scenario that was not recorded, the stream faults are "not run" rows saying so.

Settings (``certify.yaml`` -> ``faults:``): ``step`` (which HTTP step of a send the fault
hits; default -1, the last), ``scenario`` (the recorded scenario to use), ``responses``,
``tolerance_s`` (slack over the deadline for hang/trickle; default 0.5), ``only`` (a list
of fault names to run).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ....connectors.agent.base import BaseAgentConnector
from ....connectors.exceptions import ConnectorError
from ...faults.exchange import (
    Step,
    SuccessExchange,
    builtin_exchange,
    can_stream,
    dumps,
    exchange_from_cassette,
    stream_exchange_from_cassette,
)
from ...faults.harness import BASE_CONFIG, FaultHarness, Observation
from ...faults.scripts import FAULTS, STREAM_FAULTS, Fault
from ...recording.episode import REPLAY_KEY
from .. import Check, CheckFailed, CheckSkipped, Plan, not_run, register_suite
from ..plan import missing_stream_reason

SUITE = "faults"


def exchange_for(plan: Plan) -> SuccessExchange | None:
    """The exchange the suite breaks: a recorded one, else configured responses, else built-in."""
    wanted = plan.setting(SUITE, "scenario", None)
    kit_options = plan.kit.options if plan.kit is not None else {}
    cassettes = plan.cassettes()
    if wanted:
        cassettes = [c for c in cassettes if c.scenario.get("name") == wanted]
    for cassette in cassettes:
        found = exchange_from_cassette(cassette, kit_options)
        if found is not None:
            return found
    responses = plan.setting(SUITE, "responses", None)
    if isinstance(responses, list) and responses:
        return SuccessExchange(
            str(plan.setting(SUITE, "url", "http://localhost/")), {"api_key": REPLAY_KEY},
            dict(plan.setting(SUITE, "options", {}) or {}),
            [{"role": "user", "content": "hello"}], "ck-faults",
            [Step("POST", None, 200, dumps(value)) for value in responses],
            "faults.responses in certify.yaml")
    return builtin_exchange(plan.connector_class)


def stream_exchange_for(plan: Plan) -> SuccessExchange | None:
    """A recorded successful ``stream`` scenario to break, when the connector streams (else None:
    the stream faults are left out, as a connector without recorded streams has none to break)."""
    cls = plan.connector_class
    if not can_stream(cls):
        return None
    kit_options = plan.kit.options if plan.kit is not None else {}
    for cassette in plan.cassettes():
        found = stream_exchange_from_cassette(cassette, kit_options)
        if found is not None:
            return found
    return None


# -- judging -------------------------------------------------------------------------------------

def judge(fault: Fault, observed: Observation, baseline_text: str | None, tolerance: float,
          *, setup: bool = False) -> tuple[list[str], dict[str, Any]]:
    """The ways ``observed`` misses ``fault.expected`` (empty: it meets it), and its figures.

    ``setup``: the fault hit a set-up step, judged by ``fault.setup_expected`` when it has one.
    """
    wanted = fault.setup_expected if setup and fault.setup_expected is not None else fault.expected
    problems: list[str] = []
    error = observed.error
    outcome = "ok" if error is None else type(error).__name__
    figures: dict[str, Any] = {
        "outcome": outcome, "attempts": observed.attempts,
        "waits_s": [round(w, 3) for w in observed.sleeps],
        "elapsed_ms": round(observed.elapsed * 1000, 1),
    }
    if observed.stats:
        figures["client_attempts"] = [s.attempts for s in observed.stats]
    if error is not None:
        figures["message"] = str(error)[:300]
    if error is not None and not isinstance(error, ConnectorError):
        problems.append(f"raised a raw {type(error).__module__}.{type(error).__name__} ({error!s:.150}), "
                        "not a ConnectorError")
    elif wanted.error is None:
        if error is not None:
            problems.append(f"expected success, got {outcome}: {error!s:.200}")
        elif observed.text != baseline_text:
            problems.append(f"succeeded, but extract_text gives {observed.text!r:.80} instead of "
                            f"{baseline_text!r:.80} (the answer without the fault)")
    else:
        if error is None:
            problems.append(f"expected {wanted.error.__name__}, but the send succeeded")
        elif not isinstance(error, wanted.error):
            problems.append(f"expected {wanted.error.__name__}, got {outcome}: {error!s:.200}")
        else:
            if wanted.status_code is not None and getattr(error, "status_code", None) != wanted.status_code:
                problems.append(f"status_code {getattr(error, 'status_code', None)!r}, expected "
                                f"{wanted.status_code}")
            if wanted.message and wanted.message.lower() not in str(error).lower():
                problems.append(f"the message does not say {wanted.message!r}: {error!s:.200}")
            if not str(error).strip():
                problems.append("the error has an empty message")
    if wanted.attempts is not None and observed.attempts != wanted.attempts:
        problems.append(f"{observed.attempts} attempt(s) at the faulted step, expected {wanted.attempts}")
    if wanted.sleeps is not None and len(observed.sleeps) != wanted.sleeps:
        problems.append(f"{len(observed.sleeps)} wait(s) {figures['waits_s']}, expected {wanted.sleeps}")
    if wanted.sleep_exact is not None and any(w != wanted.sleep_exact for w in observed.sleeps):
        problems.append(f"waited {figures['waits_s']} s, expected exactly {wanted.sleep_exact:g} s "
                        "(the Retry-After)")
    if wanted.sleep_between is not None:
        low, high = wanted.sleep_between
        wrong = [w for w in observed.sleeps if not low <= w <= high]
        if wrong:
            problems.append(f"waited {figures['waits_s']} s, expected each wait in [{low:g}, {high:g}] s")
    if observed.hung:
        problems.append(f"still running {observed.elapsed:.2f} s in: it never ended by itself "
                        "(the check stopped the server)")
    if wanted.within_deadline:
        deadline = float(fault.config.get("deadline", fault.config.get("timeout", BASE_CONFIG["timeout"])))
        figures["deadline_s"] = deadline
        if observed.elapsed > deadline + tolerance:
            problems.append(f"returned after {observed.elapsed:.2f} s (clock time, skipped waits "
                            f"included), over the {deadline:g} s deadline + {tolerance:g} s")
    return problems, figures


def run_fault(harness: FaultHarness, fault: Fault, *, tolerance: float = 0.5) -> dict[str, Any]:
    """Run one fault check; return its figures or raise CheckFailed."""
    baseline = harness.observe(None)
    if baseline.error is not None:
        raise CheckFailed(
            f"the recorded exchange ({harness.exchange.source}) fails even without a fault: "
            f"{type(baseline.error).__name__}: {baseline.error!s:.200}",
            {"outcome": type(baseline.error).__name__},
        )
    if baseline.requests != len(harness.exchange.steps):
        raise CheckFailed(
            f"a send without fault made {baseline.requests} HTTP request(s), but the recorded "
            f"exchange ({harness.exchange.source}) has {len(harness.exchange.steps)}",
        )
    limit = _limit(fault, tolerance) if harness.exchange.stream else None
    observed = harness.observe(lambda clock: fault.replies(harness.exchange.steps[harness.step], clock),
                               config=fault.config, mode=fault.mode, limit=limit)
    setup = harness.step != len(harness.exchange.steps) - 1
    problems, figures = judge(fault, observed, baseline.text, tolerance, setup=setup)
    figures["step"] = harness.step
    figures["exchange"] = harness.exchange.source
    if problems:
        raise CheckFailed(f"{fault.name}: " + "; ".join(problems), figures)
    waits = f", waits {figures['waits_s']} s" if observed.sleeps else ""
    figures["detail"] = (f"{figures['outcome']} after {observed.attempts} attempt(s){waits}, "
                         f"{figures['elapsed_ms']:.0f} ms on the clock")
    figures["exercised"] = {"requests": baseline.requests + observed.requests}
    if harness.exchange.stream:
        figures["runs"] = observed.attempts
        figures["events"] = len(observed.events)
        figures["detail"] = (f"{figures['outcome']} after {len(observed.events)} event(s), "
                             f"{observed.attempts} run(s), {figures['elapsed_ms']:.0f} ms")
        figures["exercised"] = {"streams": 2, "events": len(baseline.events) + len(observed.events),
                                "requests": baseline.requests + observed.requests}
    return figures


def _limit(fault: Fault, tolerance: float) -> float:
    """Real seconds a streamed send may take before it counts as hung."""
    deadline = float(fault.config.get("deadline", fault.config.get("timeout", BASE_CONFIG["timeout"])))
    return deadline + tolerance + 1.0


# -- the suite ------------------------------------------------------------------------------------

@register_suite(SUITE)
def faults_suite(plan: Plan) -> list[Check]:
    cls = plan.connector_class
    if not issubclass(cls, BaseAgentConnector):
        return [Check(SUITE, "*", _skip(f"{cls.__name__} is not an agent connector (BaseAgentConnector): "
                                        "fault injection drives HTTP agent calls"))]
    exchange = exchange_for(plan)
    if exchange is None:
        return [Check(SUITE, "*", _skip(
            "no successful exchange to inject faults into: record a cassette whose scenario "
            "succeeds, or give `faults: {responses: [...]}` (one JSON body per HTTP step) in "
            "certify.yaml"))]
    try:
        harness = FaultHarness(cls, exchange, step=int(plan.setting(SUITE, "step", -1)))
    except ValueError as exc:
        return [Check(SUITE, "*", _skip(str(exc)))]
    tolerance = float(plan.setting(SUITE, "tolerance_s", 0.5))
    only = plan.setting(SUITE, "only", None)
    chosen = [f for f in FAULTS if not only or f.name in only]
    checks = [Check(SUITE, fault.name, _runner(harness, fault, tolerance), fault.description)
              for fault in chosen]
    stream = stream_exchange_for(plan)
    stream_faults = [fault for fault in STREAM_FAULTS if not only or fault.name in only]
    if stream is not None:
        stream_harness = FaultHarness(cls, stream)  # the fault hits the streamed answer
        checks += [Check(SUITE, fault.name, _runner(stream_harness, fault, tolerance),
                         fault.description) for fault in stream_faults]
    elif can_stream(cls) and (missing := plan.unrecorded_streams()):
        # a declared stream scenario was not recorded: its faults are "not run", not absent
        reason = missing_stream_reason(missing, plan)
        checks += [not_run(SUITE, reason, name=fault.name, description=fault.description)
                   for fault in stream_faults]
    return checks


def _runner(harness: FaultHarness, fault: Fault, tolerance: float) -> Callable[[], dict[str, Any]]:
    return lambda: run_fault(harness, fault, tolerance=tolerance)


def _skip(reason: str) -> Callable[[], None]:
    def run() -> None:
        raise CheckSkipped(reason)

    return run
