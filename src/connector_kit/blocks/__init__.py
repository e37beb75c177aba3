"""Pipeline blocks over pandas DataFrames: agents, their responses, and code execution.

- :class:`AgentBlock` sends each row to an agent framework (Langflow, LangGraph, ...);
- :class:`AgentResponseExtractorBlock` pulls text / session id / tool trace out of responses;
- :class:`PythonInterpreterBlock` runs each row's code in a sandbox (Monty).

Every block's ``generate(df)`` keeps every row: a failed row gets an error message, never
aborts the batch (unless ``fail_fast=True``), and the columns a block adds are Arrow-safe.
See :mod:`connector_kit.blocks.base` for the contract and :mod:`connector_kit.flow` to chain
blocks from YAML.

The column and masking helpers a flow shares with its blocks (``dedupe_columns``,
``flatten_columns``, ``mask_value``, ``secret_values_in``) are public here, so
:mod:`connector_kit.flow` never imports a private block module.
"""

from ._masking import mask_value, secret_values_in
from ._sanitize import dedupe_columns, flatten_columns, sanitize_frame, sanitize_series, to_json_text
from .agent import AgentBlock, AgentResponseExtractorBlock
from .base import BaseBlock
from .code import PythonInterpreterBlock
from .errors import BlockConfigError, MissingColumnError, OutputColumnCollisionError, RowFailedError
from .registry import BlockRegistry
from .results import BlockSummary, RowFailure, RowResults

__all__ = [
    "AgentBlock",
    "AgentResponseExtractorBlock",
    "BaseBlock",
    "BlockConfigError",
    "BlockRegistry",
    "BlockSummary",
    "MissingColumnError",
    "OutputColumnCollisionError",
    "PythonInterpreterBlock",
    "RowFailedError",
    "RowFailure",
    "RowResults",
    "dedupe_columns",
    "flatten_columns",
    "mask_value",
    "sanitize_frame",
    "sanitize_series",
    "secret_values_in",
    "to_json_text",
]
