"""BlockRegistry: block classes by name, so a flow's YAML can say ``block_type: AgentBlock``."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import TypeVar

from .base import BaseBlock
from .errors import BlockConfigError

B = TypeVar("B", bound=type[BaseBlock])


class BlockRegistry:
    """Class-level registry of block classes. All methods are class methods."""

    _blocks: dict[str, type[BaseBlock]] = {}

    @classmethod
    def register(cls, name: str | None = None) -> Callable[[B], B]:
        """Decorator registering a BaseBlock subclass under ``name`` (default: its class name)."""

        def decorator(block_class: B) -> B:
            if not (isinstance(block_class, type) and issubclass(block_class, BaseBlock)):
                raise BlockConfigError(f"Cannot register {block_class!r} as a block: it must be a "
                                       "BaseBlock subclass.")
            cls._blocks[name or block_class.__name__] = block_class
            return block_class

        return decorator

    @classmethod
    def get(cls, name: str) -> type[BaseBlock]:
        """The block class registered under ``name``; the error lists what is available."""
        try:
            return cls._blocks[name]
        except (KeyError, TypeError):
            available = cls.list_all()
            close = difflib.get_close_matches(str(name), available, n=1) if isinstance(name, str) else []
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise BlockConfigError(
                f"Unknown block_type {name!r}.{hint} Available: {', '.join(available) or '(none)'}"
            ) from None

    @classmethod
    def list_all(cls) -> list[str]:
        """Sorted names of every registered block type."""
        return sorted(cls._blocks)


__all__ = ["BlockRegistry"]
