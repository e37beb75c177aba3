"""The connector system: configs, the registry, HTTP transport and the built-in connectors."""

from .base import BaseConnector, ConnectorConfig
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
    ConnectorResponseError,
    ConnectorTimeoutError,
    ConnectorTLSError,
    ConnectorTransportError,
)
from .registry import ConnectorRegistry

__all__ = [
    "AgentRunError",
    "BaseConnector",
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
    "ConnectorResponseError",
    "ConnectorTLSError",
    "ConnectorTimeoutError",
    "ConnectorTransportError",
]
