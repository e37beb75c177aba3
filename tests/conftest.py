"""Shared fixtures: real loopback servers, a fake clock, the registry restored after each use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from rich.console import Console

from connector_kit import cli
from connector_kit.connectors import ConnectorRegistry, FakeClock
from connector_kit.testkit.faults.server import FaultServer
from fixtures.raw_server import RawServer

T = TypeVar("T")



@pytest.fixture(scope="session")
def _fault_server() -> Iterator[FaultServer]:
    with FaultServer() as srv:
        yield srv


@pytest.fixture
def server(_fault_server: FaultServer) -> Iterator[FaultServer]:
    """A scripted HTTP server on 127.0.0.1 (``server.script(Reply(...))``, ``server.requests``).

    One server for the whole session, emptied before and after each test: no script left over,
    no requests, the default ``{"ok": true}`` reply.
    """
    _fault_server.reset()
    yield _fault_server
    _fault_server.reset()


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    """A socket server answering with scripted bytes: framings no real server would send."""
    raw = RawServer()
    try:
        yield raw
    finally:
        raw.stop()


@pytest.fixture
def clock() -> FakeClock:
    """A clock that never waits for real and records every sleep."""
    return FakeClock()


@pytest.fixture
def restore_registry() -> Iterator[None]:
    """Snapshot ConnectorRegistry and put it back afterwards (for tests that register or clear)."""
    saved = dict(ConnectorRegistry._connectors)
    try:
        yield
    finally:
        ConnectorRegistry._connectors.clear()
        ConnectorRegistry._connectors.update(saved)


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL on which nothing listens (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def closing() -> Iterator[Callable[[T], T]]:
    """``closing(obj)`` returns ``obj`` and calls its ``close()`` when the test ends."""
    opened: list[Any] = []

    def register(obj: T) -> T:
        opened.append(obj)
        return obj

    yield register
    for obj in reversed(opened):
        obj.close()


@pytest.fixture
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps at the terminal width: wide consoles keep each message and table row on one
    line, whatever the terminal, so the CLI's output can be matched (``COLUMNS`` too, for the
    consoles a bench run makes when it starts)."""
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setattr(cli.output, "console", Console(width=400))
    monkeypatch.setattr(cli.output, "err", Console(stderr=True, width=400))
