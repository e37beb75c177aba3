"""One deadline per call, against a raw-socket server that would otherwise keep the call alive.

Each scripted server answers *successfully* if the client is patient enough: trickled
headers, a run of ``103 Early Hints``, two LangGraph steps that are each shorter than the
timeout. A client that gives each phase or each HTTP call its own timeout therefore
succeeds (slowly); one that holds the call to a single budget raises ConnectorTimeoutError
naming that budget. Only types, messages and request counts are asserted, never durations
(the timeout benchmark measures how close to the budget the calls return).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import tenacity

from connector_kit.connectors import (
    ConnectorConfig,
    ConnectorTimeoutError,
    FakeClock,
    HttpClient,
    LangflowConnector,
    LangGraphConnector,
    RetryPolicy,
)
from connector_kit.connectors.http.deadline import current_deadline
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply

USER = [{"role": "user", "content": "hi"}]
LANGFLOW_OK = b'{"session_id": "s", "outputs": []}'


def _send(connector: Any, mode: str) -> Any:
    if mode == "sync":
        return connector.send(USER, "s")

    async def go() -> Any:
        try:
            return await connector.asend(USER, "s")
        finally:
            await connector.aclose()

    return asyncio.run(go())


def _langflow(server: FaultServer, **config: Any) -> LangflowConnector:
    return LangflowConnector(config=ConnectorConfig(url=server.url + "/api/v1/run/f", **config))


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_trickled_headers_end_at_the_budget(mode: str) -> None:
    # ~60 header bytes at 0.1 s each: 6 s to a complete (valid) answer, each byte well inside
    # the 0.5 s read timeout.
    reply = Reply(200, LANGFLOW_OK, trickle_head=0.1)
    with FaultServer(default=lambda request: reply) as server:
        connector = _langflow(server, timeout=0.5, max_retries=0)
        with pytest.raises(ConnectorTimeoutError, match=r"within the 0\.5 s budget"):
            _send(connector, mode)
        connector.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_run_of_early_hints_ends_at_the_budget(mode: str) -> None:
    # 60 x "103 Early Hints" 50 ms apart, then the answer: 3 s of 1xx, each arriving in 50 ms.
    reply = Reply(200, LANGFLOW_OK, early_hints=60, early_hints_every=0.05)
    with FaultServer(default=lambda request: reply) as server:
        connector = _langflow(server, timeout=0.5, max_retries=2)
        client = connector._get_http_client()
        with pytest.raises(ConnectorTimeoutError, match="budget"):
            _send(connector, mode)
        stats = client.last_stats
        assert stats is not None and stats.attempts == 1  # no retry once the budget is spent
        connector.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_few_early_hints_within_the_budget_are_skipped(mode: str) -> None:
    reply = Reply(200, LANGFLOW_OK, early_hints=3, early_hints_every=0.0)
    with FaultServer(default=lambda request: reply) as server:
        connector = _langflow(server, timeout=5, max_retries=0)
        assert _send(connector, mode)["session_id"] == "s"
        connector.close()


def _two_slow_steps(request: ReceivedRequest) -> Reply:
    if request.path == "/threads":
        return json_reply({"thread_id": "t-1"}, delay=0.4)
    return json_reply({"messages": [{"type": "ai", "content": "done"}]}, delay=0.4)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_langgraph_steps_share_one_budget(mode: str) -> None:
    # Each step (0.4 s) fits the 0.6 s timeout; together they do not.
    with FaultServer(default=_two_slow_steps) as server:
        connector = LangGraphConnector(config=ConnectorConfig(url=server.url, timeout=0.6,
                                                              max_retries=0))
        with pytest.raises(ConnectorTimeoutError, match=r"0\.6 s budget"):
            _send(connector, mode)
        # the lost runs/wait spent the call's budget: no recovery request goes beyond it
        assert [r.path for r in server.requests] == ["/threads", "/threads/t-1/runs/wait"]
        connector.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_langgraph_steps_within_the_budget_succeed(mode: str) -> None:
    with FaultServer(default=_two_slow_steps) as server:
        connector = LangGraphConnector(config=ConnectorConfig(url=server.url, timeout=5,
                                                              max_retries=0))
        result = _send(connector, mode)
        assert LangGraphConnector.extract_text(result) == "done"
        connector.close()


def test_a_budget_scope_is_shared_and_nested_scopes_never_extend_it() -> None:
    clock = FakeClock()
    client = HttpClient(timeout=10, clock=clock)
    with client.budget() as outer:
        clock.advance(4)
        with HttpClient(timeout=30, clock=clock).budget() as inner:
            assert inner is outer  # the caller has 6 s left: the inner call gets those
            assert current_deadline() is outer
        with HttpClient(timeout=2, clock=clock).budget() as tighter:
            assert tighter is not outer and tighter.remaining() == 2
            assert current_deadline() is tighter
        assert current_deadline() is outer
    assert current_deadline() is None


def test_the_budget_follows_async_tasks_separately() -> None:
    clock = FakeClock()
    client = HttpClient(timeout=10, clock=clock)
    seen: list[float] = []

    async def call(advance: float) -> None:
        with client.budget() as deadline:
            clock.advance(advance)
            await asyncio.sleep(0)
            seen.append(round(deadline.remaining(), 6))

    async def main() -> None:
        await asyncio.gather(call(1), call(2))

    asyncio.run(main())
    assert sorted(seen) == [7.0, 8.0]  # each task its own deadline, on one shared clock


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_tenacity_drives_the_attempts(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The engine is tenacity's: count its Retrying/AsyncRetrying constructions.
    made: list[str] = []
    for name in ("Retrying", "AsyncRetrying"):
        original: Callable[..., Any] = getattr(tenacity, name)

        def spy(*args: Any, _original: Callable[..., Any] = original, _name: str = name,
                **kwargs: Any) -> Any:
            made.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(tenacity, name, spy)
    clock = FakeClock()
    with FaultServer() as server:
        server.script(Reply(503, b"busy"), Reply(503, b"busy"), json_reply({"ok": True}))
        client = HttpClient(timeout=30, policy=RetryPolicy(max_retries=3, jitter=0.0,
                                                           backoff_initial=0.25), clock=clock)
        if mode == "sync":
            assert client.post_sync(server.url, {}) == {"ok": True}
        else:
            async def go() -> Any:
                try:
                    return await client.post(server.url, {})
                finally:
                    await client.aclose()

            assert asyncio.run(go()) == {"ok": True}
        client.close()
    assert made == ["Retrying" if mode == "sync" else "AsyncRetrying"]
    assert clock.sleeps == [0.25, 0.5]
    assert client.last_stats is not None
    assert client.last_stats.attempts == 3 and client.last_stats.statuses == [503, 503, 200]
    assert client.last_stats.waits == [0.25, 0.5]


def test_retry_after_beyond_the_deadline_gives_up_saying_so() -> None:
    clock = FakeClock()
    with FaultServer() as server:
        server.script(Reply(503, b"busy", {"Retry-After": "20"}), json_reply({"ok": True}))
        client = HttpClient(timeout=10, policy=RetryPolicy(max_retries=3), clock=clock)
        with pytest.raises(Exception, match=r"next retry would pass the call's 10 s deadline"):
            client.post_sync(server.url, {})
        client.close()
    assert clock.sleeps == []
