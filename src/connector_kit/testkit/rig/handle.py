"""What a started rig tells its users, and the error a rig raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...connectors.exceptions import ConnectorKitError


class RigError(ConnectorKitError):
    """A live rig could not be installed, started or reached."""


@dataclass
class RigHandle:
    """What a started rig tells its users: where it listens and how to authenticate."""

    framework: str
    url: str
    api_key: str | None
    pids: list[int]
    versions: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

