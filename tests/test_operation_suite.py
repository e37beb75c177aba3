"""The ``operations`` certification suite: it passes the built-in connectors and a contributor's
own operation, and each of its checks catches a bad connector (each bad subject is hand-made
here, for this test)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from examples.operations.count_assistants import CountingLangGraph, CountParams
from pydantic import ConfigDict, Field

from connector_kit.connectors import (
    LangflowConnector,
    LangGraphConnector,
    OpCall,
    OperationCatalogue,
    OperationContext,
    OperationParams,
    OpOutput,
)
from connector_kit.connectors.agent.langgraph_params import ThreadsCreateParams
from connector_kit.testkit.certify import Check, certify

REPO = Path(__file__).resolve().parents[1]


def _run(cls: type[Any], name: str, cassettes: Path | None = None) -> Check:
    report = certify(cls, cassettes, suites=["operations"], target_name=cls.__name__)
    found = [r for r in report.results if r.name == name]
    assert found, [r.id for r in report.results]
    return found[0]  # type: ignore[return-value]


def _catalogue(name: str) -> OperationCatalogue:
    return OperationCatalogue(name, check=None, version=None)


# -- the good subjects ---------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [LangGraphConnector, LangflowConnector])
@pytest.mark.parametrize("check", ["schema", "to_llm", "fuzz"])
def test_the_builtin_connectors_pass(cls: type[Any], check: str) -> None:
    result = _run(cls, check)
    assert result.status == "passed", result.detail
    if check == "fuzz":
        assert result.figures["cases"] > 50  # it exercised something


@pytest.mark.parametrize("check", ["schema", "to_llm", "fuzz"])
def test_a_contributed_operation_is_certified(check: str) -> None:
    result = _run(CountingLangGraph, check)
    assert result.status == "passed", result.detail
    assert "### assistants.count" in CountingLangGraph.to_llm()
    assert "### assistants.count" not in LangGraphConnector.to_llm()  # the parent is unchanged


# -- the bad subjects, one per check -------------------------------------------------------------

class Undescribed(LangGraphConnector):
    operations: ClassVar[OperationCatalogue | None] = _catalogue("undescribed")


class UndescribedParams(OperationParams):
    """Hand-made bad subject: a parameter an agent cannot read about."""

    limit: int = 10


@Undescribed.operation("things", "list", readonly=True)
def list_things(ctx: OperationContext, params: UndescribedParams) -> Any:
    """List things.

    Next: nothing.
    """
    return (yield OpCall("GET", "/things", expect="json"))


def test_schema_catches_an_undescribed_parameter() -> None:
    result = _run(Undescribed, "schema")
    assert result.status == "failed" and "'limit' has no description" in result.detail


class BadSchema(LangGraphConnector):
    operations: ClassVar[OperationCatalogue | None] = _catalogue("bad-schema")


class BadSchemaParams(OperationParams):
    """Hand-made bad subject: a schema that JSON Schema itself rejects."""

    limit: int = Field(default=1, description="How many.", json_schema_extra={"minimum": "one"})


@BadSchema.operation("things", "list", readonly=True)
def list_bad(ctx: OperationContext, params: BadSchemaParams) -> Any:
    """List things.

    Next: nothing.
    """
    return (yield OpCall("GET", "/things", expect="json"))


def test_schema_catches_an_invalid_json_schema() -> None:
    result = _run(BadSchema, "schema")
    assert result.status == "failed" and "not valid JSON Schema" in result.detail


class Terse(LangGraphConnector):
    """Hand-made bad subject: its to_llm() leaves the parameters out."""

    @classmethod
    def to_llm(cls) -> str:
        return "\n".join(line for line in super().to_llm().splitlines() if not line.startswith("- `"))


def test_to_llm_catches_missing_parameters() -> None:
    result = _run(Terse, "to_llm")
    assert result.status == "failed" and "parameter" in result.detail


class NoHint(LangGraphConnector):
    operations: ClassVar[OperationCatalogue | None] = _catalogue("no-hint")


@NoHint.operation("health", "check", readonly=True)
def hintless(ctx: OperationContext, params: CountParams) -> Any:
    """Is it up? (Hand-made bad subject: no chaining hint.)"""
    return (yield OpCall("GET", "/ok", expect="json"))


def test_to_llm_catches_a_missing_chaining_hint() -> None:
    result = _run(NoHint, "to_llm")
    assert result.status == "failed" and "chaining hint" in result.detail


class Permissive(LangGraphConnector):
    operations: ClassVar[OperationCatalogue | None] = _catalogue("permissive")


class PermissiveParams(OperationParams):
    """Hand-made bad subject: the guide's anti-pattern, an opaque endpoint with extra="allow"."""

    model_config = ConfigDict(extra="allow")
    endpoint: str = Field(description="company | filings | profile")


@Permissive.operation("data", "fetch")
def fetch(ctx: OperationContext, params: PermissiveParams) -> Any:
    """Fetch anything.

    Next: nothing.
    """
    return (yield OpCall("POST", f"/{params.endpoint}", params.model_dump()))


def test_fuzz_catches_unknown_parameters_that_are_sent() -> None:
    result = _run(Permissive, "fuzz")
    assert result.status == "failed"
    assert "__not_a_parameter__" in result.detail and "request was attempted" in result.detail


class SendsFirst(LangGraphConnector):
    """Hand-made bad subject: sends the request before its parameters are validated."""

    def run_operation(self, config: Any) -> Any:
        self._get_http_client().request("GET", self._base_url() + "/ok", expect="json")
        return super().run_operation(config)


def test_fuzz_catches_a_request_before_validation() -> None:
    result = _run(SendsFirst, "fuzz")
    assert result.status == "failed" and "request was attempted" in result.detail


# -- replay of recorded operation scenarios ---------------------------------------------------------

@pytest.mark.parametrize("framework", ["langgraph", "langflow"])
def test_the_recorded_operation_scenarios_replay(framework: str) -> None:
    cls = LangGraphConnector if framework == "langgraph" else LangflowConnector
    report = certify(cls, REPO / "cassettes" / framework, suites=["operations"], strict=True)
    replays = [r for r in report.results if r.name.startswith("replay.")]
    assert len(replays) >= 3 and all(r.status == "passed" for r in replays), [
        (r.name, r.detail) for r in replays if r.status != "passed"]
    assert all(r.figures["requests"] >= 1 for r in replays)  # each replay answered real requests


def test_the_contributed_operation_replays_offline() -> None:
    report = certify(CountingLangGraph, REPO / "examples" / "operations" / "langgraph",
                     suites=["operations"], strict=True)
    assert report.ok, [(r.id, r.detail) for r in report.results if r.status != "passed"]
    assert "replay.count_assistants" in {r.name for r in report.results}


class ChangedCreate(LangGraphConnector):
    """Hand-made bad subject: threads.create now sends other metadata than was recorded."""


@ChangedCreate.operation("threads", "create")
def create_differently(ctx: OperationContext, params: ThreadsCreateParams) -> Any:
    """Create a thread (with the wrong metadata).

    Next: runs.wait.
    """
    thread = yield OpCall("POST", "/threads", {"metadata": {"session_id": "someone-else"}})
    return OpOutput(thread, {"thread_id": thread.get("thread_id")})


def test_replay_catches_a_request_that_changed() -> None:
    report = certify(ChangedCreate, REPO / "cassettes" / "langgraph", suites=["operations"])
    lifecycle = next(r for r in report.results if r.name == "replay.thread_lifecycle")
    assert lifecycle.status == "failed" and "ReplayMismatchError" in lifecycle.detail
    untouched = next(r for r in report.results if r.name == "replay.stateless_runs")
    assert untouched.status == "passed"  # the check blames only the scenarios that changed
