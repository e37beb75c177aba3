"""HTTP answers to throw at a client: any status, junk headers, any body bytes.

:func:`http_cases` draws them at random (a third retry-worthy statuses with a Retry-After of
any kind); :func:`http_sweep` lists the known-nasty ones tried first.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from .shapes import shaped_responses
from .values import HUGE_SIZES, json_objects, json_values

ODD_STATUSES = (100, 101, 102, 103, 199, 200, 201, 202, 203, 204, 205, 206, 226, 299, 300, 301,
                302, 304, 307, 308, 399, 400, 401, 402, 403, 404, 405, 408, 409, 410, 413, 418,
                422, 425, 426, 429, 451, 499, 500, 501, 502, 503, 504, 505, 507, 511, 599)
# Nastiest first: the HTTP sweep tries them in this order.
RETRY_AFTER_JUNK = ("1e308", "-1", "nan", "abc", "", "Fri, 31 Dec 9999 23:59:59 GMT",
                    "99999999999999", "inf", "1e400", "Mon, 01 Jan 0001 00:00:00 GMT", "0", " ",
                    "1", "0.5", "-inf", "120", "86400", "1e20", "253402300800", "9" * 30, "1_000",
                    "0x10", "5, 6", "Wed, 21 Oct 2015 07:28:00 GMT",
                    "Thu, 01 Jan 1970 00:00:00 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                    "Sun, 06 Nov 1994 08:49:37", "\xff\xfe")
CONTENT_TYPES = ("application/json", "text/html", "text/plain", "application/json; charset=utf-16",
                 "application/json; charset=bogus", "text/event-stream", "application/octet-stream",
                 "", "application/x-ndjson", "application/problem+json", "multipart/form-data")
CONTENT_ENCODINGS = ("gzip", "deflate", "br", "zstd", "identity", "gzip, gzip", "compress", "x-junk", "")
#: Framing headers are the server's business (FaultServer sets them): never drawn.
_FRAMING = {"content-length", "transfer-encoding", "connection"}
_TOKEN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
_HEADER_NAMES = ("Retry-After", "Content-Type", "Content-Encoding", "Location", "Set-Cookie",
                 "WWW-Authenticate", "X-RateLimit-Reset", "X-Request-Id", "Cache-Control")
BODY_SAMPLES = (b"", b" ", b"\n", b"null", b"[]", b"{}", b"0", b'"text"', b"\xef\xbb\xbf{}",
                b'{"a":', b"<html><body>502 Bad Gateway</body></html>", b'{"a": NaN}', b"Infinity",
                '{"a": 1}'.encode("utf-16"), b"[" * 100_000, b'"\\ud800"', b'{"a":"\\u0000"}',
                b'{"a":1}{"b":2}', b"\x00" * 16, b'{"detail": "Not Found"}', b'{"__error__": {}}')


@dataclass
class HttpCase:
    """One HTTP answer to throw at the client, and how the client asks for it."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    close: bool = False
    method: Literal["GET", "POST"] = "POST"
    expect: Literal["object", "json"] = "object"
    mode: Literal["sync", "async"] = "sync"

    def must_close(self) -> bool:
        """1xx, 204 and 304 carry no body: close so no left-over bytes poison the next call."""
        return self.close or self.status < 200 or self.status in (204, 304)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status, "headers": self.headers, "close": self.close,
                                "method": self.method, "expect": self.expect, "mode": self.mode}
        try:
            data["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            data["body_base64"] = base64.b64encode(self.body).decode("ascii")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HttpCase:
        body = (base64.b64decode(data["body_base64"]) if "body_base64" in data
                else str(data.get("body", "")).encode("utf-8"))
        return cls(status=int(data["status"]), headers={str(k): str(v) for k, v in
                                                        dict(data.get("headers") or {}).items()},
                   body=body, close=bool(data.get("close")), method=data.get("method", "POST"),
                   expect=data.get("expect", "object"), mode=data.get("mode", "sync"))


def _header_value() -> SearchStrategy[str]:
    # Latin-1 without CR/LF: anything a server could put on the wire without breaking the framing.
    char = st.one_of(st.integers(0x20, 0x7E), st.integers(0, 0xFF)).filter(
        lambda c: c not in (10, 13)).map(chr)
    return st.lists(char, max_size=24).map("".join)


def _retry_after() -> SearchStrategy[str]:
    return st.one_of(st.sampled_from(RETRY_AFTER_JUNK), _header_value())


def _headers() -> SearchStrategy[dict[str, str]]:
    named = st.one_of(
        st.tuples(st.just("Retry-After"), _retry_after()),
        st.tuples(st.just("Content-Type"), st.sampled_from(CONTENT_TYPES)),
        st.tuples(st.just("Content-Encoding"), st.sampled_from(CONTENT_ENCODINGS)),
        st.tuples(st.one_of(st.sampled_from(_HEADER_NAMES),
                            st.lists(st.sampled_from(_TOKEN), min_size=1, max_size=12).map("".join))
                  .filter(lambda n: n.lower() not in _FRAMING),
                  _header_value()),
    )
    return st.lists(named, max_size=4).map(dict)


def http_bodies(shape: str = "generic") -> SearchStrategy[bytes]:
    def encode(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")

    def truncated(body: bytes) -> SearchStrategy[bytes]:
        return st.integers(0, max(0, len(body) - 1)).map(lambda n: body[:n])

    return st.one_of(
        shaped_responses(shape).map(encode),
        json_values(10).map(encode),
        st.sampled_from(BODY_SAMPLES),
        st.binary(max_size=64),
        json_objects(6).map(encode).flatmap(truncated),
        st.sampled_from(HUGE_SIZES).map(lambda n: b'{"text": "' + b"x" * n + b'"}'),
    )


def http_cases(shape: str = "generic") -> SearchStrategy[HttpCase]:
    """Any status (100..599, odd ones included), junk headers, and any body; a third of the
    cases are retry-worthy statuses (429, 502-504) carrying a Retry-After of any kind."""
    common = {"body": http_bodies(shape), "close": st.booleans(),
              "method": st.sampled_from(["POST", "GET"]),
              "expect": st.sampled_from(["object", "json"]), "mode": st.sampled_from(["sync", "async"])}
    anything = st.builds(
        HttpCase,
        status=st.one_of(st.sampled_from([200, 429, 503, 500, 401, 404, 204, 100, 302]),
                         st.sampled_from(ODD_STATUSES), st.integers(100, 599)),
        headers=_headers(), **common)
    retrying = st.builds(
        HttpCase,
        status=st.sampled_from([429, 503, 429, 502, 429, 504]),
        headers=st.tuples(st.one_of(*[st.sampled_from(RETRY_AFTER_JUNK)] * 3, _header_value()),
                          _headers()).map(lambda t: {**t[1], "Retry-After": t[0]}),
        **common)
    return st.one_of(anything, anything, retrying)


def http_sweep(limit: int) -> list[HttpCase]:
    """Known-nasty HTTP answers, tried before random ones: every odd status with an empty
    body, every junk Retry-After on a 429 and a 503, every odd body on a 200, every lying
    Content-Type and Content-Encoding; taken round-robin across those groups (so a small budget
    samples each), alternating sync/async and expect object/json. At most ``limit`` cases."""
    modes: list[tuple[Literal["sync", "async"], Literal["object", "json"]]] = [
        ("sync", "object"), ("async", "object"), ("sync", "json"), ("async", "json")]
    groups: list[list[tuple[int, dict[str, str], bytes]]] = [
        [(429, {"Retry-After": v}, b"{}") for v in RETRY_AFTER_JUNK],
        [(status, {}, b"") for status in ODD_STATUSES],
        [(200, {}, body) for body in BODY_SAMPLES],
        [(503, {"Retry-After": v}, b"") for v in RETRY_AFTER_JUNK],
        [(200, {"Content-Encoding": v}, b'{"a": 1}') for v in CONTENT_ENCODINGS]
        + [(200, {"Content-Type": v}, b'{"a": 1}') for v in CONTENT_TYPES],
    ]
    cases: list[HttpCase] = []
    for index in range(max(len(g) for g in groups)):
        for group in groups:
            if index < len(group) and len(cases) < limit:
                status, headers, body = group[index]
                mode, expect = modes[len(cases) % len(modes)]
                cases.append(HttpCase(status, dict(headers), body, mode=mode, expect=expect))
    return cases
