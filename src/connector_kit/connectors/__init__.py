"""The connector system: configs, the registry, HTTP transport and the built-in connectors."""

from .agent import BaseAgentConnector, HttpCall, LangflowConnector, LangGraphConnector
from .base import BaseConnector, ConnectorConfig
from .batch import BatchItem
from .exceptions import (
    AgentRunError,
    CodeExecutionSetupError,
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorConnectionError,
    ConnectorError,
    ConnectorHTTPError,
    ConnectorKitError,
    ConnectorRateLimitError,
    ConnectorRequestError,
    ConnectorResponseError,
    ConnectorTimeoutError,
    ConnectorTLSError,
    ConnectorTransportError,
)
from .health import HealthCheckResult
from .http import CallStats, FakeClock, HttpClient, RetryPolicy
from .registry import ConnectorRegistry

__all__ = [
    "AgentRunError",
    "BaseAgentConnector",
    "BaseConnector",
    "BatchItem",
    "CallStats",
    "CodeExecutionSetupError",
    "ConnectorAuthError",
    "ConnectorConfig",
    "ConnectorConfigError",
    "ConnectorConnectionError",
    "ConnectorError",
    "ConnectorHTTPError",
    "ConnectorKitError",
    "ConnectorRateLimitError",
    "ConnectorRegistry",
    "ConnectorRequestError",
    "ConnectorResponseError",
    "ConnectorTLSError",
    "ConnectorTimeoutError",
    "ConnectorTransportError",
    "FakeClock",
    "HealthCheckResult",
    "HttpCall",
    "HttpClient",
    "LangGraphConnector",
    "LangflowConnector",
    "RetryPolicy",
]
