"""AgentBlock: an agent framework over DataFrame rows, many rows in flight through one connector.

Output layout (sdg-hub 0.9.4's documented contract)
---------------------------------------------------
``AgentBlock`` adds two columns:

- ``output_cols[0]`` (default ``agent_response``): **the agent's raw response dict**
  (``response["outputs"]`` works as in sdg-hub), or ``None`` for a failed row. With
  ``arrow_safe=True`` it is the JSON text of that dict instead: raw responses differ in shape
  from row to row, which Arrow cannot put in one struct column.
- ``<output_col>_error``: ``None`` for a row that succeeded, else ``"ExceptionType: message"``.

:class:`~.agent_extractor.AgentResponseExtractorBlock` (re-exported here) reads those
responses.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar, overload

import numpy as np
import pandas as pd
from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from ..connectors import BaseAgentConnector, BatchItem, ConnectorConfig, ConnectorRequestError
from ..connectors.base import FiniteSeconds
from ..connectors.batch import KeptLoop, run_batch
from ._frameworks import agent_connector_class, agent_frameworks, check_agent_framework
from ._gc import frozen_as_finished
from ._masking import redact_deep
from ._sanitize import is_missing, json_safe, to_json_text
from .agent_extractor import AgentResponseExtractorBlock, as_response, responses_in
from .base import BaseBlock
from .errors import BlockConfigError, RowFailedError
from .registry import BlockRegistry
from .results import RowResults, describe_validation_error

logger = logging.getLogger("connector_kit.blocks")
T = TypeVar("T")

DEFAULT_OUTPUT_COL = "agent_response"


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value.strip() if isinstance(value, str) else value


@BlockRegistry.register("AgentBlock")
class AgentBlock(BaseBlock):
    """Send each row's messages to an agent framework; keep every response or its error.

    Per row, the ``messages`` input column holds a string (sent as one user message), one
    ``{"role": ..., "content": ...}`` dict (wrapped in a list) or a list of such dicts (sent as
    is); anything else is that row's error. The session id comes from ``session_id_col`` or
    is a fresh UUID4. Rows run concurrently (``max_concurrency``) through one pooled connector.
    """

    block_type: ClassVar[str] = "agent"
    #: The event loop rows run on, kept across ``generate`` calls so its connections are too.
    _loop: KeptLoop | None = PrivateAttr(default=None)

    agent_framework: str | None = Field(
        default=None, description="Connector name (e.g. 'langflow'); see ConnectorRegistry."
    )
    agent_url: str | None = Field(default=None, description="Agent API endpoint URL.")
    agent_api_key: str | None = Field(default=None, repr=False, description="API key (masked).")
    timeout: FiniteSeconds = Field(default=120.0, gt=0, description="Request timeout in seconds.")
    max_retries: int = Field(default=3, ge=0, description="Retries after the first attempt.")
    session_id_col: str | None = Field(default=None, description="Column holding session ids.")
    max_concurrency: int = Field(default=10, ge=1, le=10_000, description="Rows in flight at once.")
    connector_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra connector fields, e.g. {'assistant_id': ...}."
    )
    fail_fast: bool = Field(default=False, description="Raise at the first failed row.")
    async_mode: bool = Field(
        default=False,
        description="Accepted for sdg-hub YAML compatibility and ignored: rows always run concurrently.",
    )


    # -- validation -----------------------------------------------------------------------
    @field_validator("agent_framework", "agent_url", "agent_api_key", "session_id_col", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("agent_framework")
    @classmethod
    def _known_framework(cls, value: str | None) -> str | None:
        return None if value is None else check_agent_framework(value)

    @field_validator("agent_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("http://", "https://")):
            raise ValueError("agent_url must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _check_columns_config(self) -> AgentBlock:
        cols = self.input_cols
        if isinstance(cols, Mapping):
            if "messages" not in cols:
                raise ValueError("input_cols must map 'messages' to the messages column, e.g. "
                                 "{'messages': 'question'}")
        elif not cols:  # a list: its first element is the messages column (sdg-hub's rule)
            raise ValueError("input_cols must name the messages column, e.g. "
                             "{'messages': 'question'} or ['question']")
        if not isinstance(self.output_cols, Mapping) and len(self.output_cols) > 1:
            raise ValueError("output_cols must name one response column")
        return self

    # -- columns --------------------------------------------------------------------------
    @property
    def messages_col(self) -> str:
        cols = self.input_cols
        return cols["messages"] if isinstance(cols, Mapping) else cols[0]

    @property
    def output_col(self) -> str:
        cols = self.output_cols
        if isinstance(cols, Mapping):
            return next(iter(cols), DEFAULT_OUTPUT_COL)
        return cols[0] if cols else DEFAULT_OUTPUT_COL

    @property
    def error_col(self) -> str:
        return f"{self.output_col}_error"

    def required_columns(self) -> list[str]:
        return [self.messages_col] + ([self.session_id_col] if self.session_id_col else [])

    def output_columns(self) -> list[str]:
        return [self.output_col, self.error_col]

    # -- the connector --------------------------------------------------------------------
    def missing_agent_config(self) -> list[str]:
        """The agent settings this block still needs before it can run (empty when complete)."""
        return [name for name in ("agent_framework", "agent_url") if getattr(self, name) is None]

    def _config_key(self) -> tuple[Any, ...]:
        key_hash = hashlib.sha256(self.agent_api_key.encode()).hexdigest() if self.agent_api_key else None
        kwargs = json.dumps(self.connector_kwargs, sort_keys=True, default=str)
        return (self.agent_framework, self.agent_url, key_hash, self.timeout, self.max_retries, kwargs)

    def _get_connector(self) -> BaseAgentConnector:
        """The cached connector; rebuilt (and the old one closed) when the config changed."""
        missing = self.missing_agent_config()
        if missing:
            raise BlockConfigError(
                f"AgentBlock '{self.block_name}' has no {' and no '.join(missing)}: set "
                f"{', '.join(missing)} in the block config, or call "
                f"flow.set_agent_config({', '.join(f'{m}=...' for m in missing)}) before generate()."
            )
        return self._cached_connector(self._config_key(), self._build_connector)

    def _build_connector(self) -> BaseAgentConnector:
        assert self.agent_framework is not None
        connector_class = agent_connector_class(self.agent_framework, self.block_name)
        valid = set(connector_class.model_fields) - {"config"}
        unknown = sorted(set(self.connector_kwargs) - valid)
        if unknown:
            raise BlockConfigError(
                f"AgentBlock '{self.block_name}': unknown connector_kwargs {unknown} for "
                f"'{self.agent_framework}' ({connector_class.__name__}); valid: {sorted(valid) or '(none)'}"
            )
        config = ConnectorConfig(url=self.agent_url, api_key=self.agent_api_key, timeout=self.timeout,
                                 max_retries=self.max_retries)
        try:
            connector = connector_class(config=config, **self.connector_kwargs)
        except ValidationError as exc:
            raise BlockConfigError(describe_validation_error(
                exc, model=connector_class,
                kind=f"connector_kwargs ({connector_class.__name__}) of AgentBlock",
                name=self.block_name, secrets=self.secret_values(),
            )) from None
        logger.debug("block '%s': new %s connector", self.block_name, self.agent_framework)
        return connector

    # -- running --------------------------------------------------------------------------
    def _process(self, frame: pd.DataFrame) -> RowResults:
        connector = self._get_connector()  # config errors raise here, before any request
        rows = len(frame)
        results = self._begin(RowResults.blank(rows, self.output_columns(), error_col=self.error_col))
        responses, errors = results.columns[self.output_col], results.columns[self.error_col]
        assert results.done is not None
        done = results.done
        column = self.messages_col
        cells = frame[column].tolist()
        sessions = frame[self.session_id_col].tolist() if self.session_id_col else [None] * rows
        positions: list[int] = []
        for position, cell in enumerate(cells):
            try:
                row_messages(cell, column)  # every row checked before the first is sent
            except ConnectorRequestError as exc:
                message = f"{type(exc).__name__}: {exc}"
                if self.fail_fast:
                    raise RowFailedError(self.block_name, position, message) from None
                errors[position] = results.errors[position] = message
                done[position] = 1
                continue
            positions.append(position)

        def request(index: int) -> dict[str, Any]:
            # Built as the batch takes the row, not all up front: 100,000 rows' messages and
            # request dicts were ~60 MB held from the start. A missing session id is made when
            # the row is sent (``unpack_request``): 5,000 fresh UUIDs were ~13 ms before the
            # first request could leave.
            position = positions[index]
            return {"messages": row_messages(cells[position], column),
                    "session_id": _given_session_id(sessions[position])}

        requests = _LazyRows(request, len(positions))

        secrets = self.secret_values()
        if secrets:
            # Redacted as each row finishes, while other rows wait on the agent, rather than
            # all at the end: one JSON dump per response, ~140 ms after the last of 5,000
            # rows came back when it ran in ``_finish``.
            results.redacted.add(self.output_col)

        def store(item: BatchItem) -> None:
            # Each response goes into the output column as its row finishes: nothing is held
            # twice, and an interrupt finds every finished row here. Finished rows are frozen
            # out of the GC's full collections as the run goes (see blocks/_gc.py).
            position = positions[item.index]
            if item.ok:
                try:
                    value = to_json_text(item.value) if self.arrow_safe else item.value
                except (ValueError, TypeError, RecursionError) as exc:
                    errors[position] = results.errors[position] = (
                        f"ConnectorResponseError: the response cannot be written as JSON text ({exc})")
                else:
                    try:
                        responses[position] = redact_deep(value, secrets) if secrets else value
                    except RecursionError:
                        errors[position] = results.errors[position] = (
                            "ConnectorResponseError: the response is nested too deeply to be "
                            "checked for secrets, so it is not kept; flatten what the agent returns.")
            else:
                errors[position] = results.errors[position] = item.error_message
            done[position] = 1
            row_finished()

        if requests:
            if self._loop is None:
                self._loop = KeptLoop()
            kept = self._loop
            with frozen_as_finished() as row_finished:
                kept.run(lambda: self._run_batch(connector, requests, positions, store))
        return results

    def close(self) -> None:
        """Release the connector and the event loop its pools live on. Safe to call twice."""
        super().close()
        kept, self._loop = self._loop, None
        if kept is not None:
            kept.close()

    async def _run_batch(
        self, connector: BaseAgentConnector, requests: Sequence[dict[str, Any]], positions: list[int],
        store: Callable[[BatchItem], None],
    ) -> None:
        try:
            with self._progress(len(requests)) as advance:
                def on_result(item: BatchItem) -> None:
                    store(item)
                    advance()

                if not self.fail_fast:
                    await run_batch(connector.aexecute, requests, max_concurrency=self.max_concurrency,
                                    on_result=on_result, collect=False)
                    return

                async def call(entry: tuple[int, dict[str, Any]]) -> Any:
                    position, request = entry
                    try:
                        return await connector.aexecute(request)
                    except Exception as exc:
                        raise RowFailedError(self.block_name, position,
                                             self._scrub(f"{type(exc).__name__}: {exc}")) from exc

                await run_batch(call, _LazyRows(lambda index: (positions[index], requests[index]),
                                                len(requests)),
                                max_concurrency=self.max_concurrency, fail_fast=True,
                                on_result=on_result, collect=False)
        finally:
            if self._loop is None or not self._loop.holds(asyncio.get_running_loop()):
                # The async HTTP pool belongs to this event loop, which ends with this batch.
                await connector.aclose()


class _LazyRows(Sequence[T]):
    """``make(i)`` for ``i`` in ``range(count)``, made when asked for and not kept."""

    def __init__(self, make: Callable[[int], T], count: int) -> None:
        self._make, self._count = make, count

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self._make(i) for i in range(*index.indices(self._count))]
        if not -self._count <= index < self._count:
            raise IndexError(index)
        return self._make(index % self._count)


def row_messages(value: Any, column: str) -> list[dict[str, Any]]:
    """One row's messages: a string is one user message, a dict one message, a list is sent as is."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, Mapping):
        return [json_safe(value)]
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        if not value:
            raise ConnectorRequestError(f"column '{column}' holds an empty message list: nothing to send")
        messages: list[dict[str, Any]] = []
        for index, message in enumerate(value):
            if not isinstance(message, Mapping):
                raise ConnectorRequestError(
                    f"messages[{index}] in column '{column}' is a {type(message).__name__}, not a "
                    "{'role': ..., 'content': ...} dict"
                )
            messages.append(json_safe(message))
        return messages
    if is_missing(value):
        raise ConnectorRequestError(f"column '{column}' is empty in this row (None/NaN): nothing to send")
    raise ConnectorRequestError(
        f"column '{column}' must hold a string (one user message), a message dict or a list of "
        f"message dicts, got "
        f"{type(value).__name__}"
    )


def row_session_id(value: Any) -> str:
    """The session id for a row: the column's value as text, or a fresh UUID4 when missing."""
    return _given_session_id(value) or str(uuid.uuid4())


def _given_session_id(value: Any) -> str | None:
    """The column's value as a session id; None when missing or blank."""
    if isinstance(value, str):
        return value if value.strip() else None
    if value is None or is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))  # an int column that pandas made float because of a NaN
    return str(value)


__all__ = [
    "AgentBlock",
    "AgentResponseExtractorBlock",
    "agent_frameworks",
    "as_response",
    "responses_in",
    "row_messages",
    "row_session_id",
]
