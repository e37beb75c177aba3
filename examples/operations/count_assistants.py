"""A contributor's operation: LangGraph plus ``assistants.count`` (docs/contributing-a-connector.md).

``tests/test_operation_suite.py`` certifies this very class, and the live test records its
scenario (``examples/operations/cassettes``) and replays it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from connector_kit.connectors import (
    LangGraphConnector,
    OpCall,
    OperationContext,
    OperationParams,
    OpOutput,
)


class CountParams(OperationParams):
    """The parameters of assistants.count: typed, described, validated before any request."""

    graph_id: str = Field(default="agent", min_length=1, description="Which graph's assistants to count.")


class CountingLangGraph(LangGraphConnector):
    """LangGraph's operations, plus one of our own."""


@CountingLangGraph.operation("assistants", "count", readonly=True)
def count_assistants(ctx: OperationContext, params: CountParams) -> Any:
    """Count the assistants of one graph.

    Next: assistants.search(graph_id=...) lists them; runs.wait(assistant_id=<graph_id>, ...)
    runs one.
    """
    found = yield OpCall("POST", "/assistants/search", {"graph_id": params.graph_id, "limit": 1000},
                         expect="json")
    return OpOutput({"count": len(found)}, {"graph_id": params.graph_id})
