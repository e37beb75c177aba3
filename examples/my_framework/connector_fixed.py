"""MyFrameworkConnector after certification: total extractors (they never raise)."""

from typing import Any

from connector_kit.connectors import ConnectorRegistry

from .connector import MyFrameworkConnector


@ConnectorRegistry.register("my_framework_fixed")
class FixedMyFrameworkConnector(MyFrameworkConnector):
    """Same wire format; extractors checked with isinstance instead of trusting the shape."""

    @classmethod
    def extract_text(cls, response: dict[str, Any]) -> str | None:
        reply = response.get("reply") if isinstance(response, dict) else None
        text = reply.get("text") if isinstance(reply, dict) else None
        return text if isinstance(text, str) else None

    @classmethod
    def extract_session_id(cls, response: dict[str, Any]) -> str | None:
        value = response.get("conversation_id") if isinstance(response, dict) else None
        return value if isinstance(value, str) else None
