"""The wider framework APIs against the real servers: streams, sessions, interrupts, joins, tweaks.

Run with ``CONNECTOR_KIT_LIVE=langgraph`` (or ``langflow``, ``all``); skipped otherwise.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from connector_kit.connectors import (
    AgentInterruptedError,
    AgentRunError,
    ConnectorConfig,
    LangflowConnector,
    LangGraphConnector,
)
from connector_kit.testkit.rig import RigHandle

pytestmark = pytest.mark.live


def session() -> str:
    return f"live-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_graph(langgraph_rig: RigHandle) -> Iterator[Any]:
    made: list[LangGraphConnector] = []

    def make(config: dict[str, Any] | None = None, **options: Any) -> LangGraphConnector:
        connector = LangGraphConnector(config=ConnectorConfig(
            url=langgraph_rig.url, api_key=langgraph_rig.api_key, **(config or {})), **options)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


@pytest.mark.parametrize("mode", ["values", "updates", "messages-tuple", "events", "messages",
                                  "debug"])
def test_langgraph_streams_in_each_mode(make_graph: Any, mode: str) -> None:
    connector = make_graph(stream_mode=mode)
    with connector.stream("what is 2+3?", session()) as events:
        names = [event.event for event in events]
    assert names[0] == "metadata" and len(names) > 2
    assert events.text == "The answer to 2+3 is 5."
    assert events.tool_trace and events.tool_trace[0]["type"] == "tool_use"
    assert events.first_event_after is not None


def test_langgraph_astream_and_a_graph_error(make_graph: Any) -> None:
    connector = make_graph(stream_mode="updates")

    async def main() -> str | None:
        try:
            async with connector.astream("hello", session()) as events:
                async for _ in events:
                    pass
            return events.text
        finally:
            await connector.aclose()

    assert asyncio.run(main()) == "You said: hello"
    with pytest.raises(AgentRunError, match="exploded"), make_graph().stream(
            "please explode", session()) as events:
        for _ in events:
            pass


def test_langgraph_session_keeps_one_thread(make_graph: Any) -> None:
    name = session()
    first = make_graph(keep_thread=True)
    first.send("hi", name)
    assert first.extract_text(first.send("again", name)) == "You said: again (turn 2)"
    later = make_graph(keep_thread=True)  # a new connector finds the thread by its metadata
    assert later.extract_text(later.send("third", name)) == "You said: third (turn 3)"
    plain = make_graph()
    assert plain.extract_text(plain.send("again", name)) == "You said: again"


def test_langgraph_interrupt_then_resume(make_graph: Any) -> None:
    connector = make_graph()
    with pytest.raises(AgentInterruptedError) as caught:
        connector.send("this needs approval", session())
    assert caught.value.thread_id and caught.value.interrupts
    result = connector.resume(caught.value.thread_id, "yes")
    assert connector.extract_text(result) == "approved=yes"


@pytest.mark.parametrize("pause", [{"interrupt_before": ["tools"]}, {"interrupt_after": ["agent"]}])
def test_langgraph_static_breakpoint_pauses_then_resumes(make_graph: Any,
                                                         pause: dict[str, Any]) -> None:
    # runs/wait answers 200 with the state so far: without the state check this "succeeds"
    # with the tool-calling AI message's empty text
    connector = make_graph(**pause)
    with pytest.raises(AgentInterruptedError, match="breakpoint") as caught:
        connector.send("what is 2+3?", session())
    paused = caught.value
    assert paused.thread_id and paused.next_nodes == ["tools"] and paused.interrupts == []
    assert paused.values and paused.values["messages"][-1]["tool_calls"]
    assert connector.extract_text(connector.resume(paused.thread_id)) == "The answer to 2+3 is 5."


@pytest.mark.parametrize("mode", ["values", "updates"])
def test_langgraph_static_breakpoint_in_a_stream_and_async(make_graph: Any, mode: str) -> None:
    connector = make_graph(interrupt_before=["tools"], stream_mode=mode)
    with pytest.raises(AgentInterruptedError) as caught, connector.stream(
            "what is 2+3?", session()) as events:
        for _ in events:
            pass
    assert caught.value.next_nodes == ["tools"]

    async def main(thread_id: str) -> str | None:
        try:
            return connector.extract_text(await connector.aresume(thread_id))
        finally:
            await connector.aclose()

    assert asyncio.run(main(str(caught.value.thread_id))) == "The answer to 2+3 is 5."


def _urls(connector: LangGraphConnector) -> list[str]:
    seen: list[str] = []
    connector._get_http_client().observers.append(lambda stats: seen.append(stats.url))
    return seen


def test_langgraph_plain_run_makes_no_state_call(make_graph: Any) -> None:
    plain = make_graph()
    plain_urls = _urls(plain)
    assert plain.extract_text(plain.send("what is 2+3?", session())) == "The answer to 2+3 is 5."
    assert len(plain_urls) == 2 and not any(u.endswith("/state") for u in plain_urls)
    checked = make_graph(check_pauses=True)  # opt-in: a graph compiled with breakpoints
    checked_urls = _urls(checked)
    assert checked.extract_text(checked.send("hello", session())) == "You said: hello"
    assert len(checked_urls) == 3 and checked_urls[-1].endswith("/state")


def test_langgraph_run_joined_after_a_read_timeout_runs_once(make_graph: Any,
                                                             langgraph_rig: RigHandle) -> None:
    # each attempt times out at 1.2 s; the call's overall deadline leaves room to join the run
    connector = make_graph({"timeout": 1.2, "deadline": 10, "max_retries": 3}, keep_thread=True)
    name = session()
    result = connector.send("do it slowly", name)
    assert connector.extract_text(result) == "You said: do it slowly"
    # one run on the thread: the second turn counts exactly one earlier human message
    assert connector.extract_text(connector.send("next", name)) == "You said: next (turn 2)"


def test_langgraph_stateless_and_strategy(make_graph: Any) -> None:
    stateless = make_graph(stateless=True)
    assert stateless.extract_text(stateless.send("hello", session())) == "You said: hello"
    strict = make_graph(multitask_strategy="reject", keep_thread=True)
    assert strict.extract_text(strict.send("hello", session())) == "You said: hello"


@pytest.fixture
def make_flow(langflow_rig: RigHandle) -> Iterator[Any]:
    made: list[LangflowConnector] = []

    def make(flow: str = "agent", **options: Any) -> LangflowConnector:
        flow_id = langflow_rig.extra["flows"][flow]["id"]
        connector = LangflowConnector(config=ConnectorConfig(
            url=f"{langflow_rig.url}/api/v1/run/{flow_id}", api_key=langflow_rig.api_key,
            timeout=60), **options)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


def test_langflow_stream_tweaks_and_two_turns(make_flow: Any) -> None:
    connector = make_flow()
    with connector.stream("what is 2+3?", session()) as events:
        names = [event.event for event in events]
    assert names[-1] == "end" and "token" in names
    assert events.text == 'The answer is 5. (tool said: {"result": "5"})'
    assert events.tool_trace
    tweaked = make_flow(tweaks={"Agent-bbbb2": {"system_prompt": "Be brief. Sign as CK."}})
    assert tweaked.extract_text(tweaked.send("hello", session())) == "You said: hello -- signed CK"
    name = session()
    connector.send("hi", name)
    assert connector.extract_text(connector.send("again", name)) == "You said: again (turn 2)"
    with pytest.raises(AgentRunError), make_flow("agent_llm_down").stream(
            "what is 2+3?", session()) as broken:
        for _ in broken:
            pass
