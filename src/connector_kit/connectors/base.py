"""ConnectorConfig and BaseConnector: what every connector is built from."""

from __future__ import annotations

import asyncio
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self
from urllib.parse import unquote, urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr

from ._secrets import MASK, is_secret_name, mask_url

if TYPE_CHECKING:
    from .batch import BatchItem
    from .executor import ExecutionConfig, ExecutionResult
    from .operations import OperationCatalogue, OperationFunc, OperationParams, ResultType



def _finite_seconds(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("timeout must be a finite number of seconds greater than 0")
    return value


#: A timeout in seconds: ``gt=0`` alone lets NaN and inf through (both compare as > 0 or
#: not at all), and an infinite timeout would wait for ever.
FiniteSeconds = Annotated[float, AfterValidator(_finite_seconds)]

class ConnectorConfig(BaseModel):
    """Connection parameters shared by all connectors.

    Framework-specific extras are accepted (``extra="allow"``). The API key, and any
    extra whose name looks like a credential, is masked in ``repr``/``str``.
    """

    model_config = ConfigDict(extra="allow")

    url: str | None = Field(default=None, description="Base URL for the external service.")
    api_key: str | None = Field(default=None, description="API key for authentication.", repr=False)
    timeout: FiniteSeconds = Field(default=120.0, gt=0, description="Request timeout in seconds.")
    max_retries: int = Field(default=3, ge=0, description="Maximum number of retry attempts.")

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            if name is not None and is_secret_name(name) and value is not None:
                yield name, MASK
            elif name == "url" and isinstance(value, str):
                yield name, mask_url(value, self.secret_values())
            else:
                yield name, value
        if self.api_key is not None:
            yield "api_key", MASK

    def secret_values(self) -> list[str]:
        """Every credential value this config holds, for redaction."""
        values = [self.api_key] if self.api_key else []
        for name, value in (self.model_extra or {}).items():
            if is_secret_name(name) and isinstance(value, str) and value:
                values.append(value)
        if isinstance(self.url, str) and "@" in self.url:  # http://user:<password>@host
            try:
                password = urlsplit(self.url).password
            except ValueError:
                password = None
            if password:
                values += [password, unquote(password)]
        return values


class BaseConnector(BaseModel, ABC):
    """Abstract base for all connectors: ``execute()`` and ``aexecute()``.

    A connector with an operation catalogue (``operations``) is also an executor:
    ``execute(ExecutionConfig(entity, action, params=...))`` or ``execute(entity, action,
    params=...)`` run one typed operation (see :mod:`connector_kit.connectors.operations`).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    config: ConnectorConfig = Field(..., description="The connector configuration.")

    #: The connector's typed operations (None: it has none).
    operations: ClassVar[OperationCatalogue | None] = None

    _operation_state: dict[str, Any] = PrivateAttr(default_factory=dict)

    @abstractmethod
    def execute(self, request: Any) -> Any:
        """Execute a synchronous request (the format depends on the connector type)."""

    async def aexecute(self, request: Any) -> Any:
        """Execute asynchronously; the default runs :meth:`execute` in a worker thread."""
        return await asyncio.to_thread(self.execute, request)

    # -- the executor interface (typed operations) -----------------------------------------
    def run_operation(self, config: ExecutionConfig) -> ExecutionResult:
        """Run one operation; execution errors are returned, infrastructure errors raised."""
        from .executor import run_sync

        return run_sync(self, config)

    async def arun_operation(self, config: ExecutionConfig) -> ExecutionResult:
        """Async :meth:`run_operation`."""
        from .executor import run_async

        return await run_async(self, config)

    async def acheck_entities(self, entities: Sequence[str]) -> ExecutionResult:
        """Probe each entity with a read-only operation that needs no parameters, concurrently."""
        from .health import check_entities

        return await check_entities(self, list(entities))

    def check_entities(self, entities: Sequence[str]) -> ExecutionResult:
        """Sync :meth:`acheck_entities`: ``data[entity]`` holds status, error and what was probed."""
        from .batch import run_blocking

        async def probe() -> ExecutionResult:
            try:
                return await self.acheck_entities(entities)
            finally:
                await self._release_loop()

        return run_blocking(probe)

    @classmethod
    def to_llm(cls) -> str:
        """Every operation of this connector as an agent reads it (params, result, next step)."""
        from .executor import catalogue_of

        catalogue = catalogue_of(cls)
        title = catalogue.name if catalogue.name == cls.__name__ else f"{catalogue.name} ({cls.__name__})"
        return catalogue.to_llm(title)

    @classmethod
    def operation(cls, entity: str, action: str, *, result_type: ResultType = "json",
                  readonly: bool = False,
                  params: type[OperationParams] | None = None) -> Callable[[OperationFunc], OperationFunc]:
        """Decorator adding an operation to this class only (its catalogue is copied first)."""
        from .operations import OperationCatalogue

        own = cls.__dict__.get("operations")
        if not isinstance(own, OperationCatalogue):
            inherited = cls.operations
            own = inherited.copy(cls.__name__) if inherited is not None else OperationCatalogue(cls.__name__)
            type.__setattr__(cls, "operations", own)
        return own.operation(entity, action, result_type=result_type, readonly=readonly, params=params)

    async def aexecute_batch(
        self,
        requests: Sequence[Any],
        *,
        max_concurrency: int = 10,
        fail_fast: bool = False,
        on_result: Callable[[BatchItem], None] | None = None,
    ) -> list[BatchItem]:
        """Run many requests through this one connector concurrently, results in order.

        A request is the connector's own (a dict for agents), an ``ExecutionConfig``, or an
        ``(entity, action, params)`` tuple (an ``ExecutionResult`` then). Each ends as a
        ``BatchItem`` holding its value or its error; ``fail_fast`` raises the first error.
        """
        from .batch import run_batch
        from .executor import as_config

        requests = [as_config(r) or r if isinstance(r, tuple) else r for r in requests]
        return await run_batch(self.aexecute, requests, max_concurrency=max_concurrency,
                               fail_fast=fail_fast, on_result=on_result)

    def execute_batch(
        self,
        requests: Sequence[Any],
        *,
        max_concurrency: int = 10,
        fail_fast: bool = False,
        on_result: Callable[[BatchItem], None] | None = None,
    ) -> list[BatchItem]:
        """Synchronous :meth:`aexecute_batch` (works inside a running event loop too)."""
        from .batch import run_blocking

        async def batch() -> list[BatchItem]:
            try:
                return await self.aexecute_batch(requests, max_concurrency=max_concurrency,
                                                 fail_fast=fail_fast, on_result=on_result)
            finally:
                await self._release_loop()  # the loop run_blocking made ends with this call

        return run_blocking(batch)

    async def _release_loop(self) -> None:
        """Release what is bound to the running event loop (its async HTTP pool) before it ends."""

    def close(self) -> None:
        """Release pooled resources (HTTP clients, worker processes). Safe to call twice."""

    async def aclose(self) -> None:
        """Async counterpart of :meth:`close`."""
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
