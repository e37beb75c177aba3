"""Health checks: is the service reachable and answering, without raising."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from .exceptions import ConnectorError

if TYPE_CHECKING:
    from .base import BaseConnector
    from .executor import ExecutionResult
    from .operations import Operation


class HealthCheckResult(BaseModel):
    """What ``connector.check()`` found (in the spirit of an executor's ``check()``).

    ``checked_entity`` / ``checked_action`` name the operation probed when the connector has
    one for it; ``success`` and ``data`` read it as the executor reference's ExecutionResult.
    """

    status: Literal["healthy", "unhealthy"]
    error: str | None = None
    latency_ms: float | None = None
    checked: str | None = None  # what was probed: a URL, or the code that was run
    checked_entity: str | None = None
    checked_action: str | None = None

    @property
    def healthy(self) -> bool:
        return self.status == "healthy"

    @property
    def success(self) -> bool:
        return self.healthy

    @property
    def data(self) -> dict[str, Any]:
        return {"status": self.status, "error": self.error, "checked_entity": self.checked_entity,
                "checked_action": self.checked_action}


def probe_operation(connector: BaseConnector | type[BaseConnector], entity: str) -> Operation | None:
    """The read-only, parameter-free operation that probes ``entity`` (list, search, then any)."""
    from .executor import catalogue_of

    catalogue = catalogue_of(connector)
    candidates = [op for op in catalogue if op.entity == entity and op.readonly and not op.required()]
    order = {"list": 0, "search": 1, "check": 2, "get": 3}
    candidates.sort(key=lambda op: (order.get(op.action, 9), op.action))
    return candidates[0] if candidates else None


async def check_entities(connector: BaseConnector, entities: list[str]) -> ExecutionResult:
    """Probe every entity concurrently; one ExecutionResult with a report per entity."""
    from .executor import ExecutionConfig, ExecutionResult

    async def probe(entity: str) -> dict[str, Any]:
        from .executor import catalogue_of

        op = probe_operation(connector, entity)
        if op is None and entity not in catalogue_of(connector).entities():
            return {"status": "unhealthy", "checked_entity": entity, "checked_action": None,
                    "error": f"EntityNotFoundError: {connector.__class__.__name__} has no entity "
                             f"{entity!r}; entities: {', '.join(catalogue_of(connector).entities())}"}
        if op is None:
            return {"status": "unhealthy", "checked_entity": entity, "checked_action": None,
                    "error": f"no read-only operation without parameters to probe {entity!r} with"}
        try:
            result = await connector.arun_operation(ExecutionConfig(op.entity, op.action))
        except ConnectorError as exc:
            error: str | None = f"{type(exc).__name__}: {exc}"
        else:
            error = result.error
        return {"status": "unhealthy" if error else "healthy", "error": error,
                "checked_entity": op.entity, "checked_action": op.action}

    reports = await asyncio.gather(*(probe(e) for e in entities))
    data = dict(zip(entities, reports, strict=True))
    healthy = all(r["status"] == "healthy" for r in reports)
    return ExecutionResult(healthy, data, None if healthy else "unhealthy entities: " + ", ".join(
        e for e, r in data.items() if r["status"] != "healthy"), {"checked": list(entities)})
