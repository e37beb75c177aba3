"""ConnectorRegistry: connector classes by name, for blocks and the CLI to look up."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

from .base import BaseConnector
from .exceptions import ConnectorError

T = TypeVar("T", bound=type[BaseConnector])


class ConnectorRegistry:
    """Class-level registry of connector classes. All methods are class methods."""

    _connectors: dict[str, type[BaseConnector]] = {}

    @classmethod
    def register(cls, name: str) -> Callable[[T], T]:
        """Decorator registering a BaseConnector subclass under ``name``."""

        def decorator(connector_class: T) -> T:
            if not inspect.isclass(connector_class):
                raise ConnectorError(
                    f"Cannot register '{name}': expected a class, got "
                    f"{type(connector_class).__name__}. Decorate the connector class itself."
                )
            if not issubclass(connector_class, BaseConnector):
                raise ConnectorError(
                    f"Cannot register '{name}': {connector_class.__name__} must inherit from "
                    "BaseConnector."
                )
            cls._connectors[name] = connector_class
            return connector_class

        return decorator

    @classmethod
    def get(cls, name: str) -> type[BaseConnector]:
        """Return the class registered under ``name``."""
        try:
            return cls._connectors[name]
        except (KeyError, TypeError):
            available = ", ".join(cls.list_all()) or "(none)"
            raise ConnectorError(f"Connector '{name}' not found. Available: {available}") from None

    @classmethod
    def list_all(cls) -> list[str]:
        """Sorted names of every registered connector."""
        return sorted(cls._connectors)

    @classmethod
    def to_llm(cls) -> str:
        """Every registered connector's operations, as an agent reads them (see ``to_llm``)."""
        sections = [cls._connectors[name].to_llm() for name in cls.list_all()
                    if cls._connectors[name].operations]
        return "\n".join(sections) if sections else "(no connector with operations is registered)\n"

    @classmethod
    def clear(cls) -> None:
        """Forget every registered connector (for tests)."""
        cls._connectors.clear()
