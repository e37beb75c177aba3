"""Agent-framework connectors."""

from .base import BaseAgentConnector, Exchange, HttpCall
from .langflow import LangflowConnector
from .langgraph import LangGraphConnector

__all__ = ["BaseAgentConnector", "Exchange", "HttpCall", "LangGraphConnector", "LangflowConnector"]
