"""Offline replay: answer a connector's requests from a cassette, strictly.

A live request matches a recorded one on method, path and JSON body with the connector's
volatile fields masked, plus which auth headers are present. Identical requests (retries)
are answered in recorded order. A request with no match fails with the closest recorded
request and the fields that differ; interactions left unused fail the replay (stale cassette).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..connectors.exceptions import ConnectorKitError
from .cassettes import Cassette, Interaction, RecordedRequest
from .jsondiff import Difference, diff
from .normalize import Normalizer
from .scrub import is_auth_header


class ReplayError(ConnectorKitError):
    """Replay could not reproduce the recorded exchange."""


class ReplayMismatchError(ReplayError):
    """The connector sent a request the cassette has no recording of."""

    def __init__(self, message: str, differences: list[Difference]) -> None:
        super().__init__(message)
        self.differences = differences


class StaleCassetteError(ReplayError):
    """Recorded interactions were never requested: the cassette no longer fits the connector."""


@dataclass
class MatchKey:
    method: str
    path: str
    body: Any
    auth: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "body": self.body,
                "auth_headers": list(self.auth)}


def request_key(normalizer: Normalizer, method: str, uri: str, headers: dict[str, Any],
                body: bytes | str | None) -> MatchKey:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    try:
        parsed: Any = json.loads(text) if text else None
    except ValueError:
        parsed = text
    rest = uri.split("://", 1)[-1]
    path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    auth = tuple(sorted(k.lower() for k in headers if is_auth_header(k)))
    return MatchKey(method.upper(), normalizer.mask_text(path), normalizer.mask(parsed), auth)


def recorded_key(normalizer: Normalizer, request: RecordedRequest) -> MatchKey:
    return request_key(normalizer, request.method, request.uri, request.headers, request.body)


@dataclass
class Replayer:
    """Serves one cassette's interactions to one replay run."""

    cassette: Cassette
    normalizer: Normalizer
    used: list[int] = field(default_factory=list)
    sent: list[MatchKey] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._keys = [recorded_key(self.normalizer, i.request) for i in self.cassette.interactions]

    def answer(self, request: httpx.Request) -> httpx.Response:
        key = request_key(self.normalizer, request.method, str(request.url), dict(request.headers),
                          request.content)
        self.sent.append(key)
        interaction = self.match(key)
        return to_response(request, interaction)

    def match(self, key: MatchKey) -> Interaction:
        for index, recorded in enumerate(self._keys):
            if index not in self.used and recorded == key:
                self.used.append(index)
                return self.cassette.interactions[index]
        raise self._mismatch(key)

    def _mismatch(self, key: MatchKey) -> ReplayMismatchError:
        live = key.as_dict()
        candidates = [(i, k) for i, k in enumerate(self._keys) if i not in self.used] or list(
            enumerate(self._keys))
        if not candidates:
            return ReplayMismatchError(
                f"The connector sent {key.method} {key.path}, but the cassette "
                f"{self.cassette.path or ''} has no interactions. Record the scenario first.", [])
        scored = [(len(diff(k.as_dict(), live)), i, k) for i, k in candidates]
        _, index, closest = min(scored, key=lambda item: (item[0], item[1]))
        differences = diff(closest.as_dict(), live)
        listing = "\n    ".join(str(d) for d in differences[:12])
        state = "unused" if index not in self.used else "already used"
        return ReplayMismatchError(
            f"No recorded interaction matches {key.method} {key.path}.\n"
            f"  Closest recorded request (#{index + 1}, {state}) differs in:\n    {listing}\n"
            "  If the connector changed on purpose, re-record the scenario "
            "(connector-kit record ...), or compare versions with connector-kit diff.",
            differences,
        )

    def unused(self) -> list[int]:
        return [i for i in range(len(self.cassette.interactions)) if i not in self.used]

    def check_all_used(self) -> None:
        left = self.unused()
        if left:
            described = ", ".join(
                f"#{i + 1} {self._keys[i].method} {self._keys[i].path}" for i in left)
            raise StaleCassetteError(
                f"{len(left)} recorded interaction(s) were never requested: {described}. The "
                "connector no longer makes these calls: re-record the cassette if that is intended."
            )


def to_response(request: httpx.Request, interaction: Interaction) -> httpx.Response:
    recorded = interaction.response
    headers = [(k, v) for k, values in recorded.headers.items() for v in values
               if k.lower() not in ("content-encoding", "transfer-encoding", "content-length")]
    body = recorded.body.encode("utf-8")
    headers.append(("content-length", str(len(body))))
    return httpx.Response(recorded.status, headers=headers, content=body, request=request)
