"""What a folder declares in ``certify.yaml``: its suites, bypasses and suite settings.

::

    suites: [contract, replay, fuzz, faults, timing]
    bypass: {faults: "the server never returns 5xx (reason shown in the report)"}
    timing: {budget_ms: 50}
    fuzz: {examples: 200}

A bypass without a written reason is refused: the report shows every reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..._safe_yaml import load_yaml, validate
from ...connectors.exceptions import ConnectorKitError
from ..recording.schemas import DeclarationFile


class DeclarationError(ConnectorKitError, ValueError):
    """A folder's certify.yaml is invalid (e.g. a bypass without a written reason)."""


@dataclass
class Declaration:
    """What a folder's certify.yaml declares (defaults when there is none)."""

    suites: list[str]
    bypass: dict[str, str] = field(default_factory=dict)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path | None, default_suites: tuple[str, ...]) -> Declaration:
        path = folder / "certify.yaml" if folder else None
        if path is None or not path.exists():
            return cls(list(default_suites))
        data = load_yaml(path, error=DeclarationError)
        if data is None:
            data = {}
        declared = validate(DeclarationFile, data, str(path), error=DeclarationError,
                            what="certify.yaml")
        suites = list(declared.suites or default_suites)
        bypass = {k: v or "" for k, v in declared.bypass.items()}
        for suite, reason in bypass.items():
            if not reason.strip():
                raise DeclarationError(f"{path}: bypassing '{suite}' needs a written reason.")
        return cls(suites, bypass, declared.settings())


def validate_options(options: dict[str, Any]) -> None:
    """Options given in code or on the command line obey the same bounds as certify.yaml."""
    validate(DeclarationFile, options, "certification options", error=DeclarationError)
