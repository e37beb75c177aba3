"""Cassettes: the wire exchange of one scenario plus its connector-level outcome.

The file is a vcrpy cassette (``version: 1`` + ``interactions``, loadable by vcrpy and
pytest-recording) with one extra top-level key, ``connector_kit``, holding what plain HTTP
recorders lack: the scenario that was run, the outcome the connector produced from the
exchange (text, session id, tool trace -- or the error), retry statistics and metadata.
Read through the kit's safe loader and checked against ``schemas.CassetteFile``; written
atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .._safe_yaml import dump_yaml, load_yaml, validate
from ..connectors.exceptions import ConnectorKitError
from .schemas import CassetteFile

FORMAT = 1


class CassetteError(ConnectorKitError):
    """A cassette is missing, unreadable or not in the expected format."""


@dataclass
class RecordedRequest:
    method: str
    uri: str
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: str | None = None

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def path(self) -> str:
        rest = self.uri.split("://", 1)[-1]
        return "/" + rest.split("/", 1)[1] if "/" in rest else "/"


@dataclass
class RecordedResponse:
    status: int
    message: str = ""
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: str = ""


@dataclass
class Interaction:
    request: RecordedRequest
    response: RecordedResponse

    def to_vcr(self) -> dict[str, Any]:
        return {
            "request": {
                "body": self.request.body,
                "headers": self.request.headers,
                "method": self.request.method,
                "uri": self.request.uri,
            },
            "response": {
                "status": {"code": self.response.status, "message": self.response.message},
                "headers": self.response.headers,
                "body": {"string": self.response.body},
            },
        }

    @classmethod
    def from_vcr(cls, data: dict[str, Any]) -> Interaction:
        req, resp = data["request"], data["response"]
        body = resp.get("body") or {}
        return cls(
            RecordedRequest(str(req["method"]), str(req["uri"]), _headers(req.get("headers")),
                            req.get("body")),
            RecordedResponse(int(resp["status"]["code"]), str(resp["status"].get("message", "")),
                             _headers(resp.get("headers")),
                             body.get("string", "") if isinstance(body, dict) else str(body)),
        )


@dataclass
class Outcome:
    """What the connector made of the exchange: the fields users consume, or the error."""

    ok: bool
    text: str | None = None
    session_id: str | None = None
    tool_trace: list[dict[str, Any]] | None = None
    error_type: str | None = None
    error_message: str | None = None
    status_code: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None or k == "ok"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]

    def compared_fields(self) -> dict[str, Any]:
        """The fields replay and diff compare (the message is reported, not compared)."""
        return {"ok": self.ok, "text": self.text, "session_id": self.session_id,
                "tool_trace": self.tool_trace, "error_type": self.error_type,
                "status_code": self.status_code}


@dataclass
class Cassette:
    interactions: list[Interaction] = field(default_factory=list)
    scenario: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    outcome: Outcome | None = None
    stats: list[dict[str, Any]] = field(default_factory=list)
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "interactions": [i.to_vcr() for i in self.interactions],
            "version": 1,
            "connector_kit": {
                "format": FORMAT,
                "scenario": self.scenario,
                "metadata": self.metadata,
                "outcome": self.outcome.to_dict() if self.outcome else None,
                "stats": self.stats,
            },
        }

    def dumps(self) -> str:
        return dump_yaml(self.to_dict(), sort_keys=False, allow_unicode=True, width=100)

    def save(self, path: Path) -> Path:
        """Write atomically (temp file + rename): concurrent readers never see half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.dumps())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.path = path
        return path

    @classmethod
    def load(cls, path: Path, *, root: Path | None = None) -> Cassette:
        """Read a cassette through the safe loader and its schema (see ``_safe_yaml``)."""
        try:
            data = load_yaml(path, root=root, error=CassetteError)
        except FileNotFoundError:
            raise CassetteError(
                f"No cassette at {path}. Record it first: connector-kit record <framework> "
                "--scenario <name> (or run pytest with --record-mode=once)."
            ) from None
        validate(CassetteFile, data, str(path), error=CassetteError, what="cassette")
        extra = data.get("connector_kit") or {}
        interactions = [Interaction.from_vcr(i) for i in data["interactions"]]
        outcome = extra.get("outcome")
        return cls(
            interactions=interactions,
            scenario=extra.get("scenario") or {},
            metadata=extra.get("metadata") or {},
            outcome=Outcome.from_dict(outcome) if isinstance(outcome, dict) else None,
            stats=extra.get("stats") or [],
            path=path,
        )


def _headers(raw: Any) -> dict[str, list[str]]:
    if not isinstance(raw, dict):
        return {}
    return {str(k): [str(v) for v in (vs if isinstance(vs, list) else [vs])] for k, vs in raw.items()}
