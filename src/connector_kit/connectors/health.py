"""Health checks: is the service reachable and answering, without raising."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class HealthCheckResult(BaseModel):
    """What ``connector.check()`` found (in the spirit of an executor's ``check()``)."""

    status: Literal["healthy", "unhealthy"]
    error: str | None = None
    latency_ms: float | None = None
    checked: str | None = None  # what was probed: a URL, or the code that was run

    @property
    def healthy(self) -> bool:
        return self.status == "healthy"
