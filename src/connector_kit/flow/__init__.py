"""Flows: blocks chained over a DataFrame, from Python or YAML, with runtime agent config.

    flow = Flow.from_yaml("flow.yaml")          # ${ENV} / ${ENV:-default} substituted
    flow.set_agent_config(agent_framework="langflow", agent_url=..., agent_api_key=...)
    result = flow.generate(df)

See :mod:`connector_kit.flow.agent_config` for the semantics of the agent-config functions.
"""

from ._env import substitute_env
from .agent_config import (
    detect_agent_blocks,
    is_agent_config_required,
    is_agent_config_set,
    reset_agent_config,
    set_agent_config,
)
from .base import Flow
from .errors import AgentConfigNotSetError, FlowConfigError

__all__ = [
    "AgentConfigNotSetError",
    "Flow",
    "FlowConfigError",
    "detect_agent_blocks",
    "is_agent_config_required",
    "is_agent_config_set",
    "reset_agent_config",
    "set_agent_config",
    "substitute_env",
]
