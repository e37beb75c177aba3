"""Which registered connectors are agent frameworks, for the agent blocks' validation."""

from __future__ import annotations

from ..connectors import BaseAgentConnector, ConnectorError, ConnectorRegistry
from .errors import BlockConfigError


def agent_frameworks() -> list[str]:
    """Names of the registered agent connectors (code interpreters excluded)."""
    names = []
    for name in ConnectorRegistry.list_all():
        try:
            if issubclass(ConnectorRegistry.get(name), BaseAgentConnector):
                names.append(name)
        except ConnectorError:  # pragma: no cover - removed meanwhile
            continue
    return names


def check_agent_framework(name: str) -> str:
    try:
        connector_class = ConnectorRegistry.get(name)
    except ConnectorError:
        raise ValueError(
            f"unknown agent framework {name!r}; available: {', '.join(agent_frameworks()) or '(none)'}"
        ) from None
    if not issubclass(connector_class, BaseAgentConnector):
        raise ValueError(
            f"{name!r} is not an agent connector ({connector_class.__name__}); agent frameworks: "
            f"{', '.join(agent_frameworks()) or '(none)'}"
        )
    return name


def agent_connector_class(name: str, block_name: str) -> type[BaseAgentConnector]:
    try:
        check_agent_framework(name)
    except ValueError as exc:
        raise BlockConfigError(f"Block '{block_name}': field 'agent_framework': {exc}") from None
    connector_class = ConnectorRegistry.get(name)
    assert issubclass(connector_class, BaseAgentConnector)
    return connector_class
