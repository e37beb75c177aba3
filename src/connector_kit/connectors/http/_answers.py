"""What an answer means: a status, headers and body judged into a :class:`~.retry.Verdict`,
and the JSON on both sides of a call (the payload encoded, the body decoded and checked).

Every message names the URL masked (``client.safe_url``) and quotes at most
:data:`EXCERPT` characters of the body with the client's secrets removed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

import httpx

from .._secrets import redact
from ..exceptions import (
    ConnectorAuthError,
    ConnectorHTTPError,
    ConnectorRateLimitError,
    ConnectorRequestError,
    ConnectorResponseError,
)
from .retry import Verdict, describe_wait, parse_retry_after, resets_at

if TYPE_CHECKING:
    from .client import HttpClient

Expect = Literal["object", "json"]
#: Most characters of a body quoted in an error message.
EXCERPT = 500


def judge(client: HttpClient, url: str, status: int, headers: httpx.Headers, body: bytes,
          expect: Expect) -> Verdict:
    """The verdict on one answer: its decoded value, or the error it is and whether to retry."""
    safe = client.safe_url(url)
    if 300 <= status < 400:
        location = client.safe_url(headers.get("location", "")) or "(no Location header)"
        return Verdict(error=ConnectorHTTPError(
            safe, status,
            f"redirected to {location}; connectors do not follow redirects: set the URL to "
            "the final address.",
        ))
    if status >= 400:
        quoted = excerpt(body, client._secrets)
        retry_after = parse_retry_after(headers.get("retry-after"), client.clock.time())
        if status == 429:
            return _rate_limited(client, safe, quoted, retry_after)
        if status in (401, 403):
            return Verdict(error=ConnectorAuthError(
                safe, status,
                f"{quoted} -- the server refused the credentials: check that the API key "
                "is set and valid for this endpoint.",
            ))
        error = ConnectorHTTPError(safe, status, quoted)
        if client.policy.is_retryable_status(status):
            return Verdict(error=error, retryable=True, wait=client.policy.server_wait(retry_after))
        return Verdict(error=error)
    try:
        return Verdict(value=decode(safe, status, body, expect, client._secrets))
    except ConnectorResponseError as exc:
        return Verdict(error=exc)


def _rate_limited(client: HttpClient, safe_url: str, quoted: str, retry_after: float | None
                  ) -> Verdict:
    """429: a quota (long Retry-After) raises at once; a burst is waited out and retried."""
    policy = client.policy
    if retry_after is not None and policy.is_quota(retry_after):
        when = resets_at(retry_after, client.clock.time())
        return Verdict(error=ConnectorRateLimitError(
            safe_url, 429,
            f"rate-limit quota exhausted: the server asks to wait {describe_wait(retry_after)} "
            f"(until {when:%Y-%m-%d %H:%M:%S} UTC). Retrying sooner will not help: wait until "
            f"then or raise the quota. Server said: {quoted}",
            retry_after=retry_after, resets_at=when, quota_exhausted=True,
        ))
    return Verdict(
        error=ConnectorRateLimitError(
            safe_url, 429,
            f"rate limited (burst limit) and still limited after the retries allowed; "
            f"lower the concurrency or raise max_retries. Server said: {quoted}",
            retry_after=retry_after,
        ),
        retryable=True,
        wait=retry_after,
    )


def encode(payload: Any) -> bytes | None:
    """The request body: compact UTF-8 JSON, or a ConnectorRequestError saying what to fix."""
    if payload is None:
        return None
    try:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise ConnectorRequestError(
            f"The request payload cannot be sent as JSON ({exc}). Pass only dicts, lists, "
            "strings, finite numbers, booleans and None."
        ) from None
    except UnicodeEncodeError:
        raise ConnectorRequestError(
            "The request payload holds text that is not valid Unicode (a lone surrogate?); "
            "clean the input text before sending it."
        ) from None


def decode(safe_url: str, status: int, body: bytes, expect: Expect,
           secrets: tuple[str, ...] = ()) -> Any:
    """The JSON value of a 2xx body (a JSON object when ``expect == "object"``)."""
    if not body.strip():
        raise ConnectorResponseError(
            f"Empty response body from '{safe_url}' (HTTP {status}); expected JSON. Check that "
            "the URL points at the framework's API endpoint.",
            url=safe_url, status_code=status,
        )
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ConnectorResponseError(
            f"Response from '{safe_url}' (HTTP {status}) is not valid JSON ({exc}); it starts "
            f"with {excerpt(body, secrets)[:120]!r}. Check that the URL points at the framework's "
            "API endpoint and not at a web page or proxy.",
            url=safe_url, status_code=status,
        ) from None
    if expect == "object" and not isinstance(value, dict):
        raise ConnectorResponseError(
            f"Expected a JSON object from '{safe_url}' (HTTP {status}), got a JSON "
            f"{json_kind(value)}. Check that the URL points at the framework's run endpoint.",
            url=safe_url, status_code=status,
        )
    return value


def excerpt(body: bytes, secrets: tuple[str, ...]) -> str:
    """The start of ``body`` for a message, secrets removed."""
    return redact(body[:EXCERPT * 4].decode("utf-8", errors="replace"), secrets)[:EXCERPT]


def json_kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )
