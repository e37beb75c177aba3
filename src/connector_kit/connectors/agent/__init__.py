"""Agent-framework connectors."""

from ._frames import StreamEvent
from ._streams import AgentStream, AsyncAgentStream, StreamCall
from .base import BaseAgentConnector
from .exchange import Exchange, HttpCall
from .langflow import LangflowConnector
from .langgraph import LangGraphConnector

__all__ = ["AgentStream", "AsyncAgentStream", "BaseAgentConnector", "Exchange", "HttpCall",
           "LangGraphConnector", "LangflowConnector", "StreamCall", "StreamEvent"]
