"""The executor reference's examples (../shared/spec/executor-reference.md), with our names.

Each block mirrors one example of the reference: an ExecutionConfig, the shorthand form,
the three ExecutionResult examples, check(), check_entities(), execute_batch and the
executor error tree. They run against a real scripted loopback server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connector_kit.connectors import (
    ActionNotSupportedError,
    ConnectorConfig,
    ConnectorKitError,
    EntityNotFoundError,
    ExecutionConfig,
    ExecutionResult,
    ExecutorError,
    ExecutorProtocol,
    InvalidParameterError,
    LangGraphConnector,
    MissingParameterError,
)
from connector_kit.connectors.llm import operations_document
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply

THREADS = [{"thread_id": "00000000-0000-4000-8000-000000000001"},
           {"thread_id": "00000000-0000-4000-8000-000000000002"}]


def answer(request: ReceivedRequest) -> Reply:
    if request.path == "/threads/search":
        return json_reply(THREADS[: request.json()["limit"]])
    if request.path == "/info":
        return json_reply({"version": "0.16.7"})
    return json_reply({"ok": True})


@pytest.fixture
def executor(server: FaultServer, closing: Callable[[Any], Any]) -> LangGraphConnector:
    server.reset(answer)
    return closing(LangGraphConnector(config=ConnectorConfig(url=server.url, max_retries=0)))


def test_execution_config_and_the_shorthand(executor: LangGraphConnector) -> None:
    # config = ExecutionConfig(entity="customers", action="list", params={"limit": 10})
    config = ExecutionConfig(entity="threads", action="search", params={"limit": 10})
    result = executor.execute(config)
    assert result.success, result.error
    assert result.data == THREADS
    # result = await executor.execute("customers", "list", params={"limit": 10})
    shorthand = asyncio.run(executor.aexecute("threads", "search", params={"limit": 1}))
    assert shorthand.success and shorthand.data == THREADS[:1]
    assert shorthand.meta is not None and shorthand.meta["pagination"]["next_offset"] == 1


def test_run_connector_with_the_protocol(executor: LangGraphConnector) -> None:
    # def run_connector(executor: ExecutorProtocol, config: ExecutionConfig): ...
    def run_connector(executor: ExecutorProtocol, config: ExecutionConfig) -> str:
        result = executor.execute(config)
        return f"Success: {result.data}" if result.success else f"Error: {result.error}"

    assert isinstance(executor, ExecutorProtocol)
    assert run_connector(executor, ExecutionConfig("health", "check")).startswith("Success: {'ok': True")
    assert run_connector(executor, ExecutionConfig("invalid", "list")).startswith(
        "Error: EntityNotFoundError: Entity 'invalid' not found")


def test_the_three_result_examples() -> None:
    success = ExecutionResult(success=True, data=[{"id": "1"}, {"id": "2"}], error=None,
                              meta={"pagination": {"cursor": "next123", "totalRecords": 100}})
    assert success.success and success.meta == {"pagination": {"cursor": "next123", "totalRecords": 100}}

    async def chunks() -> Any:
        yield b"part"

    download = ExecutionResult(success=True, data=chunks(), error=None)
    assert download.error is None
    failure = ExecutionResult(success=False, data={}, error="Entity 'invalid' not found", meta=None)
    assert not failure.success and failure.raise_for_error() is failure  # no exception attached


def test_check_and_check_entities(executor: LangGraphConnector) -> None:
    health = executor.check()
    assert health.data == {"status": "healthy", "error": None, "checked_entity": "health",
                           "checked_action": "check"}
    entities = executor.check_entities(["threads", "assistants"])
    assert entities.data["threads"]["status"] == "healthy"
    assert entities.data["threads"]["checked_action"] == "search"


def test_execute_batch_in_order(executor: LangGraphConnector) -> None:
    # results = await executor.execute_batch([("Customer", "list", {"limit": 10}), ...])
    items = executor.execute_batch([("threads", "search", {"limit": 2}), ("threads", "search", {"limit": 1})])
    assert [item.value.data for item in items] == [THREADS, THREADS[:1]]


def test_the_executor_error_tree() -> None:
    for error in (ActionNotSupportedError, EntityNotFoundError, InvalidParameterError,
                  MissingParameterError):
        assert issubclass(error, ExecutorError) and issubclass(error, ConnectorKitError)
    from connector_kit.connectors import ConnectorError

    assert not issubclass(ExecutorError, ConnectorError)  # kept apart from infrastructure failures


def test_docs_operations_md_is_current() -> None:
    committed = Path(__file__).resolve().parents[1] / "docs" / "operations.md"
    assert committed.read_text(encoding="utf-8") == operations_document(), (
        "docs/operations.md is stale: run `connector-kit operations --write docs/operations.md`")
