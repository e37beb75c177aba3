"""Flow.from_yaml end to end: ${ENV} substitution, blocks chained, clear errors."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from connector_kit.blocks import AgentBlock, AgentResponseExtractorBlock, MissingColumnError
from connector_kit.connectors import ConnectorConfigError
from connector_kit.flow import Flow, FlowConfigError, substitute_env
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply

KEY = "lf-SECRET-key-987654321"


def langflow(request: ReceivedRequest) -> Reply:
    body = request.json() or {}
    text = body.get("input_value")
    if text == "boom":
        return Reply(status=500, body=b"{}")
    return json_reply({
        "session_id": body.get("session_id"),
        "outputs": [{"outputs": [{"results": {"message": {
            "text": f"print({text!r})\n{len(str(text))}",
            "content_blocks": [{"title": "Agent Steps", "contents": [{"type": "text", "text": "ok"}]}],
        }}}]}],
    })


@pytest.fixture
def srv(server: FaultServer) -> FaultServer:
    """The session's loopback server, answering like Langflow for this test."""
    server.reset(default=langflow)
    return server


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(textwrap.dedent(text))
    return path


PIPELINE = """
- block_type: AgentBlock
  block_config:
    block_name: coder
    agent_framework: langflow
    agent_url: ${AGENT_URL}/api/v1/run/coder
    agent_api_key: ${LANGFLOW_API_KEY}
    timeout: ${AGENT_TIMEOUT:-15}
    max_retries: 0
    max_concurrency: 4
    input_cols:
      messages: task
    output_cols:
      - agent_response
- block_type: AgentResponseExtractorBlock
  block_config:
    block_name: extract
    agent_framework: langflow
    input_cols: [agent_response]
    extract_text: true
    extract_tool_trace: true
    field_prefix: agent_
- block_type: PythonInterpreterBlock
  block_config:
    block_name: run
    interpreter_framework: monty
    input_cols: [agent_text]
    output_cols: [execution_result]
    timeout: 5.0
"""


def test_yaml_flow_end_to_end_with_env(
    srv: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pydantic_monty")
    monkeypatch.setenv("AGENT_URL", srv.url)
    monkeypatch.setenv("LANGFLOW_API_KEY", KEY)
    monkeypatch.delenv("AGENT_TIMEOUT", raising=False)
    with Flow.from_yaml(write(tmp_path, PIPELINE)) as flow:
        assert [b.block_name for b in flow] == ["coder", "extract", "run"]
        coder = flow.get_block("coder")
        assert isinstance(coder, AgentBlock) and coder.timeout == 15.0 and coder.agent_api_key == KEY
        assert flow.is_agent_config_required() and flow.is_agent_config_set()  # complete YAML
        df = pd.DataFrame({"task": ["hi", "boom", "hello"]})
        out = flow.generate(df)
    assert {r.headers["x-api-key"] for r in srv.requests} == {KEY}
    assert srv.requests[0].path == "/api/v1/run/coder"
    assert out["agent_response_error"].isna().tolist() == [True, False, True]
    assert out["agent_text"][0] == "print('hi')\n2"
    assert out["agent_tool_trace"][0] == [{"type": "text", "text": "ok"}]
    results = out["execution_result"].tolist()
    assert results[0]["success"] and results[0]["output"] == "hi\n" and results[0]["return_value"] == 2
    assert not results[1]["success"] and "None/NaN" in results[1]["error"]  # upstream failure, kept
    assert results[2]["return_value"] == 5
    assert out["execution_result_success"].tolist() == [True, False, True]
    assert [s.block_name for s in flow.last_summaries] == ["coder", "extract", "run"]
    assert [s.failed for s in flow.last_summaries] == [1, 1, 1]
    pa.Table.from_pandas(out)
    assert KEY not in repr(flow)


def test_mapping_with_blocks_key_and_metadata(srv: FaultServer, tmp_path: Path) -> None:
    path = write(tmp_path, f"""
        metadata:
          name: qa-flow
        blocks:
          - block_type: AgentBlock
            block_config:
              block_name: qa
              agent_framework: langflow
              agent_url: {srv.url}
              input_cols: {{messages: q}}
    """)
    flow = Flow.from_yaml(path, environ={})
    assert flow.name == "qa-flow" and flow.metadata == {"name": "qa-flow"}
    out = flow.generate(pd.DataFrame({"q": ["x"]}))
    assert out["agent_response_error"][0] is None


def test_missing_env_var_names_variable_block_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, PIPELINE)
    with pytest.raises(FlowConfigError) as info:
        Flow.from_yaml(path, environ={"AGENT_URL": "http://x"})
    message = str(info.value)
    assert "LANGFLOW_API_KEY" in message and "'coder'" in message and "agent_api_key" in message
    assert "blocks[0]" in message and "${LANGFLOW_API_KEY:-default}" in message


def test_substitution_rules() -> None:
    env = {"A": "1", "EMPTY": ""}
    assert substitute_env("x${A}y", env) == "x1y"
    assert substitute_env("${B:-dflt}", env) == "dflt"
    assert substitute_env("${EMPTY:-dflt}", env) == "dflt"
    assert substitute_env("$${A} costs $$5", env) == "${A} costs $5"
    assert substitute_env({"k": ["${A}", 3, None]}, env) == {"k": ["1", 3, None]}
    with pytest.raises(FlowConfigError, match="unterminated"):
        substitute_env("${A", env, path="agent_url")
    with pytest.raises(FlowConfigError, match="malformed"):
        substitute_env("${1A}", env)
    with pytest.raises(FlowConfigError, match=r"field 'nested.k\[0\]'.*MISSING"):
        substitute_env({"nested": {"k": ["${MISSING}"]}}, env)


@pytest.mark.parametrize(("yaml_text", "expected"), [
    ("- block_type: AgentBlok\n  block_config: {block_name: a1}\n",
     r"blocks\[0\] \(AgentBlok 'a1'\).*Did you mean 'AgentBlock'"),
    ("- block_type: AgentBlock\n  block_config: {block_name: a1, input_cols: {messages: q}, timeout: -1}\n",
     r"blocks\[0\].*'a1'.*field 'timeout'"),
    ("- block_type: AgentBlock\n  block_config: {block_name: a1, input_cols: {messages: q}, agent_ulr: x}\n",
     r"field 'agent_ulr': unknown field \(did you mean 'agent_url'\?\)"),
    ("- block_type: AgentBlock\n  block_config: {input_cols: {messages: q}}\n",
     r"field 'block_name': field required"),
    ("- block_type: AgentBlock\n  block_config: [1]\n", "block_config must be a mapping"),
    ("- just a string\n", r"blocks\[0\]: expected \{block_type"),
    ("- block_config: {block_name: a}\n", "missing block_type"),
    ("- block_type: AgentBlock\n  config: {}\n", r"unknown key\(s\) \['config'\]"),
    ("[]\n", "no blocks"),
    ("settings: {}\n", "'blocks' list"),
    ("- block_type: AgentBlock\n  block_config: {block_name: a, input_cols: [q]\n", "invalid YAML at line"),
    ("""
- block_type: AgentResponseExtractorBlock
  block_config: {block_name: same, agent_framework: langflow, input_cols: [r]}
- block_type: AgentResponseExtractorBlock
  block_config: {block_name: same, agent_framework: langflow, input_cols: [r2]}
""", r"duplicate block names \['same'\]"),
])
def test_bad_flow_definitions_are_clear(tmp_path: Path, yaml_text: str, expected: str) -> None:
    with pytest.raises(FlowConfigError, match=expected):
        Flow.from_yaml(write(tmp_path, yaml_text), environ={})


def test_errors_never_show_credentials(tmp_path: Path) -> None:
    text = f"""
    - block_type: AgentBlock
      block_config:
        block_name: a
        agent_api_key: {KEY}
        agent_url: http://h/run?api_key={KEY}
        timeout: nope
        input_cols: {{messages: q}}
    """
    with pytest.raises(FlowConfigError) as info:
        Flow.from_yaml(write(tmp_path, text), environ={})
    assert "timeout" in str(info.value) and KEY not in str(info.value)
    assert isinstance(info.value, ConnectorConfigError)
    with pytest.raises(FlowConfigError) as missing:
        Flow.from_yaml(tmp_path / "absent.yaml")
    assert "Cannot read flow file" in str(missing.value)


def test_flow_checks_every_blocks_columns_before_any_request(srv: FaultServer) -> None:
    flow = Flow([
        AgentBlock(block_name="a", agent_framework="langflow", agent_url=srv.url,
                   input_cols={"messages": "q"}),
        AgentResponseExtractorBlock(block_name="x", agent_framework="langflow", input_cols=["wrong_col"]),
    ])
    with pytest.raises(MissingColumnError) as info:
        flow.generate(pd.DataFrame({"q": ["hi"]}))
    assert info.value.block_name == "x" and info.value.missing == ["wrong_col"]
    assert srv.requests == []


def test_a_flow_without_agent_blocks_needs_no_agent_config(tmp_path: Path) -> None:
    pytest.importorskip("pydantic_monty")
    path = write(tmp_path, """
        - block_type: PythonInterpreterBlock
          block_config: {block_name: run, input_cols: [code], output_cols: [res], timeout: 5}
    """)
    with Flow.from_yaml(path) as flow:
        assert not flow.is_agent_config_required() and flow.is_agent_config_set()
        flow.reset_agent_config()
        assert flow.is_agent_config_set()
        out = flow.generate(pd.DataFrame({"code": ["6 * 7"]}))
    assert out["res"][0]["return_value"] == 42


def test_python_flow_rejects_non_blocks() -> None:
    bad: list[Any] = ["not a block"]
    with pytest.raises(FlowConfigError, match="not a block"):
        Flow(bad)


def test_flow_sees_flattened_multiindex_columns(srv: FaultServer) -> None:
    df = pd.DataFrame([["hi", 1]], columns=pd.MultiIndex.from_tuples([("q", "text"), ("meta", "")]))
    flow = Flow([AgentBlock(block_name="a", agent_framework="langflow", agent_url=srv.url,
                            input_cols={"messages": "q | text"})])
    out = flow.generate(df)
    assert list(out.columns) == ["q | text", "meta", "agent_response", "agent_response_error"]
    assert out["agent_response_error"][0] is None
    pa.Table.from_pandas(out)
