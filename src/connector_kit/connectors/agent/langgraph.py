"""LangGraphConnector: create a thread, then run the assistant on it and wait."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from pydantic import Field, field_validator

from .._secrets import redact
from ..exceptions import AgentRunError, ConnectorResponseError
from ..operations import OperationCatalogue
from ..registry import ConnectorRegistry
from ._json import dicts_only, scalar_text, text_of
from .base import BaseAgentConnector, Exchange, HttpCall
from .langgraph_ops import LANGGRAPH_OPERATIONS

logger = logging.getLogger("connector_kit.langgraph")

_AI = ("ai", "assistant")


@ConnectorRegistry.register("langgraph")
class LangGraphConnector(BaseAgentConnector):
    """Connector for a LangGraph API server (``config.url`` is the server's base URL)."""

    assistant_id: str = Field(default="agent", description="Assistant ID or graph name to run.")
    run_config: dict[str, Any] = Field(
        default_factory=dict, description="Passed as the run's `config` (e.g. configurable)."
    )

    health_path = "/ok"
    #: Every endpoint as a typed operation: ``execute("runs", "wait", params={...})``.
    operations: ClassVar[OperationCatalogue | None] = LANGGRAPH_OPERATIONS

    @field_validator("assistant_id")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value or not value.strip():
            raise ValueError("assistant_id must be a non-empty string")
        return value

    def _build_headers(self) -> dict[str, str]:
        """LangGraph deployments authenticate with ``x-api-key``."""
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["x-api-key"] = self.config.api_key
        return headers

    def health_url(self) -> str:
        return self._base_url() + "/ok"

    def _base_url(self) -> str:
        return self._require_url().rstrip("/")

    def build_request(self, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
        """The run payload; ``config`` only when ``run_config`` is non-empty."""
        payload: dict[str, Any] = {
            "assistant_id": self.assistant_id,
            "input": {"messages": messages},
        }
        if self.run_config:
            payload["config"] = self.run_config
        return payload

    def _exchange(self, messages: list[dict[str, Any]], session_id: str) -> Exchange:
        """Two steps: POST /threads (session_id as metadata), then POST .../runs/wait."""
        base = self._base_url()
        headers = self._build_headers()
        payload = self.build_request(messages, session_id)
        thread = yield HttpCall("POST", f"{base}/threads", {"metadata": {"session_id": session_id}},
                                headers)
        thread_id = scalar_text(thread.get("thread_id")) if isinstance(thread, dict) else None
        if not thread_id:
            raise ConnectorResponseError(
                f"LangGraph created no thread: the answer of POST "
                f"{self._get_http_client().safe_url(base + '/threads')} has no "
                "'thread_id'. Check that the URL is the LangGraph server's base URL."
            )
        response = yield HttpCall("POST", f"{base}/threads/{thread_id}/runs/wait", payload, headers)
        return self.parse_response(response)

    def parse_response(self, response: dict[str, Any]) -> dict[str, Any]:
        """A non-empty dict; a run error reported as ``__error__`` (HTTP 200) is raised."""
        if not isinstance(response, dict) or not response:
            raise ConnectorResponseError(
                "LangGraph returned an empty or non-object run result "
                f"({type(response).__name__}); expected the thread state with 'messages'."
            )
        if "__error__" in response:
            error = response["__error__"]
            kind = scalar_text(error.get("error")) if isinstance(error, dict) else None
            detail = error.get("message") if isinstance(error, dict) else error
            detail = redact(text_of(detail), self.config.secret_values())
            raise AgentRunError(
                f"The LangGraph run failed inside the graph: {kind or 'error'}: {detail}. "
                "The server answered HTTP 200, but the graph raised; check the graph's logs.",
                error_type=kind,
            )
        if "messages" not in response:
            logger.warning("LangGraph response has no 'messages' key; keys: %s",
                           sorted(map(str, response))[:10])
        return response

    @classmethod
    def extract_text(cls, response: dict[str, Any]) -> str | None:
        """Content of the last message whose type or role is ai/assistant."""
        messages = response.get("messages") if isinstance(response, dict) else None
        for message in reversed(dicts_only(messages) if isinstance(messages, list) else []):
            if message.get("type") in _AI or message.get("role") in _AI:
                return text_of(message.get("content"))
        return None

    @classmethod
    def extract_session_id(cls, response: dict[str, Any]) -> str | None:
        """LangGraph run results carry no session id: always None."""
        return None

    @classmethod
    def extract_tool_trace(cls, response: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Tool calls of AI messages and the tool results, in order."""
        messages = response.get("messages") if isinstance(response, dict) else None
        if not isinstance(messages, list):
            return None
        trace: list[dict[str, Any]] = []
        for message in dicts_only(messages):
            kind = message.get("type") or message.get("role")
            if kind in _AI:
                calls = dicts_only(message.get("tool_calls"))
                if calls:
                    trace.append({"type": "tool_use", "tool_calls": calls})
            elif kind == "tool":
                entry: dict[str, Any] = {
                    "type": "tool_result",
                    "name": scalar_text(message.get("name")),
                    "content": text_of(message.get("content")),
                    "tool_call_id": scalar_text(message.get("tool_call_id")),
                }
                if isinstance(message.get("status"), str):
                    entry["status"] = message["status"]
                trace.append(entry)
        return trace
