"""Every transport failure as a ConnectorError whose message says what happened and what to do."""

from __future__ import annotations

import errno
import ssl

import httpcore
import httpx

from ..exceptions import (
    ConnectorConnectionError,
    ConnectorError,
    ConnectorRequestError,
    ConnectorResourceError,
    ConnectorResponseError,
    ConnectorTimeoutError,
    ConnectorTLSError,
)

_OUT_OF_FDS = (errno.EMFILE, errno.ENFILE)


#: httpcore's transport errors and the httpx classes httpx's transport turns them into.
_FROM_HTTPCORE: dict[type[Exception], type[httpx.TransportError]] = {
    getattr(httpcore, name): getattr(httpx, name) for name in (
        "TimeoutException", "ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout",
        "NetworkError", "ConnectError", "ReadError", "WriteError", "ProxyError",
        "UnsupportedProtocol", "ProtocolError", "LocalProtocolError", "RemoteProtocolError")
}
HTTPCORE_ERRORS = tuple(_FROM_HTTPCORE)


def as_httpx(exc: Exception) -> Exception:
    """An httpcore error as httpx's transport raises it: the class of the same name, its message.

    Calls sent straight to the kit's pool (``Http11Pool.open``) meet httpcore's errors
    unwrapped; turned into httpx's, they are mapped and worded as every other call's.
    """
    for kind in type(exc).__mro__:
        mapped = _FROM_HTTPCORE.get(kind)
        if mapped is not None:
            error = mapped(str(exc))
            error.__cause__ = exc
            return error
    return exc


def deadline_error(safe_url: str, budget: float, *, sent: bool = True) -> ConnectorTimeoutError:
    return ConnectorTimeoutError(
        f"No complete response from '{safe_url}' within the {budget:g} s budget of this call. "
        "Raise the connector's timeout if the agent is slow, or check that the server is up.",
        url=safe_url, maybe_processed=sent,
    )


def too_large_error(safe_url: str, limit: int, status: int | None = None) -> ConnectorResponseError:
    return ConnectorResponseError(
        f"The response from '{safe_url}' is larger than {limit:,} bytes (decoded), the limit "
        "max_response_bytes; reading stopped there. Raise it with ConnectorConfig("
        "max_response_bytes=...) or HttpClient(max_response_bytes=...) if such answers are "
        "expected.",
        url=safe_url, status_code=status,
    )


def map_transport_error(exc: BaseException, safe_url: str, detail: str, timeout: float
                        ) -> ConnectorError:
    """The ConnectorError for a raw httpx/OSError failure (``detail``: its redacted text)."""
    if _errno_in_chain(exc) in _OUT_OF_FDS:
        return ConnectorResourceError(
            f"Cannot open a connection to '{safe_url}': this process has run out of file "
            f"descriptors ({detail}). Close connectors and clients you no longer use (each keeps "
            "pooled sockets), or raise the limit (`ulimit -n`).",
            url=safe_url, maybe_processed=False,
        )
    if isinstance(exc, httpx.TimeoutException):
        return ConnectorTimeoutError(
            f"Timed out talking to '{safe_url}' ({type(exc).__name__}, {timeout:g} s timeout). "
            "Raise the timeout if the agent is slow, or check that the server is up.",
            url=safe_url,
            maybe_processed=not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)),
        )
    if _is_tls(exc):
        return ConnectorTLSError(
            f"TLS failed with '{safe_url}': {detail}. Check the certificate, or the http/https "
            "scheme of the URL.",
            url=safe_url,
        )
    if isinstance(exc, httpx.ConnectError):
        return ConnectorConnectionError(
            f"Could not connect to '{safe_url}': {detail}. Check that the server is running and "
            "the URL's host and port are right.",
            url=safe_url, maybe_processed=False,
        )
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL)):
        return ConnectorRequestError(
            f"Cannot send a request to '{safe_url}': {detail}. Check the URL (scheme http:// or "
            "https://, host, port)."
        )
    if isinstance(exc, UnicodeEncodeError):
        return ConnectorRequestError(
            f"Cannot send a request to '{safe_url}': a header holds a character that HTTP headers "
            f"cannot carry ({detail}). Check the API key and headers for stray non-ASCII characters."
        )
    if isinstance(exc, httpx.DecodingError):
        return ConnectorResponseError(
            f"The response from '{safe_url}' could not be decoded: {detail}.", url=safe_url
        )
    if isinstance(exc, (httpx.TransportError, OSError)):
        return ConnectorConnectionError(
            f"The connection to '{safe_url}' dropped before the response was complete "
            f"({type(exc).__name__}: {detail}). The call is retried; if it keeps happening, "
            "check the server's logs.",
            url=safe_url,
        )
    return ConnectorError(f"HTTP request to '{safe_url}' failed: {type(exc).__name__}: {detail}")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _errno_in_chain(exc: BaseException) -> int | None:
    for item in _chain(exc):
        if isinstance(item, OSError) and item.errno is not None:
            return item.errno
        if "Errno 24" in str(item) or "Too many open files" in str(item):
            return errno.EMFILE
    return None


def _is_tls(exc: BaseException) -> bool:
    return any(
        isinstance(item, ssl.SSLError) or "SSL" in type(item).__name__
        or "CERTIFICATE_VERIFY_FAILED" in str(item)
        for item in _chain(exc)
    )
