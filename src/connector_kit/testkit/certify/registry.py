"""Where suites come from: installed packages' ``connector_kit.suites`` entry points, and
:func:`register_suite` for suites defined in the running process.

Every built-in suite is declared in ``pyproject.toml`` the same way a contributor declares
theirs::

    [project.entry-points."connector_kit.suites"]
    mysuite = "mypackage.suite:mysuite"   # a callable: Plan -> list[Check]

so a suite is found once its package is installed, without anything importing it first.
A plug-in that cannot be loaded (import error, not callable, two packages claiming one name)
becomes an "error" row naming its distribution, never a crash of the whole run.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

from ...connectors.exceptions import ConnectorKitError
from .checks import Check, describe_error

if TYPE_CHECKING:
    from .plan import Plan

#: The entry-point group suites are declared in.
ENTRY_POINT_GROUP = "connector_kit.suites"

SuiteBuilder = Callable[["Plan"], list[Check]]
_REGISTERED: dict[str, SuiteBuilder] = {}


class SuitePluginError(ConnectorKitError):
    """An installed suite plug-in could not be loaded; the message names its distribution."""


def register_suite(name: str) -> Callable[[SuiteBuilder], SuiteBuilder]:
    """Add a suite defined in this process (it takes precedence over an installed one)."""

    def decorator(builder: SuiteBuilder) -> SuiteBuilder:
        _REGISTERED[name] = builder
        return builder

    return decorator


def suite_names() -> list[str]:
    """Every suite's name: installed (entry points) and registered in this process."""
    return sorted({*_REGISTERED, *(point.name for point in _installed())})


def find_suite(name: str) -> SuiteBuilder | None:
    """The builder of suite ``name``; None when no suite has that name.

    Raises :class:`SuitePluginError` when the suite is installed but cannot be loaded.
    """
    if name in _REGISTERED:
        return _REGISTERED[name]
    points = {point.value: point for point in _installed() if point.name == name}
    if not points:
        return None
    if len(points) > 1:
        claims = "; ".join(f"{_origin(p)} ({p.value})" for p in points.values())
        raise SuitePluginError(f"suite '{name}' is declared by more than one installed package: "
                               f"{claims}. Uninstall or rename one of them.")
    point = next(iter(points.values()))
    try:
        builder = point.load()
    except Exception as exc:
        raise SuitePluginError(
            f"suite '{name}' from {_origin(point)} ({point.value}) could not be loaded: "
            f"{describe_error(exc)}. Fix or reinstall that package, or uninstall it.") from exc
    if not callable(builder):
        raise SuitePluginError(
            f"suite '{name}' from {_origin(point)} ({point.value}) is a "
            f"{type(builder).__name__}, not a suite builder (a callable taking a Plan and "
            "returning a list of Check).")
    found: SuiteBuilder = builder
    return found


def unknown_suite_message(name: str) -> str:
    """Why suite ``name`` is not found, and what to do."""
    text = f"no suite named '{name}' is installed (known: {', '.join(suite_names())})"
    if not any(point.value.startswith("connector_kit.") for point in _installed()):
        # An install made before the suites were entry points declares none of them.
        text += ("; connector-kit's own suites are declared as entry points, which this "
                 "install lacks: reinstall it (pip install -e '.[dev]' in a checkout)")
    return text


def _installed() -> list[EntryPoint]:
    return list(entry_points(group=ENTRY_POINT_GROUP))


def _origin(point: EntryPoint) -> str:
    dist = point.dist
    if dist is None:
        return "an unnamed distribution"
    return f"distribution {dist.name} {dist.version}"
