"""Errors raised while building or running a flow."""

from __future__ import annotations

from ..connectors.exceptions import ConnectorConfigError


class FlowConfigError(ConnectorConfigError):
    """The flow definition cannot be used: bad YAML, unknown block type, invalid block config,
    a missing environment variable. The message names the block and the field."""


class AgentConfigNotSetError(FlowConfigError):
    """``generate`` was called on a flow whose agent blocks are not configured yet: call
    ``flow.set_agent_config(...)`` first."""


__all__ = ["AgentConfigNotSetError", "FlowConfigError"]
