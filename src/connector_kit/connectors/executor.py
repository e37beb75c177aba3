"""The executor interface: ``execute(ExecutionConfig(entity, action, params))`` -> ExecutionResult.

Execution errors (unknown entity or action, a missing or invalid parameter) come back as
``ExecutionResult(success=False, error=...)`` and never send a request; infrastructure
failures (transport, HTTP status, unusable responses) raise the ConnectorError subclasses,
as an executor's reference describes. Every result carries provenance: which connector and
operation produced it, with which parameters (credentials masked), from which server version.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlencode

from ._secrets import MASK, is_secret_name, redact
from .exceptions import ConnectorError, ConnectorResponseError, ExecutorError
from .operations import OpCall, OperationCatalogue, OperationContext, OpExchange, OpOutput

if TYPE_CHECKING:
    import pandas as pd

    from .base import BaseConnector
    from .http import HttpClient


@dataclass
class ExecutionConfig:
    """Which operation to run: ``ExecutionConfig("threads", "get", params={"thread_id": ...})``."""

    entity: str
    action: str
    params: dict[str, Any] | None = field(default=None, kw_only=True)


@dataclass
class Provenance:
    """Where a result came from (the guide's provenance, stamped by the framework)."""

    connector: str
    operation: str
    params: dict[str, Any]
    server_version: str | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ExecutionResult:
    """What an operation produced: ``success``, ``data``, ``error``, ``meta`` and provenance.

    On an execution error ``success`` is False, ``data`` is ``{}``, ``error`` says what was
    wrong and ``exception`` holds the :class:`ExecutorError` (``raise_for_error()`` raises it).
    """

    success: bool
    data: Any
    error: str | None = None
    meta: dict[str, Any] | None = None
    provenance: Provenance | None = None
    result_type: str = "json"
    exception: ExecutorError | None = field(default=None, repr=False, compare=False)

    @classmethod
    def failed(cls, error: ExecutorError) -> ExecutionResult:
        meta: dict[str, Any] = {"error_type": type(error).__name__}
        if getattr(error, "field", None):
            meta["field"] = error.field  # type: ignore[attr-defined]
        return cls(False, {}, f"{type(error).__name__}: {error}", meta, exception=error)

    def raise_for_error(self) -> ExecutionResult:
        if self.exception is not None:
            raise self.exception
        return self

    def to_dataframe(self) -> pd.DataFrame:
        """The data as a DataFrame (for ``table`` results; one row for a single object).

        Nested objects and lists stay JSON text (``json.dumps``), never a Python repr, so the
        frame is hashable, Arrow-safe, and a cell can be parsed back.
        """
        import pandas as pd

        rows = self.data if isinstance(self.data, list) else [self.data]
        frame = pd.json_normalize([r if isinstance(r, dict) else {"value": r} for r in rows], max_level=0)
        for column in frame.columns:
            frame[column] = frame[column].map(
                lambda v: json.dumps(v, default=str) if isinstance(v, (dict, list)) else v)
        return frame

    def to_dict(self) -> dict[str, Any]:
        return {"success": self.success, "data": self.data, "error": self.error, "meta": self.meta,
                "provenance": self.provenance.to_dict() if self.provenance else None,
                "result_type": self.result_type}


@runtime_checkable
class ExecutorProtocol(Protocol):
    """Anything with the executor's ``execute(config)`` (every BaseAgentConnector has it)."""

    def execute(self, request: Any, action: str | None = None, *,
                params: dict[str, Any] | None = None) -> Any: ...


def as_config(request: Any, action: str | None = None,
              params: Mapping[str, Any] | None = None) -> ExecutionConfig | None:
    """The ExecutionConfig an ``execute`` call names, or None for the spec's dict request."""
    if isinstance(request, ExecutionConfig):
        if action is not None or params is not None:
            raise TypeError("execute(ExecutionConfig(...)) takes no action or params besides it.")
        return request
    if isinstance(request, str) and action is not None:
        return ExecutionConfig(request, action, params=params)  # type: ignore[arg-type]
    if isinstance(request, tuple) and len(request) in (2, 3) and all(isinstance(x, str) for x in request[:2]):
        entity, op_action, *rest = request
        return ExecutionConfig(entity, op_action, params=rest[0] if rest else None)
    if action is not None or params is not None:
        raise TypeError("execute(entity, action, params=...) takes the entity as a string.")
    return None


def catalogue_of(connector: BaseConnector | type[BaseConnector]) -> OperationCatalogue:
    catalogue = getattr(connector, "operations", None)
    if not isinstance(catalogue, OperationCatalogue):
        name = connector.__name__ if isinstance(connector, type) else type(connector).__name__
        return OperationCatalogue(name)  # empty: every entity is then "not found"
    return catalogue


class _Run:
    """One operation call being driven: validated params, its exchange, its provenance."""

    def __init__(self, connector: BaseConnector, config: ExecutionConfig) -> None:
        self.connector = connector
        self.catalogue = catalogue_of(connector)
        self.op = self.catalogue.lookup(config.entity, config.action)
        self.params = self.op.validate(config.params)  # before anything is sent
        self.client: HttpClient = connector._get_http_client()  # type: ignore[attr-defined]
        self.base_url = self.catalogue.base_url(connector)
        self.headers: dict[str, str] = connector._build_headers()  # type: ignore[attr-defined]

    def url(self, call: OpCall) -> str:
        url = call.path if call.path.startswith(("http://", "https://")) else self.base_url + call.path
        query = {k: _query_value(v) for k, v in (call.query or {}).items() if v is not None}
        return f"{url}?{urlencode(query)}" if query else url

    def exchange(self) -> OpExchange:
        """The operation's exchange, after one lookup of the server version (once per connector)."""
        state = _state(self.connector)
        if self.catalogue.version is not None and "server_version" not in state:
            path, key = self.catalogue.version
            body = yield OpCall("GET", path, expect="optional")
            value = body.get(key) if isinstance(body, dict) else None
            state["server_version"] = value if isinstance(value, str) else None
        produced = self.op.func(OperationContext(self.connector, self.base_url), self.params)
        if inspect.isgenerator(produced):
            return (yield from produced)
        return produced

    def result(self, produced: Any) -> ExecutionResult:
        output = produced if isinstance(produced, OpOutput) else OpOutput(produced)
        secrets = self.connector.config.secret_values()
        provenance = Provenance(
            connector=_connector_name(self.connector, self.catalogue), operation=self.op.name,
            params=_masked(self.params.model_dump(mode="json", exclude_defaults=True), secrets),
            server_version=_state(self.connector).get("server_version"),
            url=self.client.safe_url(self.base_url))
        return ExecutionResult(True, output.data, None, output.meta or {}, provenance,
                               self.op.result_type)


def _start(connector: BaseConnector, config: ExecutionConfig) -> _Run | ExecutionResult:
    try:
        return _Run(connector, config)
    except ExecutorError as exc:
        return ExecutionResult.failed(exc)


def run_sync(connector: BaseConnector, config: ExecutionConfig) -> ExecutionResult:
    """Run one operation with the connector's sync HTTP client."""
    run = _start(connector, config)
    if isinstance(run, ExecutionResult):
        return run
    exchange = run.exchange()
    try:
        call = next(exchange)
        while True:
            call = exchange.send(_send_sync(run, call))
    except StopIteration as done:
        return run.result(done.value)


async def run_async(connector: BaseConnector, config: ExecutionConfig) -> ExecutionResult:
    """Run one operation with the connector's async HTTP client."""
    run = _start(connector, config)
    if isinstance(run, ExecutionResult):
        return run
    exchange = run.exchange()
    try:
        call = next(exchange)
        while True:
            call = exchange.send(await _send_async(run, call))
    except StopIteration as done:
        return run.result(done.value)


def _send_sync(run: _Run, call: OpCall) -> Any:
    if call.expect == "optional":  # a lookup whose failure is not the operation's
        try:
            return run.client.request(call.method, run.url(call), headers=run.headers, expect="json",
                                      retry=False)
        except ConnectorError:
            return None
    if call.expect == "stream":
        from .streams import stream_sync

        return stream_sync(run.client, call.method, run.url(call), call.json, run.headers,
                           call.frames)
    try:
        return run.client.request(call.method, run.url(call), json=call.json, headers=run.headers,
                                  expect="object" if call.expect == "object" else "json")
    except ConnectorResponseError as exc:
        return _empty_ok(call, exc)


async def _send_async(run: _Run, call: OpCall) -> Any:
    if call.expect == "optional":
        try:
            return await run.client.arequest(call.method, run.url(call), headers=run.headers,
                                             expect="json", retry=False)
        except ConnectorError:
            return None
    if call.expect == "stream":
        from .streams import stream_async

        return await stream_async(run.client, call.method, run.url(call), call.json, run.headers,
                                  call.frames)
    try:
        return await run.client.arequest(call.method, run.url(call), json=call.json,
                                         headers=run.headers,
                                         expect="object" if call.expect == "object" else "json")
    except ConnectorResponseError as exc:
        return _empty_ok(call, exc)


def _empty_ok(call: OpCall, exc: ConnectorResponseError) -> None:
    """A 2xx answer with no body is the success a DELETE or cancel expects (``expect="empty"``)."""
    if call.expect == "empty" and exc.status_code is not None and 200 <= exc.status_code < 300 \
            and str(exc).startswith("Empty response body"):
        return None
    raise exc


async def run_many(connector: BaseConnector, configs: list[ExecutionConfig]) -> list[ExecutionResult]:
    """Run operations concurrently; results in order (infrastructure errors propagate)."""
    return list(await asyncio.gather(*(run_async(connector, c) for c in configs)))


def _state(connector: BaseConnector) -> dict[str, Any]:
    state: dict[str, Any] = connector._operation_state
    return state


def _connector_name(connector: BaseConnector, catalogue: OperationCatalogue) -> str:
    from .registry import ConnectorRegistry

    for name in ConnectorRegistry.list_all():
        if ConnectorRegistry._connectors[name] is type(connector):
            return name
    return catalogue.name


def _masked(value: Any, secrets: list[str], key: str = "") -> Any:
    """``value`` with credential-named fields masked and configured secret values redacted."""
    if key and is_secret_name(key) and value is not None:
        return MASK
    if isinstance(value, dict):
        return {k: _masked(v, secrets, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, secrets) for v in value]
    if isinstance(value, str):
        return redact(value, secrets)
    return value


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
