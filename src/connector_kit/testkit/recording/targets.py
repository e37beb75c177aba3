"""Naming a connector: load its class from a registry name or ``module:Class``, and name a
class back (its ``module:Class`` path, the registry names it is registered under)."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import Any

from ...connectors.base import BaseConnector
from ...connectors.exceptions import ConnectorError, ConnectorKitError
from ...connectors.registry import ConnectorRegistry


class TargetError(ConnectorKitError):
    """A connector given as 'module:Class' or a registry name could not be loaded."""


def load_connector(target: str | type[BaseConnector]) -> type[BaseConnector]:
    """A connector class from a class, a registry name ("langflow") or "pkg.mod:Class"."""
    if isinstance(target, type):
        if not issubclass(target, BaseConnector):
            raise TargetError(f"{target.__name__} is not a BaseConnector subclass.")
        return target
    if ":" in target:
        module_name, _, attr = target.partition(":")
        try:
            module = _import_from_cwd(module_name)
        except ImportError as exc:
            raise TargetError(
                f"Cannot import module '{module_name}' for connector '{target}': {exc}. Is it on "
                "PYTHONPATH / installed in this environment?"
            ) from None
        except Exception as exc:
            # The module was found but its own code failed: the contributor's to fix, so every
            # command reports it as a bad target (exit 2), never as a kit bug. The cause stays
            # chained for --debug.
            raise TargetError(
                f"Importing module '{module_name}' for connector '{target}' raised "
                f"{type(exc).__name__}: {exc}. Fix the module (`python -c 'import {module_name}'` "
                "shows the traceback)."
            ) from exc
        found = getattr(module, attr, None)
        if not isinstance(found, type) or not issubclass(found, BaseConnector):
            raise TargetError(f"'{target}' is not a BaseConnector subclass.")
        return found
    _import_builtins()
    try:
        return ConnectorRegistry.get(target)
    except ConnectorError as exc:
        raise TargetError(str(exc)) from None


def _import_from_cwd(module_name: str) -> Any:
    """Import ``module_name``; like uvicorn, also look in the current directory."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError:
        cwd = os.getcwd()
        if cwd in sys.path:
            raise
        sys.path.insert(0, cwd)
        return importlib.import_module(module_name)


def _import_builtins() -> None:
    import connector_kit.connectors

    with contextlib.suppress(ImportError):  # the code extra may be absent
        import connector_kit.connectors.code_interpreter  # noqa: F401  (registers monty)


def class_path(cls: type[Any]) -> str:
    """``module:QualifiedName``, the form ``load_connector`` reads back."""
    return f"{cls.__module__}:{cls.__qualname__}"


def registry_names(cls: type[Any]) -> list[str]:
    """The names ``cls`` itself is registered under in the ConnectorRegistry (maybe none)."""
    return [name for name in ConnectorRegistry.list_all() if ConnectorRegistry.get(name) is cls]
