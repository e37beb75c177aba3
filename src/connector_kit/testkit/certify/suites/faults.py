"""The ``faults`` certification suite: an agent connector against a real faulty server.

Each check points the connector at a :class:`~connector_kit.testkit.faults.server.FaultServer` on
127.0.0.1 (real sockets), breaks one step of a recorded successful exchange in one way -- a
delay, a hang, 500/502/503/504, 429 with Retry-After (seconds, HTTP date, quota), a reset
before or in the middle of the body, a truncated body, invalid JSON, an empty body, a JSON
array, a huge body, a slow trickle -- and checks the documented outcome: retried then the
same answer as without the fault, or a specific :class:`ConnectorError` subclass, with the
attempt count the server saw and the waits the client slept. The last HTTP step of a send
is its run: a fault that may follow a processed run (502, 504, a reset, a cut body) must not
make the connector send the run again (that pays for it twice); only faults that prove the
run never started (503, 429, refused connections) are retried. Earlier steps (LangGraph's
thread) start no work and are retried.

Waits never happen for real: the connector's HttpClient gets a :class:`SuiteClock`, a
FakeClock whose sleeps are recorded and skipped but whose reading also advances with real
time, so a real hang or trickle still meets the call's deadline. The whole suite takes a
couple of seconds per connector (the hang and trickle checks wait a fraction of a second
for real, by design).

Successful steps are answered with the REAL response bodies of a recorded cassette (the
first scenario whose recording succeeded), so ``parse_response`` and the extractors meet
what the framework really sends. Without cassettes, the built-in connectors fall back to
trimmed real samples; another connector can give ``faults: {responses: [...]}`` (one JSON
body per HTTP step) in ``certify.yaml``, else the suite is skipped with the reason.

Settings (``certify.yaml`` -> ``faults:``): ``step`` (which HTTP step of a send the fault
hits; default -1, the last), ``scenario`` (the recorded scenario to use), ``responses``,
``tolerance_s`` (slack over the deadline for hang/trickle; default 0.5), ``only`` (a list
of fault names to run).
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ....connectors.agent.base import BaseAgentConnector
from ....connectors.base import BaseConnector
from ....connectors.exceptions import (
    ConnectorConnectionError,
    ConnectorError,
    ConnectorHTTPError,
    ConnectorRateLimitError,
    ConnectorResponseError,
    ConnectorTimeoutError,
)
from ....connectors.http import CallStats, FakeClock, HttpClient
from ...faults.server import FaultServer, ReceivedRequest, Reply
from ...recording.cassettes import Cassette
from ...recording.episode import REPLAY_KEY, build_connector
from ...recording.scrub import PLACEHOLDER
from .. import Check, CheckFailed, CheckSkipped, Plan, register_suite

SUITE = "faults"

#: Retry-policy extras of ConnectorConfig; the suite sets its own, so recordings don't interfere.
_POLICY_EXTRAS = ("backoff_initial", "backoff_multiplier", "backoff_max", "jitter",
                  "retry_on_500", "max_burst_wait", "deadline")
#: The settings every check starts from: the defaults of the retry policy, a roomy timeout.
BASE_CONFIG: dict[str, Any] = {"timeout": 30.0, "max_retries": 3}
MAX_RETRIES = int(BASE_CONFIG["max_retries"])
HUGE_BYTES = 4 * 1024 * 1024


# -- the clock ----------------------------------------------------------------------------------

class SuiteClock(FakeClock):
    """A FakeClock whose reading also follows real time.

    ``sleep``/``asleep`` are recorded in ``sleeps`` and return at once (the clock jumps),
    while real time spent in I/O still counts: a deadline is met by a real hang, and a
    retry schedule is checked without waiting for it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._real_start = time.perf_counter()

    def monotonic(self) -> float:
        return self._now + (time.perf_counter() - self._real_start)

    def time(self) -> float:
        return self.monotonic() + self._wall_offset


# -- the successful exchange the faults are injected into ---------------------------------------

@dataclass(frozen=True)
class Step:
    """One HTTP step of a successful send: the request it answers and the recorded answer."""

    method: str
    path: str | None  # path + query as recorded; None: matched by position
    status: int
    body: bytes
    content_type: str = "application/json"

    def reply(self, **faults: Any) -> Reply:
        return Reply(status=self.status, body=self.body,
                     headers={"Content-Type": self.content_type}, **faults)


@dataclass
class SuccessExchange:
    """A send that succeeded: how the connector was built and what each HTTP step answered."""

    url: str
    config: dict[str, Any]
    options: dict[str, Any]
    messages: list[dict[str, Any]]
    session_id: str
    steps: list[Step]
    source: str


def exchange_from_cassette(cassette: Cassette, kit_options: dict[str, Any] | None = None
                           ) -> SuccessExchange | None:
    """The cassette's exchange, when its recording succeeded end to end (else None)."""
    if cassette.outcome is None or not cassette.outcome.ok or not cassette.interactions:
        return None
    if cassette.scenario.get("steps") or cassette.metadata.get("lost"):
        return None  # not one plain send: several calls, or an answer lost and joined
    if any(i.response.status >= 400 for i in cassette.interactions):
        return None
    section = cassette.scenario
    config = dict(section.get("config") or {})
    if config.get("api_key") == PLACEHOLDER:
        config["api_key"] = REPLAY_KEY
    steps = []
    for interaction in cassette.interactions:
        content_type = next((v[0] for k, v in interaction.response.headers.items()
                             if k.lower() == "content-type" and v), "application/json")
        steps.append(Step(interaction.request.method, interaction.request.path,
                          interaction.response.status, interaction.response.body.encode("utf-8"),
                          content_type))
    name = section.get("name") or (cassette.path.stem if cassette.path else "?")
    return SuccessExchange(
        url=str(section.get("url") or ""),
        config=config,
        options={**(section.get("options") or {}), **(kit_options or {})},
        messages=list(section.get("messages") or []),
        session_id=str(section.get("session_id") or "ck-faults"),
        steps=steps,
        source=f"cassette '{name}'",
    )


def builtin_exchange(cls: type[BaseConnector]) -> SuccessExchange | None:
    """A trimmed real exchange for the built-in frameworks, when there are no cassettes."""
    from ....connectors.agent.langflow import LangflowConnector
    from ....connectors.agent.langgraph import LangGraphConnector

    messages = [{"role": "user", "content": "what is 2+3?"}]
    if issubclass(cls, LangflowConnector):
        path = "/api/v1/run/4a1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d?stream=false"
        return SuccessExchange(f"http://localhost{path}", {"api_key": REPLAY_KEY}, {}, messages,
                               "ck-faults", [Step("POST", path, 200, _dumps(LANGFLOW_SAMPLE))],
                               "built-in Langflow sample (no cassettes)")
    if issubclass(cls, LangGraphConnector):
        thread_id = LANGGRAPH_THREAD_SAMPLE["thread_id"]
        return SuccessExchange(
            "http://localhost", {"api_key": REPLAY_KEY}, {}, messages, "ck-faults",
            [Step("POST", "/threads", 200, _dumps(LANGGRAPH_THREAD_SAMPLE)),
             Step("POST", f"/threads/{thread_id}/runs/wait", 200, _dumps(LANGGRAPH_RUN_SAMPLE))],
            "built-in LangGraph sample (no cassettes)")
    return None


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
            [Step("POST", None, 200, _dumps(value)) for value in responses],
            "faults.responses in certify.yaml")
    return builtin_exchange(plan.connector_class)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


# -- running one send against a fault ------------------------------------------------------------

@dataclass
class Observation:
    """What one faulted send did, as seen by the server and by the injected clock."""

    result: dict[str, Any] | None
    error: BaseException | None
    attempts: int  # requests the server got for the faulted step
    requests: int  # requests the server got in all
    stats: list[CallStats]  # HttpClient statistics, one per HTTP call
    sleeps: list[float]  # waits slept on the injected clock (never for real)
    elapsed: float  # seconds on the injected clock (real I/O time + skipped waits)
    text: str | None = None  # extract_text of the result


class FaultHarness:
    """One connector class, one successful exchange, a fault server per send.

    ``observe(make_replies)`` builds a fresh connector from the exchange's config (retry
    settings replaced by :data:`BASE_CONFIG` plus ``config``), answers every step with its
    recorded body except the ``step``-th, which gets the replies ``make_replies(clock)``
    returns first (one per attempt), and reports what happened.
    """

    def __init__(self, cls: type[BaseAgentConnector], exchange: SuccessExchange, *,
                 step: int = -1) -> None:
        self.cls = cls
        self.exchange = exchange
        count = len(exchange.steps)
        if not -count <= step < count:
            raise ValueError(f"step {step} is out of range: the exchange has {count} HTTP step(s)")
        self.step = step % count

    # -- serving -------------------------------------------------------------------------
    # ``handler(pending)``: a FaultServer default answering each step with its recorded body,
    # the faulted step with ``pending`` replies first. ``connector(url)``: the connector as
    # recorded, pointed at ``url`` (a server root), retry settings from BASE_CONFIG.
    def handler(self, pending: list[Reply]) -> Callable[[ReceivedRequest], Reply]:
        steps = self.exchange.steps
        served_ok = [0]
        lock = threading.Lock()

        def which(request: ReceivedRequest) -> int:
            for index, step in enumerate(steps):
                if step.path is not None and step.method == request.method and step.path == request.path:
                    return index
            bare = request.path.split("?", 1)[0]
            for index, step in enumerate(steps):
                if step.path is not None and step.method == request.method and (
                        step.path.split("?", 1)[0] == bare):
                    return index
            if any(step.path is not None for step in steps):
                return -1  # a request the recording never made (e.g. a lookup after a fault)
            return min(served_ok[0], len(steps) - 1)

        def handle(request: ReceivedRequest) -> Reply:
            with lock:
                index = which(request)
                if index < 0:
                    return Reply(404, _dumps({"detail": "not in the recording"}))
                if index == self.step and pending:
                    return pending.pop(0)
                served_ok[0] += 1
                return steps[index].reply()

        return handle

    def connector(self, server_url: str, overrides: dict[str, Any] | None = None) -> BaseAgentConnector:
        parts = urlsplit(self.exchange.url)
        origin = urlsplit(server_url)
        url = urlunsplit((origin.scheme, origin.netloc, parts.path, parts.query, ""))
        config = {k: v for k, v in self.exchange.config.items() if k not in _POLICY_EXTRAS}
        config.update(BASE_CONFIG)
        config.update(overrides or {})
        connector = build_connector(self.cls, url, config, copy.deepcopy(self.exchange.options))
        assert isinstance(connector, BaseAgentConnector)
        return connector

    def _send(self, connector: BaseAgentConnector, mode: str) -> dict[str, Any]:
        messages = copy.deepcopy(self.exchange.messages)
        if mode == "async":
            async def go() -> dict[str, Any]:
                try:
                    return await connector.asend(messages, self.exchange.session_id)
                finally:
                    await connector.aclose()

            return asyncio.run(go())
        result = connector.send(messages, self.exchange.session_id)
        assert isinstance(result, dict)
        return result

    def observe(self, make_replies: Callable[[SuiteClock], list[Reply]] | None, *,
                config: dict[str, Any] | None = None, mode: str = "sync") -> Observation:
        """Send once with the fault replies on the chosen step (None: no fault)."""
        clock = SuiteClock()
        pending = list(make_replies(clock)) if make_replies is not None else []
        stats: list[CallStats] = []
        with FaultServer(default=self.handler(pending)) as server:
            connector = self.connector(server.url, config)
            client = connector._get_http_client()
            if isinstance(client, HttpClient):  # a connector may bring its own transport
                client.clock = clock
                client.observers.append(stats.append)
            result: dict[str, Any] | None = None
            error: BaseException | None = None
            started = clock.monotonic()
            try:
                result = self._send(connector, mode)
            except Exception as exc:  # a raw exception is a finding: it is reported, not raised
                error = exc
            finally:
                elapsed = clock.monotonic() - started
                connector.close()
            total = len(server.requests)
            faulted = self.exchange.steps[self.step]
            if faulted.path is not None:
                bare = faulted.path.split("?", 1)[0]
                attempts = sum(1 for r in server.requests if r.method == faulted.method
                               and r.path.split("?", 1)[0] == bare)
            else:
                steps = len(self.exchange.steps)
                attempts = total - (steps - 1) if error is None else total - self.step
        text = _safe(lambda: self.cls.extract_text(result)) if result is not None else None
        return Observation(result, error, attempts, total, stats, list(clock.sleeps), elapsed, text)


def _safe(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:
        return f"<extract_text raised {type(exc).__name__}: {exc}>"


# -- the faults and what each must lead to -------------------------------------------------------

@dataclass(frozen=True)
class Expect:
    """The documented outcome of a fault."""

    error: type[ConnectorError] | None = None  # None: the send succeeds
    status_code: int | None = None  # the error's status_code
    attempts: int | None = None  # exact attempts at the faulted step
    sleeps: int | None = None  # how many waits
    sleep_exact: float | None = None  # each wait equals this (Retry-After in seconds)
    sleep_between: tuple[float, float] | None = None  # each wait in [lo, hi]
    message: str | None = None  # a phrase the error message must hold (case-insensitive)
    within_deadline: bool = False  # the call returns by deadline + tolerance (clock time)


@dataclass(frozen=True)
class Fault:
    """One fault: the replies for the faulted step (one per attempt) and the expected outcome."""

    name: str
    description: str
    replies: Callable[[Step, SuiteClock], list[Reply]]
    expect: Expect
    config: dict[str, Any] = field(default_factory=dict)
    mode: str = "sync"
    #: The outcome when the fault hits a set-up step (not the run, the last step of a send):
    #: a set-up call starts no paid work, so retrying it is right. None: same as ``expect``.
    setup_expect: Expect | None = None


def _repeat(reply: Callable[[Step], Reply], times: int) -> Callable[[Step, SuiteClock], list[Reply]]:
    return lambda step, clock: [reply(step) for _ in range(times)]


def _http_date_reply(step: Step, clock: SuiteClock) -> list[Reply]:
    when = formatdate(clock.time() + RETRY_AFTER_DATE_S, usegmt=True)
    return [Reply(429, b'{"detail": "Too Many Requests"}', {"Retry-After": when})]


def _huge(step: Step) -> Reply:
    try:
        value = json.loads(step.body)
    except ValueError:
        value = None
    if isinstance(value, dict):
        padded = {**value, "ck_fault_padding": "x" * HUGE_BYTES}
        return Reply(status=step.status, body=_dumps(padded), headers={"Content-Type": step.content_type})
    # Not an object: the same value followed by insignificant whitespace (still valid JSON).
    return step.reply() if not step.body else Reply(
        status=step.status, body=step.body + b" " * HUGE_BYTES, headers={"Content-Type": step.content_type})


def _trickled(pieces: int, gap: float) -> Callable[[Step], Reply]:
    def make(step: Step) -> Reply:
        size = max(1, -(-len(step.body) // pieces))
        return step.reply(trickle=gap, trickle_bytes=size)

    return make


def _status(code: int) -> Callable[[Step], Reply]:
    return lambda step: Reply(code, _dumps({"detail": f"injected HTTP {code}"}))


RETRY_AFTER_S = 2.0
RETRY_AFTER_DATE_S = 5
QUOTA_RETRY_AFTER_S = 7200
#: Hang and trickle budgets: small, so the real waits stay a fraction of a second.
HANG = {"timeout": 0.15, "deadline": 0.35, "backoff_initial": 0.1, "jitter": 0.0}
TRICKLE_OK = {"timeout": 1.0, "deadline": 3.0}
TRICKLE_LATE = {"timeout": 0.5, "deadline": 0.3}
ATTEMPTS_ALL = MAX_RETRIES + 1

FAULTS: list[Fault] = [
    Fault("delay", "a 0.15 s pause before the answer, well inside the timeout: success, 1 attempt",
          _repeat(lambda s: s.reply(delay=0.15), 1), Expect(attempts=1, sleeps=0),
          {"timeout": 2.0}),
    Fault("hang", "the server never answers: ConnectorTimeoutError within the call's deadline",
          _repeat(lambda s: Reply(hang=True), ATTEMPTS_ALL),
          Expect(ConnectorTimeoutError, within_deadline=True), HANG),
    Fault("hang_async", "the same hang through asend(): ConnectorTimeoutError within the deadline",
          _repeat(lambda s: Reply(hang=True), ATTEMPTS_ALL),
          Expect(ConnectorTimeoutError, within_deadline=True), HANG, mode="async"),
    Fault("http_500", "HTTP 500 is a bug, not a blip: ConnectorHTTPError at once, 1 attempt",
          _repeat(_status(500), 1), Expect(ConnectorHTTPError, status_code=500, attempts=1, sleeps=0)),
    Fault("http_503", "two HTTP 503 (not processed) then the answer: retried with backoff, "
          "3 attempts", _repeat(_status(503), 2),
          Expect(attempts=3, sleeps=2, sleep_between=(1e-9, 60.0))),
    # A gateway error, a reset or a cut body may follow a run the server did: the run is
    # not re-sent (that would pay for it twice, or queue a duplicate behind it).
    *[Fault(f"http_{code}", f"HTTP {code} after the run reached a gateway: ConnectorHTTPError, "
            "not re-sent (1 attempt); a set-up call is retried", _repeat(_status(code), 2),
            Expect(ConnectorHTTPError, status_code=code, attempts=1, sleeps=0),
            setup_expect=Expect(attempts=3, sleeps=2))
      for code in (502, 504)],
    Fault("rate_limit_seconds",
          f"429 with Retry-After: {RETRY_AFTER_S:g} (burst): waits exactly that, then the answer",
          _repeat(lambda s: Reply(429, b'{"detail": "Too Many Requests"}',
                                  {"Retry-After": f"{RETRY_AFTER_S:g}"}), 1),
          Expect(attempts=2, sleeps=1, sleep_exact=RETRY_AFTER_S)),
    Fault("rate_limit_http_date",
          f"429 with Retry-After as an HTTP date {RETRY_AFTER_DATE_S} s ahead: waits that, then the answer",
          _http_date_reply,
          Expect(attempts=2, sleeps=1, sleep_between=(RETRY_AFTER_DATE_S - 1.01, RETRY_AFTER_DATE_S + 0.01))),
    Fault("rate_limit_quota",
          f"429 with Retry-After: {QUOTA_RETRY_AFTER_S} (quota): ConnectorRateLimitError at once, "
          "saying the quota is exhausted",
          _repeat(lambda s: Reply(429, b'{"detail": "quota"}',
                                  {"Retry-After": str(QUOTA_RETRY_AFTER_S)}), 1),
          Expect(ConnectorRateLimitError, status_code=429, attempts=1, sleeps=0,
                 message="quota exhausted")),
    Fault("reset_before_body", "TCP reset after the run was sent, before any byte of the answer: "
          "ConnectorConnectionError, not re-sent (1 attempt)",
          _repeat(lambda s: Reply(reset_before=True), 2),
          Expect(ConnectorConnectionError, attempts=1, sleeps=0),
          setup_expect=Expect(attempts=3, sleeps=2)),
    Fault("reset_mid_body", "TCP reset halfway through the body: ConnectorConnectionError, not "
          "re-sent (1 attempt)",
          _repeat(lambda s: s.reply(reset_after_bytes=len(s.body) // 2), 2),
          Expect(ConnectorConnectionError, attempts=1, sleeps=0),
          setup_expect=Expect(attempts=3, sleeps=2)),
    Fault("truncated_body", "the body stops at half its Content-Length: ConnectorConnectionError, "
          "not re-sent (1 attempt)",
          _repeat(lambda s: s.reply(truncate_to=len(s.body) // 2), 2),
          Expect(ConnectorConnectionError, attempts=1, sleeps=0),
          setup_expect=Expect(attempts=3, sleeps=2)),
    Fault("invalid_json", "HTTP 200 with a body that is not JSON: ConnectorResponseError, not retried",
          _repeat(lambda s: Reply(200, b'{"outputs": [{"results": tru', {"Content-Type": "application/json"}),
                  1),
          Expect(ConnectorResponseError, attempts=1, sleeps=0)),
    Fault("empty_body", "HTTP 200 with an empty body: ConnectorResponseError, not retried",
          _repeat(lambda s: Reply(200, b"", {"Content-Type": "application/json"}), 1),
          Expect(ConnectorResponseError, attempts=1, sleeps=0)),
    Fault("json_array", "HTTP 200 with a JSON array where an object is due: ConnectorResponseError",
          _repeat(lambda s: Reply(200, b'[{"text": "not an object"}]'), 1),
          Expect(ConnectorResponseError, attempts=1, sleeps=0)),
    Fault("huge_body", f"a {HUGE_BYTES // 2**20} MB valid JSON answer: success, same text, 1 attempt",
          _repeat(_huge, 1), Expect(attempts=1, sleeps=0)),
    Fault("trickle", "the body in 8 pieces 20 ms apart, inside the timeout: success, 1 attempt",
          _repeat(_trickled(8, 0.02), 1), Expect(attempts=1, sleeps=0), TRICKLE_OK),
    Fault("trickle_past_deadline",
          "the body in 20 pieces 40 ms apart (0.8 s), deadline 0.3 s: ConnectorTimeoutError by the deadline",
          _repeat(_trickled(20, 0.04), ATTEMPTS_ALL),
          Expect(ConnectorTimeoutError, within_deadline=True), TRICKLE_LATE),
]


# -- judging -------------------------------------------------------------------------------------

def judge(fault: Fault, observed: Observation, baseline_text: str | None, tolerance: float,
          *, setup: bool = False) -> tuple[list[str], dict[str, Any]]:
    """The ways ``observed`` misses ``fault.expect`` (empty: it meets it), and its figures.

    ``setup``: the fault hit a set-up step, judged by ``fault.setup_expect`` when it has one.
    """
    expect = fault.setup_expect if setup and fault.setup_expect is not None else fault.expect
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
    elif expect.error is None:
        if error is not None:
            problems.append(f"expected success, got {outcome}: {error!s:.200}")
        elif observed.text != baseline_text:
            problems.append(f"succeeded, but extract_text gives {observed.text!r:.80} instead of "
                            f"{baseline_text!r:.80} (the answer without the fault)")
    else:
        if error is None:
            problems.append(f"expected {expect.error.__name__}, but the send succeeded")
        elif not isinstance(error, expect.error):
            problems.append(f"expected {expect.error.__name__}, got {outcome}: {error!s:.200}")
        else:
            if expect.status_code is not None and getattr(error, "status_code", None) != expect.status_code:
                problems.append(f"status_code {getattr(error, 'status_code', None)!r}, expected "
                                f"{expect.status_code}")
            if expect.message and expect.message.lower() not in str(error).lower():
                problems.append(f"the message does not say {expect.message!r}: {error!s:.200}")
            if not str(error).strip():
                problems.append("the error has an empty message")
    if expect.attempts is not None and observed.attempts != expect.attempts:
        problems.append(f"{observed.attempts} attempt(s) at the faulted step, expected {expect.attempts}")
    if expect.sleeps is not None and len(observed.sleeps) != expect.sleeps:
        problems.append(f"{len(observed.sleeps)} wait(s) {figures['waits_s']}, expected {expect.sleeps}")
    if expect.sleep_exact is not None and any(w != expect.sleep_exact for w in observed.sleeps):
        problems.append(f"waited {figures['waits_s']} s, expected exactly {expect.sleep_exact:g} s "
                        "(the Retry-After)")
    if expect.sleep_between is not None:
        low, high = expect.sleep_between
        wrong = [w for w in observed.sleeps if not low <= w <= high]
        if wrong:
            problems.append(f"waited {figures['waits_s']} s, expected each wait in [{low:g}, {high:g}] s")
    if expect.within_deadline:
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
    observed = harness.observe(lambda clock: fault.replies(harness.exchange.steps[harness.step], clock),
                               config=fault.config, mode=fault.mode)
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
    return figures


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
    return [Check(SUITE, fault.name, _runner(harness, fault, tolerance), fault.description)
            for fault in chosen]


def _runner(harness: FaultHarness, fault: Fault, tolerance: float) -> Callable[[], dict[str, Any]]:
    return lambda: run_fault(harness, fault, tolerance=tolerance)


def _skip(reason: str) -> Callable[[], None]:
    def run() -> None:
        raise CheckSkipped(reason)

    return run


# -- built-in samples: trimmed from real responses (Langflow 1.x /run, LangGraph dev server) ------

_ANSWER = 'The answer is 5. (tool said: {"result": "5"})'
_STEPS = [
    {"type": "tool_use", "duration": 0, "header": {"title": "Executed **evaluate_expression**",
                                                    "icon": "Hammer"},
     "name": "evaluate_expression", "tool_input": {"expression": "2+3"},
     "output": {"content": '{"result": "5"}', "additional_kwargs": {}, "response_metadata": {},
                "type": "tool", "name": "evaluate_expression",
                "id": "eb8be28d-66d7-4b10-9ad4-43f58d4c6822", "tool_call_id": "call_6ebc7d83",
                "artifact": {"result": "5"}, "status": "success"}, "error": None},
    {"type": "text", "duration": 0, "header": {}, "text": _ANSWER},
]
LANGFLOW_SAMPLE: dict[str, Any] = {
    "session_id": "ck-faults",
    "outputs": [{"inputs": {"input_value": "what is 2+3?"}, "outputs": [{
        "results": {"message": {
            "text_key": "text",
            "data": {"timestamp": "2026-11-22 02:13:04.001203 UTC", "sender": "Machine",
                     "sender_name": "AI", "session_id": "ck-faults", "text": _ANSWER, "files": [],
                     "error": False, "category": "message",
                     "content_blocks": [{"title": "Agent Steps", "contents": _STEPS,
                                         "allow_markdown": True, "media_url": None}],
                     "id": "b4e6d322-f361-47b7-82dc-6e98cf3ccbd4",
                     "flow_id": "4a1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"},
            "default_value": "", "sender": "Machine", "sender_name": "AI", "files": [],
            "session_id": "ck-faults", "text": _ANSWER,
            "content_blocks": [{"title": "Agent Steps", "contents": _STEPS}]}},
        "artifacts": {"message": _ANSWER, "sender": "Machine", "type": "object"},
        "outputs": {"message": {"message": _ANSWER, "type": "text"}},
        "component_display_name": "Chat Output", "component_id": "ChatOutput-dddd4",
    }]}],
}
LANGGRAPH_THREAD_SAMPLE: dict[str, Any] = {
    "thread_id": "01a20103-dcee-7263-aa0d-7ae1f9c7b989",
    "created_at": "2026-11-22T02:09:20.110403+00:00", "updated_at": "2026-11-22T02:09:20.110403+00:00",
    "state_updated_at": "2026-11-22T02:09:20.110403+00:00", "metadata": {"session_id": "ck-faults"},
    "status": "idle", "config": {}, "values": None,
}
LANGGRAPH_RUN_SAMPLE: dict[str, Any] = {"messages": [
    {"content": "what is 2+3?", "additional_kwargs": {}, "response_metadata": {}, "type": "human",
     "name": None, "id": "a97ce30c-2a07-43da-8064-c3a95dffc302"},
    {"content": "", "additional_kwargs": {}, "response_metadata": {}, "type": "ai", "name": None,
     "id": "lc_run--01a20103-e205-751d-b804-4c5d59a758f6-0",
     "tool_calls": [{"name": "calculator", "args": {"expression": "2+3"}, "id": "call_calc_1",
                     "type": "tool_call"}], "invalid_tool_calls": [], "usage_metadata": None},
    {"content": "5", "additional_kwargs": {}, "response_metadata": {}, "type": "tool",
     "name": "calculator", "id": "548b3d1f-cfcb-48ee-9402-1f6d6bf36739", "tool_call_id": "call_calc_1",
     "artifact": None, "status": "success"},
    {"content": "The answer to 2+3 is 5.", "additional_kwargs": {}, "response_metadata": {},
     "type": "ai", "name": None, "id": "lc_run--01a20103-e209-70d4-9b3a-7a1cee0fcd77-0",
     "tool_calls": [], "invalid_tool_calls": [], "usage_metadata": None},
]}
