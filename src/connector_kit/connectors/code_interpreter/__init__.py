"""Code interpreter connectors: run Python snippets in a sandbox, get a CodeExecutionResult.

Importing this package does not import pydantic-monty; the MontyConnector loads it when its
worker pool first starts (install it with ``pip install 'connector-kit[code]'``).
"""

from .base import BaseCodeInterpreterConnector, CodeExecutionResult
from .limits import MontyLimits
from .monty import MontyConnector

__all__ = [
    "BaseCodeInterpreterConnector",
    "CodeExecutionResult",
    "MontyConnector",
    "MontyLimits",
]
