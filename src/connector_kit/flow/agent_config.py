"""Runtime agent configuration of a flow: credential-free YAML, URLs and keys set at run time.

Semantics
---------
- :func:`detect_agent_blocks`: the names of the blocks whose ``block_type == "agent"``.
- :func:`is_agent_config_required`: the flow has at least one agent block.
- :func:`is_agent_config_set`: True when no agent config is required, or when it "has been
  set". It counts as set when :func:`set_agent_config` configured at least one agent block
  since the flow was built or last reset, **or** when the flow was *built* with every agent
  block already complete (``agent_framework`` and ``agent_url`` given in the YAML, e.g. via
  ``${ENV}``) -- a self-contained YAML needs no extra call.
- :func:`reset_agent_config`: clears that flag; ``set_agent_config()`` must then be called
  again before ``generate()`` (even for a YAML that held a URL), as the spec says.
- ``Flow.generate`` refuses to run while :func:`is_agent_config_set` is False, or while an
  agent block still lacks ``agent_framework``/``agent_url`` (e.g. ``set_agent_config`` targeted
  other blocks), with an error saying to call ``set_agent_config``.

:func:`set_agent_config` sets fields directly on the block instances (validated first, all or
nothing); an :class:`~connector_kit.blocks.AgentBlock`'s cached connector is rebuilt on its
next use because its config key changed (the old one is closed). Without ``blocks=`` it targets
every agent block, and an ``agent_framework`` is also given to the flow's
:class:`~connector_kit.blocks.AgentResponseExtractorBlock` blocks, so responses are parsed by
the framework that produced them. Credentials are never logged or shown in errors.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..blocks import mask_value, secret_values_in
from ..blocks.base import BaseBlock
from ..blocks.results import describe_validation_error
from .errors import AgentConfigNotSetError, FlowConfigError

if TYPE_CHECKING:
    from .base import Flow

logger = logging.getLogger("connector_kit.flow")

AGENT = "agent"
EXTRACTOR = "agent_extractor"
#: Fields that wire a block into the flow; they are not agent settings.
_STRUCTURAL = frozenset({"block_name", "input_cols", "output_cols"})


def detect_agent_blocks(flow: Flow) -> list[str]:
    """Names of the flow's blocks whose ``block_type`` is ``"agent"``, in flow order."""
    return [block.block_name for block in flow.blocks if block.block_type == AGENT]


def is_agent_config_required(flow: Flow) -> bool:
    """True if the flow contains any agent block."""
    return bool(detect_agent_blocks(flow))


def is_agent_config_set(flow: Flow) -> bool:
    """True if agent config has been set or is not required.

    "Set" means: :func:`set_agent_config` configured at least one agent block since the flow
    was built or last reset, or the flow was built with every agent block already complete
    (``agent_framework`` and ``agent_url`` in the YAML, e.g. from ``${ENV}``). After
    :func:`reset_agent_config` it is False until ``set_agent_config()`` is called again, even
    for a YAML that held a URL. A flow without agent blocks always answers True.
    """
    return not is_agent_config_required(flow) or flow._agent_config_set


def reset_agent_config(flow: Flow) -> None:
    """Reset the agent-config flag: call ``set_agent_config()`` again before ``generate()``."""
    if is_agent_config_required(flow):
        flow._agent_config_set = False
        logger.info("agent configuration reset: call set_agent_config() before generate()")


def incomplete_agent_blocks(flow: Flow) -> dict[str, list[str]]:
    """Agent blocks that still lack settings: block name -> missing field names."""
    missing: dict[str, list[str]] = {}
    for block in flow.blocks:
        if block.block_type == AGENT:
            needs = getattr(block, "missing_agent_config", None)
            fields: list[str] = needs() if callable(needs) else []
            if fields:
                missing[block.block_name] = fields
    return missing


def require_agent_config(flow: Flow) -> None:
    """Raise :class:`AgentConfigNotSetError` unless the flow's agent blocks can run."""
    agents = detect_agent_blocks(flow)
    if not agents:
        return
    incomplete = incomplete_agent_blocks(flow)
    if not is_agent_config_set(flow):
        detail = "".join(f"; '{name}' has no {', '.join(fields)}" for name, fields in incomplete.items())
        raise AgentConfigNotSetError(
            f"Agent configuration is not set for this flow's agent block(s) {agents}{detail}. Call "
            "flow.set_agent_config(agent_framework=..., agent_url=..., agent_api_key=...) before "
            "generate()."
        )
    if incomplete:
        parts = "; ".join(f"'{name}' has no {', '.join(fields)}" for name, fields in incomplete.items())
        first, fields = next(iter(incomplete.items()))
        example = ", ".join(f"{field}=..." for field in fields)
        raise AgentConfigNotSetError(
            f"Agent block(s) not fully configured: {parts}. Call "
            f"flow.set_agent_config({example}, blocks=['{first}']) (or without blocks= for all "
            "agent blocks) before generate()."
        )


def set_agent_config(
    flow: Flow,
    agent_framework: str | None = None,
    agent_url: str | None = None,
    agent_api_key: str | None = None,
    blocks: list[str] | None = None,
    **kwargs: Any,
) -> None:
    """Configure the flow's agent blocks in place (see the module doc for the semantics).

    Args:
        agent_framework: connector name (e.g. ``"langflow"``).
        agent_url: the agent's API endpoint.
        agent_api_key: the API key (never logged).
        blocks: names of the blocks to configure; default: every agent block.
        **kwargs: other block fields, e.g. ``timeout``, ``max_retries``, ``max_concurrency``,
            ``connector_kwargs``.

    Raises:
        FlowConfigError: nothing to set, unknown block names, a field no targeted block has,
            a structural field (``block_name``, ``input_cols``, ``output_cols``), or a value the
            block rejects. Nothing is changed when it raises.
    """
    params: dict[str, Any] = {}
    if agent_framework is not None:
        params["agent_framework"] = agent_framework
    if agent_url is not None:
        params["agent_url"] = agent_url
    if agent_api_key is not None:
        params["agent_api_key"] = agent_api_key
    params.update(kwargs)
    if not params:
        raise FlowConfigError("set_agent_config() needs at least one setting: agent_framework, "
                              "agent_url, agent_api_key, or a block field such as timeout=...")
    structural = sorted(_STRUCTURAL & set(params))
    if structural:
        raise FlowConfigError(f"set_agent_config() cannot change {structural}: they wire blocks into "
                              "the flow and belong in the flow definition.")

    by_name = {block.block_name: block for block in flow.blocks}
    if blocks is not None:
        if isinstance(blocks, str):
            blocks = [blocks]
        unknown = [name for name in blocks if name not in by_name]
        if unknown:
            raise FlowConfigError(f"set_agent_config(): block(s) {unknown} not in this flow; blocks: "
                                  f"{list(by_name)}")
        plan = {name: dict(params) for name in dict.fromkeys(blocks)}
    else:
        plan = {name: dict(params) for name in detect_agent_blocks(flow)}
        if "agent_framework" in params:
            for block in flow.blocks:
                if block.block_type == EXTRACTOR:
                    plan[block.block_name] = {"agent_framework": params["agent_framework"]}
    if not plan:
        logger.warning("set_agent_config(): this flow has no agent blocks; nothing was configured")
        return

    updates: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for name, wanted in plan.items():
        fields = type(by_name[name]).model_fields
        updates[name] = {key: value for key, value in wanted.items() if key in fields}
        used.update(updates[name])
    unused = sorted(set(params) - used)
    if unused:
        names = list(plan)
        raise FlowConfigError(f"set_agent_config(): no targeted block ({names}) has the field(s) "
                              f"{unused}.")

    secrets = secret_values_in(None, params)
    for name, fields in updates.items():
        _validate(by_name[name], fields, secrets)
    for name, fields in updates.items():
        block = by_name[name]
        for key, value in fields.items():
            setattr(block, key, value)
    if any(by_name[name].block_type == AGENT and fields for name, fields in updates.items()):
        flow._agent_config_set = True
    shown = ", ".join(f"{key}={mask_value(key, value)!r}" for key, value in params.items())
    logger.info("agent config set on block(s) %s: %s", [n for n, f in updates.items() if f], shown)


def _validate(block: BaseBlock, fields: dict[str, Any], secrets: list[str]) -> None:
    if not fields:
        return
    merged = {**block.model_dump(), **fields}
    try:
        type(block).model_validate(merged)
    except ValidationError as exc:
        raise FlowConfigError("set_agent_config(): " + describe_validation_error(
            exc, model=type(block), kind=type(block).__name__, name=block.block_name,
            secrets=[*secrets, *block.secret_values()],
        )) from None


__all__ = [
    "detect_agent_blocks",
    "incomplete_agent_blocks",
    "is_agent_config_required",
    "is_agent_config_set",
    "require_agent_config",
    "reset_agent_config",
    "set_agent_config",
]
