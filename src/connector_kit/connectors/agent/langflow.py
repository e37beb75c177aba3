"""LangflowConnector: one POST to ``/api/v1/run/<flow>`` with the last user message."""

from __future__ import annotations

from typing import Any, ClassVar

from ..exceptions import ConnectorRequestError, ConnectorResponseError
from ..operations import OperationCatalogue
from ..registry import ConnectorRegistry
from ._json import dicts_only, dig, scalar_text, text_of
from .base import BaseAgentConnector
from .langflow_ops import LANGFLOW_OPERATIONS

_MESSAGE = ("outputs", 0, "outputs", 0, "results", "message")


@ConnectorRegistry.register("langflow")
class LangflowConnector(BaseAgentConnector):
    """Connector for Langflow flows (``config.url`` is the flow's run URL)."""

    health_path = "/health"
    #: Every endpoint as a typed operation: ``execute("flows", "run", params={...})``.
    operations: ClassVar[OperationCatalogue | None] = LANGFLOW_OPERATIONS

    def _build_headers(self) -> dict[str, str]:
        """Langflow authenticates with ``x-api-key``, not a Bearer token."""
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["x-api-key"] = self.config.api_key
        return headers

    def build_request(self, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
        """Langflow takes one string: the content of the last user message."""
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                return {
                    "output_type": "chat",
                    "input_type": "chat",
                    "input_value": text_of(message.get("content")),
                    "session_id": session_id,
                }
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
