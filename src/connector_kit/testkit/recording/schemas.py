"""Schemas of the files the kit reads: a wrong shape is refused before any code walks it.

Each model says what a field must be, so ``_safe_yaml.validate`` can report
"interactions.0.response.status.code: Input should be a finite number (got inf)" instead of a
``KeyError`` deep inside replay. Models allow extra keys where the format is open (vcrpy adds
keys between versions, contributors add scenario options); types are checked where code
depends on them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .outcome import Outcome

#: A header map as vcrpy writes it: name -> list of values (a single value is accepted).
Headers = dict[str, list[str] | str]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class RequestModel(_Open):
    method: str = Field(min_length=1, max_length=16)
    uri: str = Field(min_length=1)
    headers: Headers = Field(default_factory=dict)
    body: str | bytes | None = None


class StatusModel(_Open):
    code: int = Field(ge=100, le=599)
    message: str = ""


class BodyModel(_Open):
    string: str | bytes = ""


class ResponseModel(_Open):
    status: StatusModel
    headers: Headers = Field(default_factory=dict)
    body: BodyModel | str | bytes | None = None


class InteractionModel(_Open):
    request: RequestModel
    response: ResponseModel


class ScenarioSection(_Open):
    name: str | None = None
    messages: list[dict[str, Any]] | str = Field(default_factory=list)
    session_id: str | None = None
    url: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    expect: str = "ok"
    steps: list[dict[str, Any]] | None = None


class KitSection(_Open):
    format: int = 1
    scenario: ScenarioSection = Field(default_factory=ScenarioSection)
    metadata: dict[str, Any] = Field(default_factory=dict)
    outcome: Outcome | None = None
    stats: list[dict[str, Any]] = Field(default_factory=list)


class CassetteFile(_Open):
    """A vcrpy cassette (``version: 1`` + ``interactions``) with the kit's own section."""

    version: Literal[1]
    interactions: list[InteractionModel]
    connector_kit: KitSection | None = None


# -- scenarios.yaml ----------------------------------------------------------------------------

class ScenarioDefaults(_Open):
    description: str = ""
    messages: list[dict[str, Any]] | str | None = None
    session_id: str | None = None
    url: str | None = None
    config: dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    expect: str | None = None
    tags: list[str] | None = None
    steps: list[dict[str, Any]] | None = None
    fresh_session: bool | None = None


class ScenarioEntry(ScenarioDefaults):
    name: str = Field(min_length=1)


class CatalogueFile(_Open):
    framework: str | None = None
    connector: str | None = None
    defaults: ScenarioDefaults | None = None
    scenarios: list[ScenarioEntry]


# -- certify.yaml ------------------------------------------------------------------------------

class TimingSettings(_Open):
    budget_ms: float = Field(default=50.0, gt=0, allow_inf_nan=False)
    rounds: int = Field(default=3, ge=1, le=10_000)


class FuzzSettings(_Open):
    examples: int = Field(default=50, ge=1, le=1_000_000)
    http_examples: int | None = Field(default=None, ge=1, le=1_000_000)
    stream_examples: int | None = Field(default=None, ge=1, le=1_000_000)
    max_failures: int = Field(default=3, ge=1)
    seed: int | None = None


class FaultsSettings(_Open):
    scenario: str | None = None
    responses: list[Any] | None = None
    url: str | None = None
    options: dict[str, Any] | None = None
    step: int = -1
    tolerance_s: float = Field(default=0.5, gt=0, le=60, allow_inf_nan=False)
    only: list[str] | None = None


class DeclarationFile(BaseModel):
    """``certify.yaml``: the suites, bypasses with their reasons, per-suite settings."""

    model_config = ConfigDict(extra="allow")

    suites: list[str] | None = None
    bypass: dict[str, str | None] = Field(default_factory=dict)
    timing: TimingSettings | None = None
    fuzz: FuzzSettings | None = None
    faults: FaultsSettings | None = None

    @field_validator("suites")
    @classmethod
    def _suite_names(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("lists no suite; omit 'suites' for the defaults")
        return value

    @model_validator(mode="after")
    def _sections_are_mappings(self) -> DeclarationFile:
        for name, value in (self.model_extra or {}).items():
            if not isinstance(value, dict):
                raise ValueError(f"'{name}' must be a mapping of settings for the suite '{name}', "
                                 f"got {type(value).__name__}")
        return self

    def settings(self) -> dict[str, dict[str, Any]]:
        """Each suite's settings as given (only the keys the file sets)."""
        out: dict[str, dict[str, Any]] = {}
        for name in ("timing", "fuzz", "faults"):
            section = getattr(self, name)
            if section is not None:
                out[name] = section.model_dump(exclude_unset=True)
        out.update((self.model_extra or {}).items())
        return out


__all__ = ["CassetteFile", "CatalogueFile", "DeclarationFile", "FaultsSettings", "FuzzSettings",
           "TimingSettings"]
