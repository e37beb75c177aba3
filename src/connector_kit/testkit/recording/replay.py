"""Offline replay on vcrpy: the kit's strict matchers and what a failed replay says.

A live request matches a recorded one on method, path (and query) and JSON body with the
connector's volatile fields masked, plus which auth headers are present -- three matchers
registered on vcrpy (``ck_path``, ``ck_body``, ``ck_auth``). vcrpy answers identical
requests (retries) in recorded order. A request with no match fails with the closest
recorded request (vcrpy's ``find_requests_with_most_matches``) and the fields that differ;
interactions vcrpy never played (``play_counts``) make the replay stale -- unless the
connector raised before sending them, which is its own failure (:class:`ConnectorRaisedError`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...connectors._secrets import mask_text
from ...connectors.exceptions import ConnectorKitError
from ..jsondiff import Difference, diff
from .cassettes import CassetteError, RecordedRequest, request_path
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


class ConnectorRaisedError(ReplayError):
    """The connector raised before it had sent every recorded request: its own failure
    (building a request or reading an answer), not a stale cassette."""


@dataclass
class MatchKey:
    method: str
    path: str
    body: Any
    auth: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "body": self.body,
                "auth_headers": list(self.auth)}


@lru_cache(maxsize=4096)
def _masked_body(normalizer: Normalizer, text: str) -> Any:
    """The masked JSON value of a body (cached: vcrpy compares each live request with every
    recorded one, several times per request)."""
    try:
        parsed: Any = json.loads(text) if text else None
    except ValueError:
        parsed = text
    return normalizer.mask(parsed)


def _body_text(body: Any) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return body if isinstance(body, str) else ""


def request_key(normalizer: Normalizer, method: str, uri: str, headers: Any,
                body: bytes | str | None) -> MatchKey:
    text = _body_text(body)
    auth = tuple(sorted(str(k).lower() for k in headers if is_auth_header(str(k))))
    return MatchKey(method.upper(), _masked_path(normalizer, uri), _masked_body(normalizer, text), auth)


def recorded_key(normalizer: Normalizer, request: RecordedRequest) -> MatchKey:
    return request_key(normalizer, request.method, request.uri, request.headers, request.body)


def vcr_key(normalizer: Normalizer, request: Any) -> MatchKey:
    """The match key of a vcrpy ``Request``."""
    body = request.body if isinstance(request.body, (bytes, str)) else None
    return request_key(normalizer, request.method, request.uri, request.headers, body)


# -- vcrpy matchers ---------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _masked_path(normalizer: Normalizer, uri: str) -> str:
    return normalizer.mask_text(request_path(uri))


class _Matchers:
    """The three strict matchers, bound to the normaliser of the connector being replayed."""

    def __init__(self, normalizer: Normalizer) -> None:
        self.normalizer = normalizer

    def path(self, live: Any, recorded: Any) -> None:
        a, b = (_masked_path(self.normalizer, r.uri) for r in (live, recorded))
        if a != b:
            raise AssertionError(f"path {a} != {b}")

    def body(self, live: Any, recorded: Any) -> None:
        a, b = (_masked_body(self.normalizer, _body_text(r.body)) for r in (live, recorded))
        if a != b:
            shown = "; ".join(str(d) for d in diff(b, a)[:6])
            raise AssertionError(f"masked JSON body differs: {shown}")

    def auth(self, live: Any, recorded: Any) -> None:
        a, b = (tuple(sorted(k.lower() for k in r.headers if is_auth_header(k))) for r in (live, recorded))
        if a != b:
            raise AssertionError(f"auth headers {list(a)} != recorded {list(b)}")


def register_matchers(engine: Any, normalizer: Normalizer | None = None) -> None:
    """Register ``ck_path``, ``ck_body``, ``ck_auth`` on a ``vcr.VCR``."""
    from .normalize import GENERIC

    matchers = _Matchers(normalizer or GENERIC)
    engine.register_matcher("ck_path", matchers.path)
    engine.register_matcher("ck_body", matchers.body)
    engine.register_matcher("ck_auth", matchers.auth)


# -- what a failed replay says ----------------------------------------------------------------

def mismatch_error(exc: Any, normalizer: Normalizer) -> ReplayMismatchError:
    """A kit error from vcrpy's ``CannotOverwriteExistingCassetteException``."""
    cassette, request = exc.cassette, exc.failed_request
    live = vcr_key(normalizer, request)
    path = getattr(cassette, "_path", "")
    if not len(cassette):
        return ReplayMismatchError(
            f"The connector sent {live.method} {live.path}, but the cassette {path} has no "
            "interactions. Record the scenario first.", [])
    recorded = list(cassette.requests)
    closest = [match[0] for match in cassette.find_requests_with_most_matches(request)] or recorded
    unplayed = [r for r in closest if not cassette.play_counts[_index(recorded, r)]]
    chosen = min(unplayed or closest,
                 key=lambda r: (len(diff(vcr_key(normalizer, r).as_dict(), live.as_dict())),
                                _index(recorded, r)))
    index = _index(recorded, chosen)
    differences = diff(vcr_key(normalizer, chosen).as_dict(), live.as_dict())
    state = "already used" if cassette.play_counts[index] else "unused"
    if not differences:
        return ReplayMismatchError(
            f"The connector sent {live.method} {live.path} more often than the recording did: "
            f"request #{index + 1} was already answered. If the connector now retries or "
            "repeats calls on purpose, re-record the scenario (connector-kit record ...).", [])
    listing = "\n    ".join(str(d) for d in differences[:12])
    return ReplayMismatchError(
        f"No recorded interaction matches {live.method} {live.path}.\n"
        f"  Closest recorded request (#{index + 1}, {state}) differs in:\n    {listing}\n"
        "  If the connector changed on purpose, re-record the scenario "
        "(connector-kit record ...), or compare versions with connector-kit diff.",
        differences,
    )


def _index(requests: list[Any], request: Any) -> int:
    return next(i for i, r in enumerate(requests) if r is request)


def unplayed(cassette: Any) -> list[int]:
    """Indexes of the interactions vcrpy never played back."""
    return [i for i in range(len(cassette)) if not cassette.play_counts[i]]


def stale_error(cassette: Any) -> StaleCassetteError | None:
    """A :class:`StaleCassetteError` when vcrpy did not play every interaction, else None."""
    if cassette.all_played:
        return None
    left = unplayed(cassette)
    requests = cassette.requests
    described = ", ".join(f"#{i + 1} {requests[i].method} {request_path(requests[i].uri)}" for i in left)
    return StaleCassetteError(
        f"{len(left)} recorded interaction(s) were never requested: {described}. The "
        "connector no longer makes these calls: re-record the cassette if that is intended."
    )


def connector_raised_error(cassette: Any, error_type: str, message: str,
                           secrets: Iterable[str] = ()) -> ConnectorRaisedError:
    """Why a replay stopped short when the connector itself raised (``cassette`` is vcrpy's,
    with interactions never played): the connector's exception, secrets masked, and where it
    stopped. Re-recording would not help, so the message does not suggest it."""
    left = unplayed(cassette)
    requests = cassette.requests
    sent = len(requests) - len(left)
    when = ("before sending any request" if not sent
            else f"after {sent} of the {len(requests)} recorded request(s)")
    described = ", ".join(f"#{i + 1} {requests[i].method} {request_path(requests[i].uri)}" for i in left)
    raw = message.removeprefix("(not a ConnectorError) ")
    kind = " (not a ConnectorError: a user would meet this raw exception)" if raw != message else ""
    shown = mask_text(raw, list(secrets))[:300]
    return ConnectorRaisedError(
        f"The connector raised {error_type}{kind}: {shown} -- {when}, so recorded request(s) "
        f"{described} were never sent. The failure is in the connector (building a request or "
        "reading an answer), not in the cassette: fix the connector and replay again; "
        "re-recording would not help."
    )


# -- replaying recordings around any code -------------------------------------------------------

@contextlib.contextmanager
def replaying(paths: Sequence[Path], normalizer: Normalizer, *, strict: bool = True,
              secrets: Iterable[str] = ()) -> Iterator[Any]:
    """Answer every httpx request in the block from the cassettes at ``paths``, offline.

    Matching is the kit's strict matching; a request the recordings cannot answer raises
    :class:`ReplayMismatchError`, and with ``strict`` interactions left unplayed raise
    :class:`StaleCassetteError` at the end. Yields vcrpy's cassette.
    """
    from vcr.errors import CannotOverwriteExistingCassetteException

    from .episode import REPLAY_KEY
    from .interception import KitHooks, kit_vcr, offline

    if not paths:
        raise CassetteError("replaying() needs at least one cassette.")
    first, *extra = [Path(p) for p in paths]
    if not first.is_file():
        raise CassetteError(f"No cassette at {first}. Record it first: connector-kit record "
                            "<framework> --scenario <name> (or run pytest with --record-mode=once).")
    engine = kit_vcr(KitHooks(normalizer, [REPLAY_KEY, *secrets]), record_mode="none",
                     extra_paths=extra, replay_only=True)
    with offline(), engine.use_cassette(str(first)) as cassette:
        try:
            yield cassette
        except CannotOverwriteExistingCassetteException as exc:
            raise mismatch_error(exc, normalizer) from None
    if strict:
        error = stale_error(cassette)
        if error is not None:
            raise error
