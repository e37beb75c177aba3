"""LangflowConnector: one POST to ``/api/v1/run/<flow>`` with the last user message.

Multi-turn: Langflow keeps a session's history on the server, so each turn sends only its
new user message with the same ``session_id``. ``tweaks`` override component fields per
call. A run is never re-sent once it may have reached the server (each costs LLM calls)
unless ``resend_on_failure=True``; failures that prove it was not processed (connection
refused, 429, 503) are still retried. ``stream()`` reads ``?stream=true`` NDJSON events
(``add_message``, ``token``, ``log``, ..., ``end`` carrying the full result).
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, field_validator

from .._secrets import redact
from ..exceptions import (
    AgentRunError,
    ConnectorRequestError,
    ConnectorResponseError,
    ConnectorStreamError,
)
from ..operations import OperationCatalogue
from ..registry import ConnectorRegistry
from ._frames import StreamEvent
from ._json import dicts_only, dig, scalar_text, text_of
from ._streams import StreamCall, StreamExchange
from .base import BaseAgentConnector
from .langflow_ops import LANGFLOW_OPERATIONS

_MESSAGE = ("outputs", 0, "outputs", 0, "results", "message")
#: Events a Langflow 1.x run stream sends; anything else means the protocol changed.
STREAM_EVENTS = frozenset({"add_message", "token", "log", "end", "error", "end_vertex",
                           "build_start", "build_end", "vertices_sorted", "remove_message",
                           "message", "output", "on_end"})


@ConnectorRegistry.register("langflow")
class LangflowConnector(BaseAgentConnector):
    """Connector for Langflow flows (``config.url`` is the flow's run URL)."""

    tweaks: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per-call component overrides: {component_id: {field: value}}.")

    health_path = "/health"
    #: Every endpoint as a typed operation: ``execute("flows", "run", params={...})``.
    operations: ClassVar[OperationCatalogue | None] = LANGFLOW_OPERATIONS

    @field_validator("tweaks")
    @classmethod
    def _valid_tweaks(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for component, fields in value.items():
            if not component.strip():
                raise ValueError("tweaks keys must be component ids such as 'Agent-xxxx'")
            if not fields:
                raise ValueError(f"tweaks['{component}'] is empty: give {{field: value}} pairs")
            if component.startswith("ChatInput") and "input_value" in fields:
                raise ValueError(
                    f"tweaks['{component}'] sets input_value, which the message itself sets "
                    "(Langflow answers 400 to both); send the text as the message instead")
        return value

    def _build_headers(self) -> dict[str, str]:
        """Langflow authenticates with ``x-api-key``, not a Bearer token."""
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["x-api-key"] = self.config.api_key
        return headers

    def build_request(self, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
        """Langflow takes one string: the content of the last user message (plus tweaks)."""
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                payload: dict[str, Any] = {
                    "output_type": "chat",
                    "input_type": "chat",
                    "input_value": text_of(message.get("content")),
                    "session_id": session_id,
                }
                if self.tweaks:
                    payload["tweaks"] = self.tweaks
                return payload
        raise ConnectorRequestError(
            f"Langflow needs a user message to send, but none of the {len(messages)} message(s) "
            "has role 'user'."
        )

    def parse_response(self, response: dict[str, Any]) -> dict[str, Any]:
        """Return the response unchanged once it is known to be a JSON object."""
        if not isinstance(response, dict):
            raise ConnectorResponseError(
                f"Expected a JSON object from Langflow, got {type(response).__name__}."
            )
        return response

    # -- streaming -----------------------------------------------------------------------
    def _stream_exchange(self, messages: list[dict[str, Any]], session_id: str) -> StreamExchange:
        payload = self.build_request(messages, session_id)
        parts = urlsplit(self._require_url())
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "stream"] + [("stream", "true")]
        url = urlunsplit(parts._replace(query=urlencode(query)))
        return StreamCall(url, payload, self._build_headers(), "ndjson")
        yield  # pragma: no cover - a stream exchange is a generator

    def _check_event(self, event: StreamEvent, call: StreamCall) -> None:
        safe = self._get_http_client().safe_url(call.url)
        if event.event == "error":
            data = event.data if isinstance(event.data, dict) else {"error": event.data}
            detail = text_of(data.get("error") or data.get("text") or data.get("message") or data)
            raise AgentRunError(
                f"The Langflow run failed while streaming: "
                f"{redact(detail or 'error', self.config.secret_values())[:500]}. Check the "
                "flow's components (the LLM, its key) in the Langflow logs.", url=safe)
        if event.event not in STREAM_EVENTS:
            raise ConnectorStreamError(
                f"The Langflow stream from '{safe}' sent an unknown event '{event.event}'; the "
                "server and the connector disagree on the protocol.", url=safe)

    def _finish_stream(self, events: list[StreamEvent], call: StreamCall) -> dict[str, Any]:
        end = next((e for e in reversed(events) if e.event == "end"), None)
        result = dig(end.data, "result") if end is not None else None
        if not isinstance(result, dict):
            raise ConnectorStreamError(
                f"The Langflow stream from '{self._get_http_client().safe_url(call.url)}' "
                + ("ended without its 'end' event" if end is None else
                   "sent an 'end' event without a 'result' object")
                + f" (after {len(events)} events): the answer is incomplete.")
        return self.parse_response(result)

    # -- extraction ----------------------------------------------------------------------
    @classmethod
    def extract_text(cls, response: dict[str, Any]) -> str | None:
        """``outputs[0].outputs[0].results.message.text`` ("" when explicitly null)."""
        message = dig(response, *_MESSAGE)
        if not isinstance(message, dict):
            return None
        if "text" in message:
            return text_of(message["text"])
        data = message.get("data")
        if isinstance(data, dict) and "text" in data:
            return text_of(data["text"])
        return None

    @classmethod
    def extract_session_id(cls, response: dict[str, Any]) -> str | None:
        """``response["session_id"]`` ("" when explicitly null)."""
        if not isinstance(response, dict) or "session_id" not in response:
            return None
        value = response["session_id"]
        return "" if value is None else scalar_text(value)

    @classmethod
    def extract_tool_trace(cls, response: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The ``contents`` of the first content block that has them ("Agent Steps").

        Looks at ``message.data.content_blocks`` first, then ``message.content_blocks``.
        """
        message = dig(response, *_MESSAGE)
        for blocks in (dig(message, "data", "content_blocks"), dig(message, "content_blocks")):
            for block in dicts_only(blocks):
                contents = block.get("contents")
                if isinstance(contents, list):
                    return dicts_only(contents)
        return None
