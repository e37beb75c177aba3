"""Flow: blocks run in order over a DataFrame, defined in Python or in YAML.

YAML: a list of ``{block_type, block_config}`` entries (the spec's format), or a mapping with a
``blocks:`` list (and optional ``metadata:``, as sdg-hub flow files have)::

    - block_type: AgentBlock
      block_config:
        block_name: my_agent
        agent_framework: langflow
        agent_url: ${LANGFLOW_URL:-http://localhost:7860/api/v1/run/my-flow}
        agent_api_key: ${LANGFLOW_API_KEY}
        input_cols: {messages: question}
        output_cols: [agent_response]

``${VAR}`` / ``${VAR:-default}`` are substituted from the environment (see
:func:`~connector_kit.flow._env.substitute_env`).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .._safe_yaml import load_yaml
from ..blocks import BaseBlock, BlockConfigError, BlockRegistry, BlockSummary, dedupe_columns, flatten_columns
from . import agent_config
from ._env import substitute_env
from .errors import FlowConfigError

logger = logging.getLogger("connector_kit.flow")

_ENTRY_KEYS = frozenset({"block_type", "block_config"})


class Flow:
    """An ordered list of blocks; ``generate(df)`` runs them one after another."""

    def __init__(
        self,
        blocks: Sequence[BaseBlock],
        *,
        name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        blocks = list(blocks)
        for index, block in enumerate(blocks):
            if not isinstance(block, BaseBlock):
                raise FlowConfigError(f"Flow blocks[{index}] is a {type(block).__name__}, not a block")
        names = [block.block_name for block in blocks]
        duplicates = [name for name in names if names.count(name) > 1]
        if duplicates:
            raise FlowConfigError(f"Flow has duplicate block names {sorted(set(duplicates))}: every "
                                  "block_name must be unique (set_agent_config targets blocks by name).")
        self.blocks: list[BaseBlock] = blocks
        self.name = name
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.last_summaries: list[BlockSummary] = []
        # Built complete (every agent block has framework + URL): no set_agent_config needed.
        self._agent_config_set = not agent_config.incomplete_agent_blocks(self)

    # -- building -------------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path: str | Path, *, environ: Mapping[str, str] | None = None) -> Flow:
        """Build a flow from a YAML file (``environ`` defaults to ``os.environ``)."""
        source = Path(path)
        try:
            data = load_yaml(source, error=FlowConfigError)
        except FileNotFoundError:
            raise FlowConfigError(f"Cannot read flow file {source}: no such file") from None
        return cls.from_config(data, environ=environ, source=str(source))

    @classmethod
    def from_config(
        cls, data: Any, *, environ: Mapping[str, str] | None = None, source: str = "flow config"
    ) -> Flow:
        """Build a flow from parsed YAML: a list of entries or a mapping with ``blocks``."""
        metadata: dict[str, Any] = {}
        if isinstance(data, Mapping):
            if "blocks" not in data:
                raise FlowConfigError(f"{source}: expected a list of blocks or a mapping with a "
                                      f"'blocks' list; found keys {sorted(map(str, data))}")
            raw_meta = data.get("metadata") or {}
            metadata = dict(raw_meta) if isinstance(raw_meta, Mapping) else {}
            entries = data["blocks"]
        else:
            entries = data
        if not isinstance(entries, list) or not entries:
            raise FlowConfigError(f"{source}: the flow has no blocks; expected a list of "
                                  "{block_type: ..., block_config: {...}} entries")
        blocks = [_build_block(entry, index, environ, source) for index, entry in enumerate(entries)]
        name = metadata.get("name")
        try:
            return cls(blocks, name=name if isinstance(name, str) else None, metadata=metadata)
        except FlowConfigError as exc:
            raise FlowConfigError(f"{source}: {exc}") from None

    # -- agent configuration ----------------------------------------------------------------
    def set_agent_config(
        self,
        agent_framework: str | None = None,
        agent_url: str | None = None,
        agent_api_key: str | None = None,
        blocks: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Configure agent blocks at run time; see :func:`~connector_kit.flow.set_agent_config`."""
        agent_config.set_agent_config(self, agent_framework=agent_framework, agent_url=agent_url,
                                      agent_api_key=agent_api_key, blocks=blocks, **kwargs)

    def reset_agent_config(self) -> None:
        agent_config.reset_agent_config(self)

    def detect_agent_blocks(self) -> list[str]:
        return agent_config.detect_agent_blocks(self)

    def is_agent_config_required(self) -> bool:
        return agent_config.is_agent_config_required(self)

    def is_agent_config_set(self) -> bool:
        return agent_config.is_agent_config_set(self)

    # -- running --------------------------------------------------------------------------
    def validate_columns(self, columns: Iterable[Hashable]) -> None:
        """Check, without running anything, that every block will find its input columns."""
        probe = pd.DataFrame(columns=columns if isinstance(columns, pd.Index) else pd.Index(list(columns)))
        flatten_columns(probe)  # the names the blocks will see (see BaseBlock.generate)
        dedupe_columns(probe)
        available = {str(column) for column in probe.columns}
        for block in self.blocks:
            block.check_columns(available)
            available.update(block.output_columns())

    def generate(self, df: pd.DataFrame) -> pd.DataFrame:
        """Run every block in order; the columns each block needs are checked before any runs.

        An interrupt (``KeyboardInterrupt``, task cancellation) inside a block propagates with
        that block's ``.partial`` frame: every row, with the earlier blocks' columns and the
        interrupted block's finished outputs; its summary ends ``last_summaries``.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"Flow.generate() takes a pandas DataFrame, got {type(df).__name__}")
        agent_config.require_agent_config(self)
        self.validate_columns(df.columns)
        self.last_summaries = []
        current = df
        for block in self.blocks:
            previous = block.last_summary
            try:
                current = block.generate(current)
            finally:  # an interrupted block still leaves its (partial) summary
                summary = block.last_summary
                if summary is not None and summary is not previous:
                    self.last_summaries.append(summary)
        failed = sum(summary.failed for summary in self.last_summaries)
        logger.info("flow%s: %d rows through %d blocks, %d failed row results",
                    f" '{self.name}'" if self.name else "", len(current), len(self.blocks), failed)
        return current

    # -- access and lifecycle -----------------------------------------------------------------
    def get_block(self, name: str) -> BaseBlock:
        for block in self.blocks:
            if block.block_name == name:
                return block
        raise KeyError(f"no block named {name!r} in this flow; blocks: {[b.block_name for b in self.blocks]}")

    def close(self) -> None:
        """Close every block's cached connector."""
        for block in self.blocks:
            block.close()

    def __enter__(self) -> Flow:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[BaseBlock]:
        return iter(self.blocks)

    def __len__(self) -> int:
        return len(self.blocks)

    def __repr__(self) -> str:
        inner = ", ".join(repr(block) for block in self.blocks)
        label = f"name={self.name!r}, " if self.name else ""
        return f"Flow({label}blocks=[{inner}])"


def _build_block(entry: Any, index: int, environ: Mapping[str, str] | None, source: str) -> BaseBlock:
    where = f"{source}: blocks[{index}]"
    if not isinstance(entry, Mapping):
        raise FlowConfigError(f"{where}: expected {{block_type: ..., block_config: {{...}}}}, got "
                              f"{type(entry).__name__}")
    extra = sorted(map(str, set(entry) - _ENTRY_KEYS))
    if extra:
        raise FlowConfigError(f"{where}: unknown key(s) {extra}; an entry has block_type and block_config")
    block_type = entry.get("block_type")
    if not isinstance(block_type, str) or not block_type:
        raise FlowConfigError(f"{where}: missing block_type (e.g. block_type: AgentBlock)")
    config = entry.get("block_config")
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise FlowConfigError(f"{where} ({block_type}): block_config must be a mapping, got "
                              f"{type(config).__name__}")
    label = config.get("block_name")
    named = f"{where} ({block_type} '{label}')" if isinstance(label, str) else f"{where} ({block_type})"
    bad_keys = [key for key in config if not isinstance(key, str)]
    if bad_keys:
        raise FlowConfigError(f"{named}: block_config keys must be field names, got {bad_keys!r}")
    try:
        block_class = BlockRegistry.get(block_type)
    except BlockConfigError as exc:
        raise FlowConfigError(f"{named}: {exc}") from None
    resolved = substitute_env(dict(config), environ, where=named)
    try:
        return block_class(**resolved)
    except BlockConfigError as exc:
        raise FlowConfigError(f"{where}: {exc}") from None


__all__ = ["Flow"]
