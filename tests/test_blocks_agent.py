"""AgentBlock against a real loopback HTTP server (FaultServer): every row kept, errors per row."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import logging
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from connector_kit.blocks import (
    AgentBlock,
    BlockConfigError,
    MissingColumnError,
    OutputColumnCollisionError,
    RowFailedError,
)
from connector_kit.blocks._progress import progress_bar, progress_enabled
from connector_kit.connectors import ConnectorRegistry, LangflowConnector
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply
from fixtures.recordings import recorded_response

#: A real Langflow /run answer with a tool call, recorded from the project's rig
#: (cassettes/langflow/tool_call.yaml): the repo's own recording.
RESPONSE: dict[str, Any] = recorded_response("langflow", "tool_call")[1]
API_KEY = "fake-test-key-SECRET-0123456789"


def langflow(request: ReceivedRequest) -> Reply:
    """Answer like Langflow: the text echoes the input, the session id is the one sent."""
    body = request.json() or {}
    text = str(body.get("input_value"))
    if text == "boom":
        return Reply(status=500, body=b'{"detail": "LLM down"}')
    if text == "garbage":
        return Reply(status=200, body=b"<html>not json</html>")
    response = copy.deepcopy(RESPONSE)
    response["session_id"] = body.get("session_id")
    response["outputs"][0]["outputs"][0]["results"]["message"]["text"] = f"echo: {text}"
    return json_reply(response)


@pytest.fixture
def srv(server: FaultServer) -> FaultServer:
    """The session's loopback server, answering like Langflow for this test."""
    server.reset(default=langflow)
    return server


def make_block(srv: FaultServer, **overrides: Any) -> AgentBlock:
    config: dict[str, Any] = dict(
        block_name="qa", agent_framework="langflow", agent_url=f"{srv.url}/api/v1/run/flow",
        agent_api_key=API_KEY, input_cols={"messages": "question"}, output_cols=["response"],
        max_retries=0, timeout=10, show_progress=False,
    )
    config.update(overrides)
    return AgentBlock(**config)


def texts(out: pd.DataFrame, column: str = "response") -> list[str | None]:
    """The answer text of each row's response cell (a dict, or JSON text with arrow_safe)."""
    return [LangflowConnector.extract_text(json.loads(v) if isinstance(v, str) else v)
            if v is not None else None for v in out[column]]


def test_each_row_gets_its_response_in_order(srv: FaultServer) -> None:
    df = pd.DataFrame({"question": ["one", "two", "three"]}, index=[10, 20, 30])
    block = make_block(srv, max_concurrency=3)
    out = block.generate(df)
    assert list(out.index) == [10, 20, 30]
    assert texts(out) == ["echo: one", "echo: two", "echo: three"]
    assert all(isinstance(cell, dict) for cell in out["response"])  # the raw response dict
    assert out["response"][10]["outputs"][0]["outputs"][0]["results"]["message"]["text"] == "echo: one"
    assert out["response_error"].tolist() == [None, None, None]
    assert len(srv.requests) == 3
    assert {r.headers["x-api-key"] for r in srv.requests} == {API_KEY}
    assert list(df.columns) == ["question"]  # the input is not modified
    summary = block.last_summary
    assert summary is not None and (summary.rows, summary.ok, summary.failed) == (3, 3, 0)
    pa.Table.from_pandas(out)


def test_message_lists_and_session_ids(srv: FaultServer) -> None:
    df = pd.DataFrame({
        "question": [
            [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
            "plain",
            np.array([{"role": "user", "content": "from parquet"}], dtype=object),
        ],
        "sid": ["s-1", None, 7],
    })
    out = make_block(srv, session_id_col="sid").generate(df)
    assert texts(out) == ["echo: hi", "echo: plain", "echo: from parquet"]
    sent = {r.json()["input_value"]: r.json()["session_id"] for r in srv.requests}
    assert sent["hi"] == "s-1" and sent["from parquet"] == "7"
    uuid.UUID(sent["plain"])  # a missing session id is generated
    no_col = make_block(srv).generate(pd.DataFrame({"question": ["a", "b"]}))
    generated = [v["session_id"] for v in no_col["response"]]
    assert len(set(generated)) == 2 and all(uuid.UUID(s) for s in generated)


def test_one_bad_row_among_good_ones_loses_nothing(srv: FaultServer) -> None:
    questions = ["a", "boom", "b", "garbage", 42, None, [], ["not a dict"], "c"]
    df = pd.DataFrame({"question": pd.Series(questions, dtype=object, index=list("ABCDEFGHI"))})
    block = make_block(srv, max_concurrency=4)
    out = block.generate(df)
    assert len(out) == len(df) and list(out.index) == list(df.index)
    assert texts(out) == ["echo: a", None, "echo: b", None, None, None, None, None, "echo: c"]
    errors = out["response_error"].tolist()
    assert errors[0] is None and errors[2] is None and errors[8] is None
    assert errors[1].startswith("ConnectorHTTPError: HTTP 500")
    assert errors[3].startswith("ConnectorResponseError:") and "not valid JSON" in errors[3]
    assert "got int" in errors[4] and "empty in this row" in errors[5]
    assert "empty message list" in errors[6] and "messages[0]" in errors[7]
    assert len(srv.requests) == 5  # rows that cannot be sent are never sent
    summary = block.last_summary
    assert summary is not None and (summary.ok, summary.failed) == (3, 6)
    assert [f.index for f in summary.failures] == list("BDEFGH")
    pa.Table.from_pandas(out[["response", "response_error"]])
    # Default: the input column passes through untouched (the documented cell types) ...
    assert out["question"].tolist()[4] == 42 and out["question"].tolist()[6] == []
    # ... arrow_safe=True writes the mixed str/int/list column as text so Arrow accepts it.
    safe = make_block(srv, max_concurrency=4, arrow_safe=True).generate(df)
    assert pa.Table.from_pandas(safe).num_rows == 9
    assert isinstance(safe["response"]["A"], str) and json.loads(safe["response"]["A"])["outputs"]


def test_all_rows_failing_still_gives_an_arrow_safe_frame(closed_port_url: str) -> None:
    block = AgentBlock(block_name="down", agent_framework="langflow", agent_url=closed_port_url,
                       input_cols={"messages": "q"}, max_retries=0, show_progress=False)
    out = block.generate(pd.DataFrame({"q": ["x", "y"]}))
    assert out["agent_response"].tolist() == [None, None]
    assert all(e.startswith("ConnectorConnectionError:") for e in out["agent_response_error"])
    table = pa.Table.from_pandas(out)
    assert table.schema.field("agent_response_error").type == pa.string()
    empty = block.generate(pd.DataFrame({"q": pd.Series([], dtype=object)}))
    assert list(empty.columns) == ["q", "agent_response", "agent_response_error"]
    pa.Table.from_pandas(empty)


def test_fail_fast_raises_the_first_failure(srv: FaultServer) -> None:
    df = pd.DataFrame({"question": ["a", "boom", "b"]})
    with pytest.raises(RowFailedError) as info:
        make_block(srv, fail_fast=True, max_concurrency=1).generate(df)
    assert info.value.row == 1 and "HTTP 500" in str(info.value)
    srv.requests.clear()
    with pytest.raises(RowFailedError, match="got int"):
        make_block(srv, fail_fast=True).generate(pd.DataFrame({"question": ["a", 5]}))
    assert srv.requests == []  # an unsendable row stops the run before any request


def test_missing_columns_raise_before_any_request(srv: FaultServer) -> None:
    with pytest.raises(MissingColumnError) as info:
        make_block(srv).generate(pd.DataFrame({"prompt": ["a"]}))
    assert info.value.missing == ["question"] and "'question'" in str(info.value)
    assert "prompt" in str(info.value)
    with pytest.raises(MissingColumnError, match="'sid'"):
        make_block(srv, session_id_col="sid").generate(pd.DataFrame({"question": ["a"]}))
    with pytest.raises(OutputColumnCollisionError, match="'response'"):
        make_block(srv).generate(pd.DataFrame({"question": ["a"], "response": [1]}))
    assert srv.requests == []


def test_incomplete_config_says_to_call_set_agent_config(srv: FaultServer) -> None:
    block = AgentBlock(block_name="later", input_cols={"messages": "q"}, agent_url="")
    assert block.agent_url is None and block.missing_agent_config() == ["agent_framework", "agent_url"]
    expected = r"set_agent_config\(agent_framework=\.\.\., agent_url=\.\.\.\)"
    with pytest.raises(BlockConfigError, match=expected):
        block.generate(pd.DataFrame({"q": ["a"]}))
    assert srv.requests == []


@pytest.mark.parametrize(("overrides", "field"), [
    ({"timeout": -1}, "timeout"),
    ({"timeout": float("inf")}, "timeout"),
    ({"agent_framework": "nope"}, "agent_framework"),
    ({"agent_framework": "monty"}, "agent_framework"),
    ({"agent_url": "ftp://x"}, "agent_url"),
    ({"max_concurrency": 0}, "max_concurrency"),
    ({"input_cols": {"prompt": "q"}}, "messages"),
    ({"input_cols": []}, "messages column"),
    ({"agent_ulr": "http://x"}, "did you mean 'agent_url'"),
])
def test_invalid_config_names_block_and_field(
    srv: FaultServer, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(BlockConfigError) as info:
        make_block(srv, **overrides)
    message = str(info.value)
    assert "'qa'" in message and field in message
    assert API_KEY not in message


def test_assignment_is_validated_too(srv: FaultServer) -> None:
    block = make_block(srv)
    with pytest.raises(BlockConfigError, match="max_retries"):
        block.max_retries = -3
    assert block.max_retries == 0


def test_credentials_never_appear_in_repr_logs_or_errors(
    srv: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    block = make_block(srv, connector_kwargs={}, agent_url=f"{srv.url}/run?x-api-key={API_KEY}")
    for text in (repr(block), str(block)):
        assert API_KEY not in text and "***" in text
    srv.set_default(lambda r: Reply(status=401, body=json.dumps({"detail": f"bad key {API_KEY}"})))
    caplog.set_level(logging.DEBUG)
    out = block.generate(pd.DataFrame({"question": ["a"]}))
    error = out["response_error"][0]
    assert error.startswith("ConnectorAuthError") and API_KEY not in error
    assert block.last_summary is not None and API_KEY not in " ".join(block.last_summary.errors)
    assert API_KEY not in caplog.text and "failed" in caplog.text
    with pytest.raises(BlockConfigError) as info:
        AgentBlock(block_name="k", agent_api_key=12345678, input_cols=["q"])  # type: ignore[arg-type]
    assert "12345678" not in str(info.value) and "agent_api_key" in str(info.value)


class CountingLangflow(LangflowConnector):
    """A real Langflow connector that counts how often it was closed."""

    closes: int = 0

    def close(self) -> None:
        type(self).closes += 1
        super().close()


def test_connector_is_cached_and_rebuilt_when_config_changes(
    srv: FaultServer, restore_registry: None
) -> None:
    ConnectorRegistry.register("counting_langflow")(CountingLangflow)
    CountingLangflow.closes = 0
    block = make_block(srv, agent_framework="counting_langflow")
    df = pd.DataFrame({"question": ["a"]})
    block.generate(df)
    first = block._get_connector()
    block.generate(df)
    assert block._get_connector() is first and CountingLangflow.closes == 0
    block.agent_url = f"{srv.url}/api/v1/run/other"
    block.generate(df)
    second = block._get_connector()
    assert second is not first and CountingLangflow.closes == 1
    assert srv.requests[-1].path == "/api/v1/run/other"
    block.agent_api_key = "another-key-123"
    assert block._get_connector() is not second and CountingLangflow.closes == 2
    block.close()
    block.close()
    assert CountingLangflow.closes == 3


def test_connector_kwargs_reach_the_connector(srv: FaultServer) -> None:
    def langgraph(request: ReceivedRequest) -> Reply:
        if request.path == "/threads":
            return json_reply({"thread_id": "t-1"})
        body = request.json()
        question = body["input"]["messages"][-1]["content"]
        return json_reply({"messages": [{"type": "human", "content": question},
                                        {"type": "ai", "content": f"{body['assistant_id']}: {question}"}]})

    srv.set_default(langgraph)
    block = make_block(srv, agent_framework="langgraph", agent_url=srv.url,
                       connector_kwargs={"assistant_id": "my-agent"})
    out = block.generate(pd.DataFrame({"question": ["hi"]}))
    assert out["response"][0]["messages"][-1]["content"] == "my-agent: hi"
    with pytest.raises(BlockConfigError, match=r"unknown connector_kwargs \['assistant'\]"):
        make_block(srv, agent_framework="langgraph", connector_kwargs={"assistant": "x"}).generate(
            pd.DataFrame({"question": ["hi"]}))
    with pytest.raises(BlockConfigError, match="assistant_id"):
        make_block(srv, agent_framework="langgraph", connector_kwargs={"assistant_id": " "}).generate(
            pd.DataFrame({"question": ["hi"]}))


def test_rows_run_concurrently_up_to_max_concurrency(srv: FaultServer) -> None:
    # Each request is held by the server until 8 are in flight at once (bounded by a timeout,
    # after which it answers anyway): the peak the server saw is what the block sent.
    lock, full = threading.Lock(), threading.Event()
    counts = {"in_flight": 0, "peak": 0}

    def held(request: ReceivedRequest) -> Reply:
        with lock:
            counts["in_flight"] += 1
            counts["peak"] = max(counts["peak"], counts["in_flight"])
            if counts["in_flight"] >= 8:
                full.set()
        full.wait(timeout=5)
        with lock:
            counts["in_flight"] -= 1
        return json_reply(RESPONSE)

    srv.set_default(held)
    df = pd.DataFrame({"question": [f"q{i}" for i in range(16)]})
    out = make_block(srv, max_concurrency=8).generate(df)
    assert out["response_error"].isna().all()
    assert full.is_set() and counts["peak"] == 8  # reached the cap, never beyond it


def test_generate_works_inside_a_running_event_loop(srv: FaultServer) -> None:
    block = make_block(srv)

    async def inside() -> pd.DataFrame:
        return block.generate(pd.DataFrame({"question": ["loop"]}))

    out = asyncio.run(inside())
    assert texts(out) == ["echo: loop"]


def test_async_mode_is_accepted_for_sdg_hub_yaml(srv: FaultServer) -> None:
    block = make_block(srv, async_mode=True)
    assert texts(block(pd.DataFrame({"question": ["x"]}))) == ["echo: x"]


def test_duplicate_and_multiindex_input_columns_are_made_safe(srv: FaultServer) -> None:
    df = pd.DataFrame([["a", 1, 2]], columns=["question", "n", "n"])
    out = make_block(srv).generate(df)
    assert list(out.columns) == ["question", "n", "n_2", "response", "response_error"]
    pa.Table.from_pandas(out)


class FakeTTY:
    """A writable stream that says it is a terminal."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = FakeTTY()
    monkeypatch.setenv("CI", "true")
    assert not progress_enabled(tty)  # type: ignore[arg-type]
    monkeypatch.delenv("CI")
    assert progress_enabled(tty)  # type: ignore[arg-type]
    assert not progress_enabled(tty, requested=False)  # type: ignore[arg-type]
    monkeypatch.setenv("CI", "0")
    assert progress_enabled(tty)  # type: ignore[arg-type]
    import io

    assert not progress_enabled(io.StringIO())  # piped / captured: silent
    with progress_bar(3, "demo", stream=tty) as advance:  # type: ignore[arg-type]
        for _ in range(3):
            advance()
    assert tty.parts  # something was drawn
    quiet = io.StringIO()
    with progress_bar(3, "demo", stream=quiet) as advance:
        advance()
    assert quiet.getvalue() == ""


def test_a_block_draws_its_bar_on_a_terminal(srv: FaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    tty = FakeTTY()
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys, "stderr", tty)
    out = make_block(srv, show_progress=None).generate(pd.DataFrame({"question": ["a", "b", "c"]}))
    assert out["response_error"].isna().all()
    assert any("qa" in part for part in tty.parts)
    tty.parts.clear()
    make_block(srv, show_progress=False).generate(pd.DataFrame({"question": ["a"]}))
    assert tty.parts == []


def test_duplicate_index_labels_are_kept(srv: FaultServer) -> None:
    df = pd.DataFrame({"question": ["a", "b", "c"]}, index=[0, 0, 1])
    out = make_block(srv).generate(df)
    assert list(out.index) == [0, 0, 1] and texts(out) == ["echo: a", "echo: b", "echo: c"]


@pytest.mark.parametrize("arrow_safe", [False, True])
@pytest.mark.parametrize("encode", [
    str, lambda key: base64.b64encode(f"user:{key}".encode()).decode(),
    lambda key: key.encode().hex()], ids=["as-written", "base64", "hex"])
def test_a_key_echoed_by_the_server_is_masked_in_the_output(
    srv: FaultServer, arrow_safe: bool, encode: Callable[[str], str]
) -> None:
    # masked as each row finishes (the output column is then not redacted again at the end),
    # in every form the kit masks elsewhere: a server may reflect an Authorization header
    echo = copy.deepcopy(RESPONSE)
    echoed = encode(API_KEY)
    echo["outputs"][0]["outputs"][0]["results"]["message"]["text"] = f"your key is {echoed}"
    srv.set_default(lambda r: json_reply(echo))
    out = make_block(srv, arrow_safe=arrow_safe).generate(pd.DataFrame({"question": ["leak?", "again"]}))
    cells = [cell if isinstance(cell, str) else json.dumps(cell) for cell in out["response"]]
    assert all(echoed not in cell and "your key is " in cell and "***" in cell for cell in cells)
    assert out["response_error"].isna().all()


class DeepLangflow(LangflowConnector):
    """A real Langflow connector whose parsed answer nests the key deeper than Python recurses:
    what a custom connector may hand the block (a JSON body that deep is refused earlier)."""

    def parse_response(self, response: dict[str, Any]) -> dict[str, Any]:
        deep: Any = [API_KEY]
        for _ in range(sys.getrecursionlimit() + 100):
            deep = [deep]
        return {**super().parse_response(response), "deep": deep}


def test_an_answer_too_deep_to_check_for_secrets_is_a_row_error(
    srv: FaultServer, restore_registry: None
) -> None:
    ConnectorRegistry.register("deep_langflow")(DeepLangflow)
    out = make_block(srv, agent_framework="deep_langflow").generate(
        pd.DataFrame({"question": ["deep"]}))
    assert out["response"][0] is None  # not kept: the key may be in it
    error = out["response_error"][0]
    assert "nested too deeply to be checked for secrets" in error and API_KEY not in error


def test_a_single_message_dict_is_wrapped_in_a_list(srv: FaultServer) -> None:
    df = pd.DataFrame({"question": pd.Series([{"role": "user", "content": "one dict"}, "text",
                                              [{"role": "user", "content": "a list"}]], dtype=object)})
    out = make_block(srv).generate(df)
    assert texts(out) == ["echo: one dict", "echo: text", "echo: a list"]
    assert out["response_error"].tolist() == [None, None, None]


def test_list_form_input_cols_take_the_first_column_as_messages(srv: FaultServer) -> None:
    block = make_block(srv, input_cols=["question", "context"])
    assert block.messages_col == "question"
    out = block.generate(pd.DataFrame({"question": ["hi"], "context": ["ignored"]}))
    assert texts(out) == ["echo: hi"]
