"""The ``faults`` certification suite: our connectors pass every fault, known-bad ones fail theirs.

Each check runs a connector against a real FaultServer on 127.0.0.1. Waits are read from the
injected clock (nothing sleeps for real); attempt counts come from the server. The only real
waiting is inside the hang/trickle checks (a fraction of a second each, by design) and no test
here asserts a duration.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from connector_kit.connectors import (
    BaseAgentConnector,
    BaseConnector,
    ConnectorConfig,
    ConnectorResponseError,
    HttpClient,
    LangflowConnector,
    LangGraphConnector,
    RetryPolicy,
)
from connector_kit.testkit.certify import CertificationReport, CheckFailed, certify
from connector_kit.testkit.certify.suites.faults import run_fault
from connector_kit.testkit.faults import (
    FAULTS,
    STREAM_FAULTS,
    FaultHarness,
    FaultServer,
    Reply,
    SkippingClock,
    builtin_exchange,
    exchange_from_cassette,
    json_reply,
)
from connector_kit.testkit.kit import ConnectorTestKit

ROOT = Path(__file__).resolve().parents[1]
ALL_FAULTS = {fault.name for fault in FAULTS}
STREAM_CHECKS = {fault.name for fault in STREAM_FAULTS}
FAULT = {fault.name: fault for fault in FAULTS}


def statuses(report: CertificationReport) -> dict[str, str]:
    return {result.name: result.status for result in report.results}


def failures(report: CertificationReport) -> dict[str, str]:
    return {r.name: r.detail for r in report.results if r.status == "failed"}


def run_suite(target: Any, cassettes: Path | None = None, **settings: Any) -> CertificationReport:
    return certify(target, cassettes, suites=["faults"], options={"faults": settings} if settings else None)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Cassette folders per built-in: the committed recordings, else a set recorded here.

    The fallback records through ``ConnectorTestKit.record`` from a loopback server that
    answers with the trimmed real framework responses.
    """
    from benchmarks.replay import record_fixture

    folders = {}
    for name in ("langflow", "langgraph"):
        committed = ROOT / "cassettes" / name
        kit = ConnectorTestKit(name, committed) if committed.is_dir() else None
        if kit is not None and any(exchange_from_cassette(kit.load(n)) for n in kit.recorded_names()):
            folders[name] = committed
        else:
            folders[name] = record_fixture(name, tmp_path_factory.mktemp("cassettes") / name)
    return folders


# -- our connectors pass every check -----------------------------------------------------------


@pytest.mark.parametrize("name", ["langflow", "langgraph"])
def test_builtin_connectors_pass_every_fault_with_recorded_bodies(name: str,
                                                                  recorded: dict[str, Path]) -> None:
    report = run_suite(name, recorded[name])
    # the stream faults join when the folder has a recorded stream (the committed ones do)
    streamed = any(recorded[name].glob("stream*.yaml"))
    assert set(statuses(report)) == ALL_FAULTS | (STREAM_CHECKS if streamed else set())
    assert failures(report) == {}
    assert set(statuses(report).values()) == {"passed"}, statuses(report)
    assert all(r.figures["exchange"].startswith("cassette ") for r in report.results)


@pytest.mark.parametrize("cls", [LangflowConnector, LangGraphConnector])
def test_builtin_connectors_pass_every_fault_without_cassettes(cls: type[BaseAgentConnector]) -> None:
    report = run_suite(cls)
    assert failures(report) == {}
    assert set(statuses(report).values()) == {"passed"}, statuses(report)
    assert all("built-in" in r.figures["exchange"] for r in report.results)


def test_langgraph_fault_on_the_thread_step(recorded: dict[str, Path]) -> None:
    """``faults: {step: 0}`` breaks POST /threads instead of the run."""
    report = run_suite("langgraph", recorded["langgraph"], step=0,
                       only=["http_503", "invalid_json", "reset_mid_body", "rate_limit_quota"])
    assert set(statuses(report).values()) == {"passed"}, failures(report)
    assert {r.figures["step"] for r in report.results} == {0}
    by_name = {r.name: r.figures for r in report.results}
    assert by_name["http_503"]["attempts"] == 3
    assert by_name["invalid_json"]["outcome"] == "ConnectorResponseError"


# -- attempt counts and waits, read from the server and the injected clock ---------------------


@pytest.fixture(scope="module")
def langflow_harness() -> FaultHarness:
    exchange = builtin_exchange(LangflowConnector)
    assert exchange is not None
    return FaultHarness(LangflowConnector, exchange)


def test_retried_statuses_take_k_plus_one_attempts_with_backoff_waits(langflow_harness: FaultHarness) -> None:
    figures = run_fault(langflow_harness, FAULT["http_503"])
    assert figures["outcome"] == "ok"
    assert figures["attempts"] == 3
    assert figures["client_attempts"] == [3]
    first, second = figures["waits_s"]
    # default policy: 0.5 s then 1.0 s, minus up to 25 % jitter
    assert 0.375 <= first <= 0.5 and 0.75 <= second <= 1.0


def test_gateway_errors_after_a_run_are_not_resent(langflow_harness: FaultHarness) -> None:
    for code in (502, 504):
        figures = run_fault(langflow_harness, FAULT[f"http_{code}"])
        assert (figures["outcome"], figures["attempts"], figures["waits_s"]) == (
            "ConnectorHTTPError", 1, [])


def test_500_is_not_retried(langflow_harness: FaultHarness) -> None:
    figures = run_fault(langflow_harness, FAULT["http_500"])
    assert (figures["outcome"], figures["attempts"], figures["waits_s"]) == ("ConnectorHTTPError", 1, [])
    assert "HTTP 500" in figures["message"]


def test_retry_after_is_waited_exactly_and_quota_raises_at_once(langflow_harness: FaultHarness) -> None:
    burst = run_fault(langflow_harness, FAULT["rate_limit_seconds"])
    assert (burst["outcome"], burst["attempts"], burst["waits_s"]) == ("ok", 2, [2.0])
    date = run_fault(langflow_harness, FAULT["rate_limit_http_date"])
    assert date["attempts"] == 2 and 3.99 <= date["waits_s"][0] <= 5.0
    quota = run_fault(langflow_harness, FAULT["rate_limit_quota"])
    assert (quota["outcome"], quota["attempts"], quota["waits_s"]) == ("ConnectorRateLimitError", 1, [])
    assert "quota exhausted" in quota["message"]


def test_transport_faults_are_retried_then_succeed_or_end_as_connection_errors(
        langflow_harness: FaultHarness) -> None:
    # The run may have been processed: one attempt only, the error says what broke.
    for name in ("reset_before_body", "reset_mid_body", "truncated_body"):
        figures = run_fault(langflow_harness, FAULT[name])
        assert (figures["outcome"], figures["attempts"], len(figures["waits_s"])) == (
            "ConnectorConnectionError", 1, 0), name


def test_bad_bodies_are_response_errors_without_retry(langflow_harness: FaultHarness) -> None:
    for name in ("invalid_json", "empty_body", "json_array"):
        figures = run_fault(langflow_harness, FAULT[name])
        assert (figures["outcome"], figures["attempts"]) == ("ConnectorResponseError", 1), name


def test_suite_clock_skips_waits_but_follows_real_time() -> None:
    clock = SkippingClock()
    before = clock.monotonic()
    clock.sleep(30.0)
    assert clock.sleeps == [30.0]
    assert 30.0 <= clock.monotonic() - before < 31.0
    assert clock.time() - clock.monotonic() == pytest.approx(clock._wall_offset)


# -- known-bad connectors fail the specific checks --------------------------------------------


class _OwnClient:
    """Known-bad connectors build their HttpClient with a policy of their own."""

    policy: ClassVar[RetryPolicy]

    def _get_http_client(self) -> HttpClient:
        connector: Any = self
        if connector._http_client is None:
            connector._http_client = HttpClient(timeout=connector.config.timeout, policy=self.policy)
        client: HttpClient = connector._http_client
        return client


class NeverRetriesLangflow(_OwnClient, LangflowConnector):
    policy: ClassVar[RetryPolicy] = RetryPolicy(max_retries=0)
    resend_on_failure: bool = True  # so that only the policy decides


class RetriesNo503LangGraph(_OwnClient, LangGraphConnector):
    policy: ClassVar[RetryPolicy] = RetryPolicy(max_retries=3, retry_statuses=frozenset({502, 504}))


class Retries500Langflow(_OwnClient, LangflowConnector):
    policy: ClassVar[RetryPolicy] = RetryPolicy(max_retries=3, retry_on_500=True)
    resend_on_failure: bool = True


class ResendsRunsLangflow(LangflowConnector):
    """Re-sends a run that may have reached the server: every LLM call paid twice."""

    resend_on_failure: bool = True


class IgnoresRetryAfterLangflow(_OwnClient, LangflowConnector):
    # every 429 is taken for a quota
    policy: ClassVar[RetryPolicy] = RetryPolicy(max_retries=3, max_burst_wait=0.0)


class NoDeadlineLangflow(_OwnClient, LangflowConnector):
    policy: ClassVar[RetryPolicy] = RetryPolicy(max_retries=3, deadline=60.0, backoff_initial=0.05,
                                                jitter=0.0)
    resend_on_failure: bool = True


class RawHttpxLangflow(LangflowConnector):
    """Posts with a bare httpx client and ``response.json()``, as the published package does."""

    async def _send_async(self, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=self.config.timeout) as client:
            response = await client.post(str(self.config.url), json=self.build_request(messages, session_id),
                                         headers=self._build_headers())
            response.raise_for_status()
            return self.parse_response(response.json())


class SwallowsErrorsLangflow(LangflowConnector):
    """Turns every failure into an empty answer."""

    def send(self, messages: Any, session_id: str, async_mode: bool = False) -> Any:
        try:
            return super().send(messages, session_id, async_mode)
        except Exception:
            return {}


RETRY_FAILS = "expected success, got ConnectorHTTPError"


@pytest.mark.parametrize(("cls", "only", "must_fail"), [
    (NeverRetriesLangflow,
     ["http_502", "http_503", "http_504", "reset_before_body", "http_500", "invalid_json",
      "rate_limit_quota"],
     {"http_503": RETRY_FAILS}),
    (ResendsRunsLangflow, ["http_502", "http_503", "http_504", "reset_before_body",
                           "reset_mid_body", "truncated_body"],
     {"http_502": "expected 1", "http_504": "expected 1", "reset_before_body": "expected 1",
      "reset_mid_body": "expected 1", "truncated_body": "expected 1"}),
    (RetriesNo503LangGraph, ["http_502", "http_503", "http_504"],
     {"http_503": "1 attempt(s) at the faulted step, expected 3"}),
    (Retries500Langflow, ["http_500", "http_503"],
     {"http_500": "expected ConnectorHTTPError, but the send succeeded"}),
    (IgnoresRetryAfterLangflow, ["rate_limit_seconds", "rate_limit_http_date", "rate_limit_quota"],
     {"rate_limit_seconds": "got ConnectorRateLimitError",
      "rate_limit_http_date": "got ConnectorRateLimitError"}),
    (NoDeadlineLangflow, ["hang", "trickle_past_deadline", "delay"],
     {"hang": "over the 0.35 s deadline",
      "trickle_past_deadline": "expected ConnectorTimeoutError, but the send succeeded"}),
    (RawHttpxLangflow, ["invalid_json", "empty_body", "http_503", "delay"],
     {"invalid_json": "raised a raw json.decoder.JSONDecodeError", "empty_body": "raised a raw",
      "http_503": "raised a raw httpx.HTTPStatusError"}),
    (SwallowsErrorsLangflow, ["invalid_json", "http_500", "delay"],
     {"invalid_json": "but the send succeeded", "http_500": "but the send succeeded"}),
])
def test_known_bad_connectors_fail_their_checks(cls: type[BaseAgentConnector], only: list[str],
                                                must_fail: dict[str, str]) -> None:
    report = run_suite(cls, only=only)
    found = failures(report)
    assert set(found) == set(must_fail), statuses(report)
    assert all(status == "passed" for name, status in statuses(report).items() if name not in must_fail)
    for name, phrase in must_fail.items():
        assert phrase in found[name], (name, found[name])


def test_raw_exception_is_reported_by_module_and_class() -> None:
    exchange = builtin_exchange(RawHttpxLangflow)
    assert exchange is not None
    with pytest.raises(CheckFailed) as caught:
        run_fault(FaultHarness(RawHttpxLangflow, exchange), FAULT["invalid_json"])
    assert "raised a raw json.decoder.JSONDecodeError" in str(caught.value)
    assert caught.value.figures["outcome"] == "JSONDecodeError"


# -- connectors the suite cannot drive, and contributors' own -----------------------------------


class EchoConnector(BaseConnector):
    def execute(self, request: Any) -> Any:
        return request


class EchoAgent(BaseAgentConnector):
    """A contributor's connector: one POST, the answer under ``reply``."""

    def build_request(self, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
        return {"q": messages[-1].get("content"), "session": session_id}

    def parse_response(self, response: dict[str, Any]) -> dict[str, Any]:
        if "reply" not in response:
            raise ConnectorResponseError("the answer has no 'reply'")
        return response

    @classmethod
    def extract_text(cls, response: dict[str, Any]) -> str | None:
        value = response.get("reply") if isinstance(response, dict) else None
        return value if isinstance(value, str) else None


def test_non_agent_connector_is_not_run_with_a_reason() -> None:
    [result] = run_suite(EchoConnector).results
    assert result.status == "not run"
    assert "not an agent connector" in result.detail


def test_own_connector_without_a_recording_is_not_run_then_runs_on_given_responses() -> None:
    [result] = run_suite(EchoAgent).results
    assert result.status == "not run"
    assert "record a cassette" in result.detail
    report = run_suite(EchoAgent, responses=[{"reply": "hello"}])
    assert set(statuses(report)) == ALL_FAULTS
    assert failures(report) == {}


def test_an_out_of_range_step_is_reported() -> None:
    [result] = run_suite(LangflowConnector, step=3).results
    assert result.status == "not run" and "out of range" in result.detail


def test_a_broken_baseline_fails_with_the_reason() -> None:
    class AlwaysBroken(LangflowConnector):
        def parse_response(self, response: dict[str, Any]) -> dict[str, Any]:
            raise ConnectorResponseError("this connector never accepts an answer")

    report = run_suite(AlwaysBroken, only=["delay"])
    assert "fails even without a fault" in failures(report)["delay"]


# -- the FaultServer additions the suite relies on -----------------------------------------------


def test_fault_server_trickles_in_pieces_and_resets() -> None:
    body = json.dumps({"text": "x" * 300}).encode()
    with FaultServer() as server:
        server.script(Reply(200, body, trickle=0.001, trickle_bytes=100))
        client = HttpClient(timeout=5, max_retries=0)
        try:
            assert client.post_sync(server.url, {}) == {"text": "x" * 300}
            server.script(Reply(503))
            server.reset(lambda request: json_reply({"after": "reset"}))
            assert server.requests == []
            assert client.post_sync(server.url, {}) == {"after": "reset"}
        finally:
            client.close()


def test_config_retry_extras_of_the_recording_do_not_leak_into_the_checks() -> None:
    exchange = builtin_exchange(LangflowConnector)
    assert exchange is not None
    exchange.config.update({"max_retries": 0, "deadline": 0.001, "retry_on_500": True})
    harness = FaultHarness(LangflowConnector, exchange)
    connector = harness.connector("http://127.0.0.1:9")
    client = connector._get_http_client()
    assert (client.max_retries, client.policy.deadline, client.policy.retry_on_500) == (3, None, False)
    assert isinstance(connector.config, ConnectorConfig)
