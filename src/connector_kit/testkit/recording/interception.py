"""Where the kit meets the wire: vcrpy, configured with the kit's hooks, matchers and persister.

vcrpy records and replays every httpx request (sync and async) of any connector built on
httpx -- ours or a contributor's own client. The kit configures one ``vcr.VCR`` per use:

- ``before_record_request`` / ``before_record_response`` (:class:`KitHooks`) scrub secrets
  (configured values, key shapes, auth headers) and canonicalise volatile values with the
  connector's one :class:`~connector_kit.testkit.recording.normalize.Normalizer` (ids, timestamps,
  the loopback origin, volatile header values). vcrpy runs the request hook on live
  requests before matching too, so live and recorded requests are compared in one form.
  vcrpy's ``decode_response`` stores bodies decoded and drops ``content-encoding``, so
  the stored headers agree with the stored body and plain vcrpy replays it; the encoding
  the server sent is kept as ``x-connector-kit-content-encoding``, which clients ignore
  and drift compares (a server that starts or stops compressing is a change users see).
- ``before_save_interaction`` scans each interaction once more and refuses to save one that
  still holds a secret: nothing secret is ever written, not even for a moment.
- the strict matchers of :mod:`~connector_kit.testkit.recording.replay` (masked path, masked JSON
  body, auth-header presence) and :class:`~connector_kit.testkit.recording.cassettes.KitPersister`.

:func:`offline` makes any other attempt to open an internet socket fail loudly (vcrpy only
sees httpx; code that bypasses it would otherwise reach the network during a replay).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..._missing import cache_missing
from ...connectors.exceptions import ConnectorKitError
from .normalize import Normalizer
from .scrub import PLACEHOLDER, Scrubber, SecretLeakError, is_auth_header, scan_text

if TYPE_CHECKING:
    import vcr as vcr_module

#: Where a recording keeps the content-encoding the server sent (the body is stored decoded).
RECORDED_ENCODING = "x-connector-kit-content-encoding"

#: The kit's strict matching (registered matchers, see replay.py).
KIT_MATCH_ON = ("method", "ck_path", "ck_body", "ck_auth")
#: Optional packages vcrpy 9.4's httpx patcher imports on every cassette it enters.
_VCRPY_OPTIONAL = (("httpx_curl_cffi",),
                   ("pyreqwest", "pyreqwest.compatibility", "pyreqwest.compatibility.httpx"))


class OfflineError(ConnectorKitError):
    """A network connection was attempted while replaying, which is offline by design."""


class KitHooks:
    """vcrpy hooks for one cassette: scrub, canonicalise, refuse to save a secret.

    One instance per cassette use, so the canonical numbering of ids is consistent within
    the cassette (the thread id in a path equals the one in the earlier response).
    """

    def __init__(self, normalizer: Normalizer, secrets: Iterable[str | None] = ()) -> None:
        self.normalizer = normalizer
        self.secrets = [s for s in secrets if isinstance(s, str) and s]
        self.scrub = Scrubber(self.secrets)
        self.canon = normalizer.canonicalizer()
        self.leaks: list[str] = []
        self._seen: dict[tuple[Any, ...], tuple[str, Any, dict[str, str]]] = {}

    def add_secrets(self, secrets: Iterable[str | None]) -> None:
        self.secrets.extend(s for s in secrets if isinstance(s, str) and s and s not in self.secrets)
        self.scrub = Scrubber(self.secrets)
        self._seen.clear()

    def _text(self, text: str) -> str:
        return self.canon.body(self.scrub(text))

    def request(self, request: Any) -> Any:
        """``before_record_request``: the request as it is stored and matched.

        vcrpy calls it several times per live request (and on every loaded one), each time
        on a fresh copy: the result for the same request is remembered.
        """
        key = (request.method, request.uri, request.body if isinstance(request.body, bytes) else None,
               tuple(request.headers.items()))
        done = self._seen.get(key)
        if done is None:
            done = self._request(request)
            if len(self._seen) < 1024:
                self._seen[key] = done
                # vcrpy also passes the hook's own output back in: it maps to itself
                self._seen[(key[0], done[0], done[1], tuple(done[2].items()))] = done
        request.uri, request.body, request.headers = done[0], done[1], dict(done[2])
        return request

    def _request(self, request: Any) -> tuple[str, Any, dict[str, str]]:
        request.uri = self.canon.text(self.scrub(request.uri))
        body = request.body
        if isinstance(body, bytes) and body:
            with contextlib.suppress(UnicodeDecodeError):  # a binary upload is stored as it is
                request.body = self._text(body.decode("utf-8"))
        headers = {}
        for name, value in request.headers.items():
            if is_auth_header(name):
                headers[name] = PLACEHOLDER
            elif name.lower() == "content-length" and isinstance(request.body, bytes):
                headers[name] = str(len(request.body))
            else:
                headers[name] = self.canon.header(name, self.scrub(str(value)))
        return request.uri, request.body, headers

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        """``before_record_response`` (after vcrpy decoded the body): stored response."""
        body = response.get("body") or {}
        raw = body.get("string")
        if isinstance(raw, bytes):
            with contextlib.suppress(UnicodeDecodeError):  # a binary body is stored as it is
                raw = self._text(raw.decode("utf-8")).encode("utf-8")
        elif isinstance(raw, str):
            raw = self._text(raw)
        response["body"] = {**body, "string": raw}
        headers: dict[str, list[str]] = {}
        for name, values in (response.get("headers") or {}).items():
            lowered = name.lower()
            if lowered == "transfer-encoding":
                continue  # the body is stored whole: its length is given instead
            if is_auth_header(name):
                headers[name] = [PLACEHOLDER for _ in values]
            elif lowered == "content-length":
                continue
            else:
                headers[name] = [self.canon.header(name, self.scrub(str(v)))
                                 for v in values]
        if isinstance(raw, bytes | str):
            headers["content-length"] = [str(len(raw.encode("utf-8") if isinstance(raw, str) else raw))]
        response["headers"] = headers
        return response

    def before_save(self, request: Any, response: dict[str, Any], cassette: Any
                    ) -> tuple[Any, dict[str, Any]] | None:
        """``before_save_interaction``: the last look before anything is written.

        An interaction still holding a secret makes the whole save refused (see
        :func:`~connector_kit.testkit.recording.cassettes.refuse_save`). It must not raise: vcrpy
        saves inside its ``__exit__``, and an exception there would leave httpx patched.
        The caller raises :class:`SecretLeakError` from :attr:`leaks` afterwards.
        """
        from .cassettes import refuse_save

        text = f"{request.uri}\n{request.headers}\n{request.body!r}\n{response!r}"
        found = scan_text(text, self.secrets)
        if not found:
            return request, response
        self.leaks.append(f"{request.method} {request.path}: {found[0][1]} after scrubbing")
        refuse_save(cassette.path)
        return None

    def leak_error(self) -> SecretLeakError | None:
        if not self.leaks:
            return None
        return SecretLeakError(
            f"Refused to save the cassette: {'; '.join(self.leaks[:3])}. Nothing was written. "
            "Add the value to the connector's secrets (or fix the scrubber) and record again.")


def decoded_keeping_encoding(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy's ``decode_response``, noting the encoding it removed in :data:`RECORDED_ENCODING`."""
    from vcr.filters import decode_response

    sent = [str(v) for name, values in (response.get("headers") or {}).items()
            if name.lower() == "content-encoding"
            for v in (values if isinstance(values, list) else [values])]
    decoded: dict[str, Any] = decode_response(response)
    if sent:
        decoded["headers"] = {**(decoded.get("headers") or {}), RECORDED_ENCODING: sent}
    return decoded


def kit_vcr(hooks: KitHooks | None, *, record_mode: str = "none",
            match_on: Sequence[str] = KIT_MATCH_ON, extra_paths: Sequence[Any] = (),
            replay_only: bool = False) -> vcr_module.VCR:
    """A ``vcr.VCR`` with the kit's hooks, matchers and persister.

    ``replay_only`` leaves out the response hook: responses in a cassette are already
    canonical, and vcrpy runs the hook on every loaded interaction.
    """
    import vcr
    from vcr.patch import PATCHER_NAMES

    from .cassettes import KitPersister
    from .replay import register_matchers

    config: dict[str, Any] = {
        "record_mode": record_mode,
        "match_on": tuple(match_on),
        "decode_compressed_response": True,
        "record_on_exception": False,
        # Connectors speak httpx; building vcrpy's other patchers (requests, boto3, aiohttp,
        # ... each a failed import here) cost more than the rest of a replay. Anything not on
        # httpx meets offline() during a replay instead.
        "skip_patchers": tuple(name for name in PATCHER_NAMES if name != "httpx"),
    }
    if hooks is not None:
        config["before_record_request"] = hooks.request
        config["before_save_interaction"] = hooks.before_save
        if not replay_only:
            config["decode_compressed_response"] = False  # decoded_keeping_encoding does it
            config["before_record_response"] = (decoded_keeping_encoding, hooks.response)
    # vcrpy's httpx patcher also tries these two on every cassette it enters (132 us a
    # replay when they are not installed; see connector_kit._missing).
    for names in _VCRPY_OPTIONAL:
        cache_missing(names)
    engine = vcr.VCR(**config)
    register_matchers(engine, hooks.normalizer if hooks is not None else None)
    engine.register_persister(KitPersister(list(extra_paths)))
    return engine


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """Make any TCP/UDP connect fail with :class:`OfflineError` (Unix sockets still work)."""
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def guard(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise OfflineError(
                f"Replay is offline, but something tried to connect to {address!r}. A request the "
                "cassette cannot answer, or code that bypasses httpx, is talking to the network; "
                "record the scenario (connector-kit record) or remove the call."
            )
        return original_connect(self, address)

    def guard_ex(self: socket.socket, address: Any) -> Any:
        guard(self, address)
        return original_connect_ex(self, address)

    socket.socket.connect = guard  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = guard_ex  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = original_connect_ex  # type: ignore[method-assign]
