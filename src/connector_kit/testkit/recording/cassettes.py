"""Cassettes: the wire exchange of one scenario plus its connector-level outcome.

The file is a plain vcrpy cassette (``version: 1`` + ``interactions``), written by vcrpy
itself through :class:`KitPersister`, so vcrpy and pytest-recording replay it as it is. One
extra top-level key, ``connector_kit``, holds what plain HTTP recorders lack: the scenario
that was run, the outcome the connector produced from the exchange (text, session id, tool
trace -- or the error), retry statistics and metadata. A cassette without that section (one
written by plain vcrpy or pytest-recording) is read just the same.

Every cassette read goes through :func:`load_document` (the kit's safe loader,
``_safe_yaml``, and the ``schemas.CassetteFile`` schema); every write is atomic (temp file +
rename), so a reader never sees half a file and a failed write leaves the old one in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..._safe_yaml import dump_yaml, load_yaml, validate
from ...connectors.exceptions import ConnectorKitError
from .outcome import Outcome
from .schemas import CassetteFile

FORMAT = 1
SECTION = "connector_kit"


class CassetteError(ConnectorKitError):
    """A cassette is missing, unreadable or not in the expected format."""


# -- the one load function ------------------------------------------------------------------

_PARSED: dict[tuple[str, int, int], dict[str, Any]] = {}
_PARSED_MAX = 64


def load_document(path: Path, *, root: Path | None = None) -> dict[str, Any]:
    """The parsed cassette at ``path``: ``_safe_yaml`` (bounded, regular file inside ``root``,
    no aliases) and the ``CassetteFile`` schema.

    Every cassette read in the kit (vcrpy's persister included) goes through here. A parse
    is reused while the file is unchanged (same path, size and mtime): a replay reads its
    cassette twice (the kit's view, then vcrpy's), and the YAML parse is most of a replay's
    cost. Callers must not mutate the returned document.
    """
    try:
        stat = path.stat()
    except FileNotFoundError:
        stat = None
    key = (str(path.absolute()), stat.st_size, stat.st_mtime_ns) if stat is not None else None
    if key is not None and key in _PARSED:
        return _PARSED[key]
    try:
        data = load_yaml(path, root=root, error=CassetteError)
    except FileNotFoundError:
        raise CassetteError(
            f"No cassette at {path}. Record it first: connector-kit record <framework> "
            "--scenario <name> (or run pytest with --record-mode=once)."
        ) from None
    validate(CassetteFile, data, str(path), error=CassetteError, what="cassette")
    assert isinstance(data, dict)  # the schema is a mapping
    if key is not None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = data
    return data


def dump_document(data: dict[str, Any]) -> str:
    """YAML text of a cassette: vcrpy's layout (sorted keys, block style), with the safe
    dumper and never an alias (the loader refuses aliases)."""
    return dump_yaml(data)


def atomic_write(path: Path, text: str) -> Path:
    """Write atomically (temp file + rename): concurrent readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# -- vcrpy's persister ------------------------------------------------------------------------

_PENDING: dict[str, Callable[[dict[str, Any] | None], dict[str, Any] | None]] = {}
_PENDING_LOCK = threading.Lock()


def set_section(path: Path | str, provider: Callable[[dict[str, Any] | None], dict[str, Any] | None]
                ) -> None:
    """What the next save of ``path`` writes as its ``connector_kit`` section.

    ``provider`` gets the section already in the file (or None) and returns the new one; it
    is called when vcrpy saves, after the interactions passed the save hooks.
    """
    with _PENDING_LOCK:
        _PENDING[_key(path)] = provider


def clear_section(path: Path | str) -> None:
    with _PENDING_LOCK:
        _PENDING.pop(_key(path), None)


_REFUSED: set[str] = set()


def refuse_save(path: Path | str) -> None:
    """The next save of ``path`` writes nothing (a save hook found a secret)."""
    with _PENDING_LOCK:
        _REFUSED.add(_key(path))


def _key(path: Path | str) -> str:
    return str(Path(path).absolute())


class _Parsed:
    """A serializer handing vcrpy's ``deserialize`` a document :func:`load_document` parsed."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def deserialize(self, _text: str) -> dict[str, Any]:
        return self.data


class _WithSection:
    """The configured serializer, writing the ``connector_kit`` section after vcrpy's keys."""

    def __init__(self, serializer: Any, section: dict[str, Any] | None) -> None:
        self.serializer = serializer
        self.section = section

    def serialize(self, data: dict[str, Any]) -> str:
        if self.section is not None:
            data = {**data, SECTION: self.section}
        if getattr(self.serializer, "__name__", "") == "vcr.serializers.yamlserializer":
            return dump_document(data)  # the same text, but never an alias
        return str(self.serializer.serialize(data))


class KitPersister:
    """vcrpy persister: safe bounded loads, atomic saves, the ``connector_kit`` section kept.

    Registered on every VCR the kit configures (``vcr.register_persister(KitPersister)``).
    ``extra_paths`` (an instance) also loads interactions from more cassettes, as
    pytest-recording's ``@pytest.mark.vcr("other.yaml")`` does; saving writes the first only.
    """

    def __init__(self, extra_paths: list[Path] | None = None, *, lock: bool = False) -> None:
        self.extra_paths = list(extra_paths or [])
        self.lock = lock

    def load_cassette(self, cassette_path: str | Path, serializer: Any) -> tuple[Any, ...]:
        from vcr.persisters.filesystem import CassetteNotFoundError
        from vcr.serialize import deserialize

        path = Path(cassette_path)
        paths = [p for p in [path, *self.extra_paths] if p.is_file() and p.stat().st_size]
        if not paths:
            raise CassetteNotFoundError()
        requests: list[Any] = []
        responses: list[Any] = []
        for one in paths:
            data = load_document(one)
            # vcrpy turns the response bodies into bytes in place: give it its own dicts.
            copied = {**data, "interactions": [
                {"request": i["request"], "response": {**i["response"], "body": dict(
                    i["response"].get("body") or {})}} if isinstance(i, dict) and isinstance(
                    i.get("response"), dict) else i for i in data["interactions"]]}
            try:
                loaded = deserialize("", _Parsed(copied))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise CassetteError(f"{one} has a malformed interaction: {exc!r}") from None
            requests.extend(loaded[0])
            responses.extend(loaded[1])
        return requests, responses

    def save_cassette(self, cassette_path: str | Path, cassette_dict: dict[str, Any],
                      serializer: Any) -> None:
        from vcr.serialize import serialize

        path = Path(cassette_path)
        with _PENDING_LOCK:
            provider = _PENDING.pop(_key(path), None)
            if _key(path) in _REFUSED:
                _REFUSED.discard(_key(path))
                return  # never raise here: vcrpy saves in __exit__ (see KitHooks.before_save)
        with cassette_lock(path) if self.lock else contextlib.nullcontext():
            existing = _existing_section(path)
            section = provider(existing) if provider is not None else existing
            atomic_write(path, serialize(cassette_dict, _WithSection(serializer, section)))


def cassette_lock(path: Path) -> Any:
    """A cross-process lock for one cassette (pytest-xdist workers sharing a file).

    ``filelock`` (portable; no ``fcntl`` import at module level). The lock file lives in
    the temp folder, never beside the cassettes, and is never unlinked: deleting a lock file
    while another process waits on it is what lets two writers in at once.
    """
    from filelock import FileLock

    folder = Path(tempfile.gettempdir()) / "connector-kit-locks"
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(_key(path).encode("utf-8")).hexdigest()[:24]
    return FileLock(str(folder / f"{name}.lock"), timeout=120)


def _existing_section(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        section = load_document(path).get(SECTION)
    except CassetteError:
        return None
    return section if isinstance(section, dict) else None


# -- the kit's view of a cassette -------------------------------------------------------------

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
        return request_path(self.uri)


def request_path(uri: str) -> str:
    """The path and query of a request URI (``/api/run?stream=true``), ``/`` when it has none."""
    parts = urlsplit(uri)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


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
                            _text(req.get("body"))),
            RecordedResponse(int(resp["status"]["code"]), str(resp["status"].get("message") or ""),
                             _headers(resp.get("headers")),
                             _text(body.get("string") if isinstance(body, dict) else body) or ""),
        )


@dataclass
class Cassette:
    interactions: list[Interaction] = field(default_factory=list)
    scenario: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    outcome: Outcome | None = None
    stats: list[dict[str, Any]] = field(default_factory=list)
    path: Path | None = None
    #: The test's calls, for cassettes the pytest plugin wrote (inputs and outcome per call).
    calls: list[dict[str, Any]] = field(default_factory=list)
    #: False for a plain vcrpy / pytest-recording cassette (no ``connector_kit`` section).
    has_section: bool = True

    def section(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": FORMAT, "scenario": self.scenario, "metadata": self.metadata,
                               "outcome": self.outcome.to_dict() if self.outcome else None,
                               "stats": self.stats}
        if self.calls:
            out["calls"] = self.calls
        return out

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"interactions": [i.to_vcr() for i in self.interactions], "version": 1}
        if self.has_section:
            data[SECTION] = self.section()
        return data

    def dumps(self) -> str:
        return dump_document(self.to_dict())

    def save(self, path: Path) -> Path:
        atomic_write(path, self.dumps())
        self.path = path
        return path

    @classmethod
    def load(cls, path: Path, *, root: Path | None = None) -> Cassette:
        """Read a cassette through the safe loader and its schema (see ``load_document``)."""
        data = load_document(path, root=root)
        extra = data.get(SECTION)
        try:
            interactions = [Interaction.from_vcr(i) for i in data["interactions"]]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CassetteError(f"{path} has a malformed interaction: {exc!r}") from None
        section = extra if isinstance(extra, dict) else {}
        outcome = section.get("outcome")
        return cls(
            interactions=interactions,
            scenario=dict(section.get("scenario") or {}),
            metadata=dict(section.get("metadata") or {}),
            outcome=Outcome.from_dict(outcome) if isinstance(outcome, dict) else None,
            stats=list(section.get("stats") or []),
            path=path,
            calls=list(section.get("calls") or []),
            has_section=isinstance(extra, dict),
        )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _headers(raw: Any) -> dict[str, list[str]]:
    if not isinstance(raw, dict):
        return {}
    return {str(k): [str(v) for v in (vs if isinstance(vs, list) else [vs])] for k, vs in raw.items()}
