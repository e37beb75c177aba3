"""set_agent_config and friends: credential-free YAML configured at run time."""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from connector_kit.blocks import AgentBlock, AgentResponseExtractorBlock
from connector_kit.flow import (
    AgentConfigNotSetError,
    Flow,
    FlowConfigError,
    detect_agent_blocks,
    is_agent_config_required,
    is_agent_config_set,
    reset_agent_config,
    set_agent_config,
)
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply

KEY = "runtime-SECRET-key-13579"


def langflow(request: ReceivedRequest) -> Reply:
    body = request.json() or {}
    return json_reply({"session_id": body.get("session_id"), "outputs": [{"outputs": [{"results": {
        "message": {"text": f"{request.path}: {body.get('input_value')}"}}}]}]})


def langgraph(request: ReceivedRequest) -> Reply:
    if request.path.endswith("/threads"):
        return json_reply({"thread_id": "t"})
    return json_reply({"messages": [{"type": "ai", "content": "from langgraph"}]})


@pytest.fixture
def srv(server: FaultServer) -> FaultServer:
    """The session's loopback server, answering like Langflow for this test."""
    server.reset(default=langflow)
    return server


CREDENTIAL_FREE = """
- block_type: AgentBlock
  block_config:
    block_name: first
    agent_framework: langflow
    input_cols: {messages: q}
    output_cols: [r1]
    max_retries: 0
- block_type: AgentBlock
  block_config:
    block_name: second
    agent_framework: langflow
    input_cols: {messages: q}
    output_cols: [r2]
    max_retries: 0
- block_type: AgentResponseExtractorBlock
  block_config:
    block_name: text
    agent_framework: langflow
    input_cols: [r2]
    field_prefix: out_
"""


@pytest.fixture
def flow(tmp_path: Path) -> Iterator[Flow]:
    path = tmp_path / "flow.yaml"
    path.write_text(textwrap.dedent(CREDENTIAL_FREE))
    with Flow.from_yaml(path, environ={}) as built:
        yield built


def df() -> pd.DataFrame:
    return pd.DataFrame({"q": ["hello"]})


def text_of(out: pd.DataFrame, column: str) -> str:
    return str(out[column][0]["outputs"][0]["outputs"][0]["results"]["message"]["text"])


def test_credential_free_flow_requires_set_agent_config(flow: Flow, srv: FaultServer) -> None:
    assert detect_agent_blocks(flow) == ["first", "second"]
    assert is_agent_config_required(flow) and not is_agent_config_set(flow)
    with pytest.raises(AgentConfigNotSetError) as info:
        flow.generate(df())
    message = str(info.value)
    assert "set_agent_config" in message and "'first' has no agent_url" in message
    assert srv.requests == []


def test_set_agent_config_on_all_agent_blocks(flow: Flow, srv: FaultServer) -> None:
    flow.set_agent_config(agent_url=f"{srv.url}/all", agent_api_key=KEY, timeout=5)
    assert is_agent_config_set(flow)
    out = flow.generate(df())
    assert text_of(out, "r1") == "/all: hello" and text_of(out, "r2") == "/all: hello"
    assert out["out_text"][0] == "/all: hello"
    assert [r.headers["x-api-key"] for r in srv.requests] == [KEY, KEY]
    first = flow.get_block("first")
    assert isinstance(first, AgentBlock) and first.timeout == 5


def test_targeting_specific_blocks(flow: Flow, srv: FaultServer) -> None:
    set_agent_config(flow, agent_url=f"{srv.url}/one", blocks=["first"])
    assert is_agent_config_set(flow)
    with pytest.raises(AgentConfigNotSetError) as info:
        flow.generate(df())
    assert "'second' has no agent_url" in str(info.value) and "blocks=['second']" in str(info.value)
    assert srv.requests == []
    flow.set_agent_config(agent_url=f"{srv.url}/two", blocks=["second"])
    out = flow.generate(df())
    assert text_of(out, "r1") == "/one: hello" and text_of(out, "r2") == "/two: hello"


def test_reconfiguring_invalidates_the_cached_connector(flow: Flow, srv: FaultServer) -> None:
    flow.set_agent_config(agent_url=f"{srv.url}/v1")
    flow.generate(df())
    block = flow.get_block("first")
    assert isinstance(block, AgentBlock)
    before = block._get_connector()
    flow.set_agent_config(agent_url=f"{srv.url}/v2", blocks=["first"])
    out = flow.generate(df())
    assert text_of(out, "r1") == "/v2: hello" and text_of(out, "r2") == "/v1: hello"
    assert block._get_connector() is not before
    assert before._http_client is None  # the old connector was closed


def test_framework_switch_reaches_the_extractor(flow: Flow, srv: FaultServer) -> None:
    srv.set_default(langgraph)
    flow.set_agent_config(agent_framework="langgraph", agent_url=srv.url)
    extractor = flow.get_block("text")
    assert isinstance(extractor, AgentResponseExtractorBlock) and extractor.agent_framework == "langgraph"
    out = flow.generate(df())
    assert out["out_text"][0] == "from langgraph"


def test_reset_requires_a_new_call(flow: Flow, srv: FaultServer) -> None:
    flow.set_agent_config(agent_url=srv.url)
    reset_agent_config(flow)
    assert not flow.is_agent_config_set()
    with pytest.raises(AgentConfigNotSetError, match="set_agent_config"):
        flow.generate(df())
    flow.set_agent_config(agent_api_key=KEY)
    assert flow.is_agent_config_set()
    flow.generate(df())


def test_complete_yaml_counts_as_set_until_reset(srv: FaultServer) -> None:
    complete = Flow([AgentBlock(block_name="a", agent_framework="langflow", agent_url=srv.url,
                                input_cols={"messages": "q"})])
    assert complete.is_agent_config_set()
    complete.reset_agent_config()
    assert not complete.is_agent_config_set()
    with pytest.raises(AgentConfigNotSetError):
        complete.generate(df())


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({}, "at least one setting"),
    ({"agent_url": "http://x", "blocks": ["nope"]}, r"\['nope'\] not in this flow"),
    ({"agent_url": "http://x", "temperature": 0.3}, r"field\(s\) \['temperature'\]"),
    ({"input_cols": ["x"]}, "cannot change"),
    ({"timeout": -1}, r"'first'.*field 'timeout'"),
    ({"agent_url": "ftp://x"}, "agent_url must start with http"),
    ({"agent_framework": "nope"}, "unknown agent framework"),
])
def test_bad_settings_change_nothing(flow: Flow, kwargs: dict[str, object], expected: str) -> None:
    with pytest.raises(FlowConfigError, match=expected):
        flow.set_agent_config(**kwargs)  # type: ignore[arg-type]
    first = flow.get_block("first")
    assert isinstance(first, AgentBlock)
    assert first.agent_url is None and first.timeout == 120.0 and first.agent_framework == "langflow"
    assert not flow.is_agent_config_set()


def test_credentials_stay_out_of_logs_reprs_and_errors(
    flow: Flow, srv: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    flow.set_agent_config(agent_url=f"{srv.url}/run?x-api-key={KEY}", agent_api_key=KEY)
    assert "agent_api_key='***'" in caplog.text and KEY not in caplog.text
    assert KEY not in repr(flow) and KEY not in str(flow.get_block("first"))
    with pytest.raises(FlowConfigError) as info:
        flow.set_agent_config(agent_api_key=KEY, max_retries="many")
    assert KEY not in str(info.value)
    flow.generate(df())
    assert KEY not in caplog.text


def test_a_flow_without_agent_blocks_warns_and_stays_set(caplog: pytest.LogCaptureFixture) -> None:
    flow = Flow([AgentResponseExtractorBlock(block_name="x", agent_framework="langflow", input_cols=["r"])])
    assert detect_agent_blocks(flow) == [] and not is_agent_config_required(flow)
    flow.set_agent_config(agent_url="http://x", blocks=None)
    assert "no agent blocks" in caplog.text and is_agent_config_set(flow)
