"""The spec's "Creating Custom Connectors" example, as written (import path: connector_kit).

Certification finds a real bug in it: ``extract_text`` calls ``.get`` on ``reply`` even when
``reply`` is not a dict (``{"reply": "hi"}`` raises AttributeError). ``connector_fixed.py``
shows the fix. See docs/contributing-a-connector.md.
"""

from typing import Any

from connector_kit.connectors import BaseAgentConnector, ConnectorError, ConnectorRegistry


@ConnectorRegistry.register("my_framework")
class MyFrameworkConnector(BaseAgentConnector):
    """Connector for MyFramework agent API."""

    def _build_headers(self) -> dict[str, str]:
        """MyFramework uses Bearer token authentication."""
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    def build_request(
        self,
        messages: list[dict[str, Any]],
        session_id: str,
    ) -> dict[str, Any]:
        """Convert standard messages to MyFramework format."""
        return {
            "conversation_id": session_id,
            "messages": [
                {"sender": msg["role"], "text": msg["content"]}
                for msg in messages
            ],
        }

    def parse_response(self, response: dict[str, Any]) -> dict[str, Any]:
        """Validate and return the response."""
        if not isinstance(response, dict):
            raise ConnectorError(
                f"Expected dict response, got {type(response).__name__}"
            )
        return response

    @classmethod
    def extract_text(cls, response: dict[str, Any]) -> str | None:
        """Extract text from MyFramework response."""
        return response.get("reply", {}).get("text")

    @classmethod
    def extract_session_id(cls, response: dict[str, Any]) -> str | None:
        """Extract session ID from MyFramework response."""
        return response.get("conversation_id")
