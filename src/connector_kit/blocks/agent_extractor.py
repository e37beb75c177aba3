"""AgentResponseExtractorBlock: text, session id and tool trace out of agent responses.

It reads a column of response dicts, their JSON text, or lists of either, and adds
``<prefix>text``, ``<prefix>session_id`` and ``<prefix>tool_trace`` (the ones requested; the
tool trace as a list of dicts, JSON text with ``arrow_safe=True``) and ``<prefix>error``. The
prefix is ``field_prefix``, or ``"<block_name>_"`` when that is empty (sdg-hub's convention).
With ``expand_lists=True`` (the default) a cell holding a list of responses becomes one output
row per response (the input row, index label included, repeated); ``expand_lists=False`` keeps
one row with a list per output column.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from ..connectors import BaseAgentConnector, ConnectorResponseError
from ._frameworks import agent_connector_class, check_agent_framework
from ._sanitize import is_missing, json_safe, to_json_text
from .base import BaseBlock
from .errors import RowFailedError
from .registry import BlockRegistry
from .results import RowResults

logger = logging.getLogger("connector_kit.blocks")


@BlockRegistry.register("AgentResponseExtractorBlock")
class AgentResponseExtractorBlock(BaseBlock):
    """Extract text / session id / tool trace from agent responses with the connector's parsers.

    The input column holds, per row, a response dict, its JSON text, or a list of either.
    ``expand_lists=True`` (default) turns a list into one output row per response; ``False``
    keeps one row whose output cells are lists. A response that is missing, not a dict, or has
    none of the requested fields gets an error in ``<prefix>error`` and ``None`` values;
    nothing is dropped (an empty list is one row with an error). ``output_cols`` defaults to
    the derived column names; other names are ignored with a warning (the columns are named
    from ``field_prefix``).
    """

    block_type: ClassVar[str] = "agent_extractor"

    agent_framework: str = Field(..., description="Framework whose response format to parse.")
    extract_text: bool = Field(default=True, description="Extract the answer text.")
    extract_session_id: bool = Field(default=False, description="Extract the session id.")
    extract_tool_trace: bool = Field(default=False,
                                     description="Extract the tool-call trace (a list of dicts).")
    expand_lists: bool = Field(
        default=True,
        description="A cell holding a list of responses becomes one row per response; False keeps lists.",
    )
    field_prefix: str = Field(
        default="", description="Prefix of the output columns; '' means '<block_name>_'."
    )
    fail_fast: bool = Field(default=False, description="Raise at the first failed row.")

    def __init__(self, /, **data: Any) -> None:
        super().__init__(**data)
        derived = self.output_columns()[:-1]
        given = self.output_cols if isinstance(self.output_cols, list) else list(self.output_cols)
        if given and given != derived:
            logger.warning("block '%s': output_cols %s ignored; an AgentResponseExtractorBlock names "
                           "its columns from field_prefix: %s", self.block_name, given, derived)
        if given != derived:
            self.output_cols = derived  # auto-derived, as sdg-hub documents

    @field_validator("agent_framework")
    @classmethod
    def _known_framework(cls, value: str) -> str:
        return check_agent_framework(value)

    @model_validator(mode="after")
    def _check_config(self) -> AgentResponseExtractorBlock:
        if not (self.extract_text or self.extract_session_id or self.extract_tool_trace):
            raise ValueError("enable at least one of extract_text, extract_session_id, extract_tool_trace")
        if isinstance(self.input_cols, Mapping) or len(self.input_cols) != 1:
            raise ValueError("input_cols must name exactly one column, the one holding the responses")
        return self

    @property
    def prefix(self) -> str:
        return self.field_prefix or f"{self.block_name}_"

    @property
    def response_col(self) -> str:
        cols = self.input_cols
        return cols[0] if isinstance(cols, list) else next(iter(cols))

    @property
    def error_col(self) -> str:
        return f"{self.prefix}error"

    def _fields(self) -> list[str]:
        return [name for name, wanted in (("text", self.extract_text),
                                          ("session_id", self.extract_session_id),
                                          ("tool_trace", self.extract_tool_trace)) if wanted]

    def required_columns(self) -> list[str]:
        return [self.response_col]

    def output_columns(self) -> list[str]:
        return [f"{self.prefix}{name}" for name in self._fields()] + [self.error_col]

    def _process(self, frame: pd.DataFrame) -> RowResults:
        connector_class = agent_connector_class(self.agent_framework, self.block_name)
        fields = self._fields()
        names = [f"{self.prefix}{name}" for name in fields]
        rows = len(frame)
        results = self._begin(RowResults(columns={name: [] for name in [*names, self.error_col]},
                                         errors=[], source=[], done=bytearray(rows),
                                         error_col=self.error_col))
        assert results.source is not None and results.done is not None
        columns, errors, source, done = results.columns, results.errors, results.source, results.done
        with self._progress(rows if rows >= 1000 else 0) as advance:
            for position, raw in enumerate(frame[self.response_col].tolist()):
                advance()
                for values, error in self._row(connector_class, raw, fields):
                    if error is not None and self.fail_fast:
                        raise RowFailedError(self.block_name, position, self._scrub(error))
                    for name, field_name in zip(names, fields, strict=True):
                        columns[name].append(values.get(field_name))
                    columns[self.error_col].append(error)
                    errors.append(error)
                    source.append(position)  # last: the row above is complete
                done[position] = 1
        if all(index == position for index, position in enumerate(source)) and len(source) == rows:
            results.source = None  # nothing expanded: the input rows as they are
        return results

    def _row(
        self, connector_class: type[BaseAgentConnector], raw: Any, fields: list[str]
    ) -> list[tuple[dict[str, Any], str | None]]:
        """One input cell's output rows: ``(values, error)`` per row."""
        try:
            responses = responses_in(raw, self.response_col)
        except ConnectorResponseError as exc:
            return [({}, f"{type(exc).__name__}: {exc}")]
        if responses is None:  # one response
            return [self._one(connector_class, raw, fields)]
        if not responses:
            return [({}, f"ConnectorResponseError: column '{self.response_col}' holds an empty "
                         "list of responses in this row")]
        outcomes = [self._one(connector_class, response, fields) for response in responses]
        if self.expand_lists:
            return outcomes
        problems = [f"response[{index}]: {error}" for index, (_v, error) in enumerate(outcomes)
                    if error is not None]
        merged = {name: [values.get(name) for values, _e in outcomes] for name in fields}
        return [(merged, "; ".join(problems) if problems else None)]

    def _one(
        self, connector_class: type[BaseAgentConnector], raw: Any, fields: list[str]
    ) -> tuple[dict[str, Any], str | None]:
        try:
            return self._extract(connector_class, raw, fields), None
        except Exception as exc:
            return {}, f"{type(exc).__name__}: {exc}"

    def _extract(
        self, connector_class: type[BaseAgentConnector], raw: Any, fields: list[str]
    ) -> dict[str, Any]:
        response = as_response(raw, self.response_col)
        values: dict[str, Any] = {}
        if "text" in fields:
            values["text"] = _text_or_json(connector_class.extract_text(response))
        if "session_id" in fields:
            values["session_id"] = _text_or_json(connector_class.extract_session_id(response))
        if "tool_trace" in fields:
            trace = connector_class.extract_tool_trace(response)
            values["tool_trace"] = to_json_text(trace) if self.arrow_safe else (
                None if trace is None else json_safe(trace))
        if all(value is None for value in values.values()):
            keys = sorted(map(str, response))[:10]
            raise ConnectorResponseError(
                f"none of the requested fields ({', '.join(fields)}) were found in this "
                f"{self.agent_framework} response; its top-level keys: {keys}"
            )
        return values


def responses_in(value: Any, column: str) -> list[Any] | None:
    """The responses of a cell holding a list of them (or its JSON text); None for one response."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None  # as_response explains what is wrong with the text
        if isinstance(parsed, list):
            return parsed
    return None


def as_response(value: Any, column: str) -> dict[str, Any]:
    """A response dict from a cell holding a dict or the JSON text of one."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ConnectorResponseError(
                f"column '{column}' holds text that is not JSON (starts with {value[:60]!r}); "
                "expected a response dict or its JSON text"
            ) from None
        if not isinstance(parsed, dict):
            kind = {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
                type(parsed), "number")
            raise ConnectorResponseError(f"column '{column}' holds a JSON {kind}, expected a JSON object")
        return parsed
    if value is None or is_missing(value):
        raise ConnectorResponseError(
            f"column '{column}' has no response in this row (did the agent call fail?)"
        )
    raise ConnectorResponseError(
        f"column '{column}' must hold a response dict or its JSON text, got {type(value).__name__}"
    )


def _text_or_json(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return to_json_text(value)


__all__ = ["AgentResponseExtractorBlock", "as_response", "responses_in"]
