"""The httpx clients an HttpClient sends through: built and pooled, or over a given transport.

Built ones get httpcore's network backend wrapped by the deadline backend (every socket
operation bounded by the call's deadline) and share one default SSL context. A given
transport (``HttpClient(transport=...)``) serves the calls of its kind -- an
``httpx.BaseTransport`` the sync ones, an ``httpx.AsyncBaseTransport`` the async ones -- and
an ``httpx.HTTPTransport`` / ``AsyncHTTPTransport`` gets the deadline backend too.
"""

from __future__ import annotations

import functools
import ssl
from typing import TYPE_CHECKING

import httpx

from ..exceptions import ConnectorConfigError
from . import _pools
from .deadline import AsyncDeadlineBackend, install_async, install_sync
from .http11 import install_http11_pool

if TYPE_CHECKING:
    from .client import HttpClient


@functools.lru_cache(maxsize=1)
def default_ssl_context() -> ssl.SSLContext:
    # Building an SSL context costs ~20-100 ms (CA bundle parsing): one, built on first use.
    return httpx.create_ssl_context()


def verify_of(option: bool | ssl.SSLContext) -> bool | ssl.SSLContext:
    return default_ssl_context() if option is True else option


def sync_client(client: HttpClient) -> httpx.Client:
    """A new ``httpx.Client`` for ``client``'s sync calls."""
    given = client.transport
    transport: httpx.BaseTransport
    if given is None:
        built = httpx.HTTPTransport(verify=verify_of(client._verify_option), limits=client._limits,
                                    trust_env=False)
        install_sync(built)
        transport = built
    elif not isinstance(given, httpx.BaseTransport):
        raise ConnectorConfigError(
            f"This HttpClient was given an async-only transport ({type(given).__name__}): "
            "use its async methods (post, arequest, astream), or give it a transport that "
            "is an httpx.BaseTransport too."
        )
    else:
        if isinstance(given, httpx.HTTPTransport):
            install_sync(given)
        transport = given
    http = httpx.Client(transport=transport, timeout=client.timeout, trust_env=False)
    _pools.TRANSPORTS[http] = (transport, given is None)
    return http


def given_async_transport(client: HttpClient) -> httpx.AsyncBaseTransport | None:
    """The given transport for the async calls (None: build pooled shards)."""
    given = client.transport
    if given is not None and not isinstance(given, httpx.AsyncBaseTransport):
        raise ConnectorConfigError(
            f"This HttpClient was given a sync-only transport ({type(given).__name__}): "
            "use its sync methods (post_sync, request, stream), or give it a transport that "
            "is an httpx.AsyncBaseTransport too."
        )
    return given


def async_client(client: HttpClient) -> httpx.AsyncClient:
    """A new ``httpx.AsyncClient`` (one shard) for ``client``'s async calls on this loop."""
    given = transport = given_async_transport(client)
    backend: AsyncDeadlineBackend | None = None
    if transport is None:
        verify = verify_of(client._verify_option)
        built = httpx.AsyncHTTPTransport(verify=verify, limits=client._limits, trust_env=False)
        backend, transport = install_http11_pool(built, verify, client._limits), built
    elif isinstance(transport, httpx.AsyncHTTPTransport):
        backend = install_async(transport)
    http = httpx.AsyncClient(transport=transport, timeout=client.timeout, trust_env=False)
    _pools.TRANSPORTS[http] = (transport, given is None)
    if backend is not None:
        _pools.BACKENDS[http] = backend
    return http
