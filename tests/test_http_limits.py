"""Bounded responses: a body past ``max_response_bytes`` (decoded) is an error, in bounded memory.

The client runs in a subprocess under an address-space limit (RLIMIT_AS) a little above what
it uses at rest: a client that inflated the whole gzip bomb, or held the whole 200 MB body,
would die of MemoryError there instead of raising ConnectorResponseError.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from typing import Any

import pytest

from connector_kit.connectors import (
    ConnectorConfig,
    ConnectorConfigError,
    ConnectorResponseError,
    HttpClient,
    LangflowConnector,
)
from connector_kit.testkit.faults.server import FaultServer, Reply, json_reply

MB = 1024 * 1024


def gzip_bomb(decoded: int) -> bytes:
    """Valid JSON (one long string) of ``decoded`` bytes, gzip-compressed (~1000:1)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(b'{"text": "')]
    chunk = b"a" * MB
    for _ in range(decoded // MB):
        parts.append(packer.compress(chunk))
    parts.append(packer.compress(b'"}'))
    parts.append(packer.flush())
    return b"".join(parts)


_CLIENT = """
import json, resource, sys
from connector_kit.connectors import ConnectorError, HttpClient
url, limit, headroom = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
client = HttpClient(timeout=60, max_retries=0, max_response_bytes=limit)
client.post_sync(url + "/warm", {})  # pool, imports and TLS context in place before the limit
with open("/proc/self/status") as f:
    vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (vm + headroom, vm + headroom))
try:
    value = client.post_sync(url + "/big", {})
except ConnectorError as exc:
    print(json.dumps({"type": type(exc).__name__, "message": str(exc)}))
except MemoryError:
    print(json.dumps({"type": "MemoryError"}))
else:
    print(json.dumps({"type": None, "size": len(json.dumps(value))}))
"""


def _run_client(url: str, limit: int, headroom: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _CLIENT, url, str(limit), str(headroom)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _server(big: Reply) -> FaultServer:
    return FaultServer(default=lambda request: big if request.path == "/big" else json_reply({}))


def test_a_gzip_bomb_stops_at_the_limit_in_bounded_memory() -> None:
    bomb = gzip_bomb(512 * MB)  # ~0.5 MB on the wire, 512 MB of valid JSON once inflated
    reply = Reply(200, bomb, {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    with _server(reply) as server:
        result = _run_client(server.url, 8 * MB, 160 * MB)
    assert result["type"] == ConnectorResponseError.__name__, result
    assert "8,388,608 bytes" in result["message"] and "max_response_bytes" in result["message"]


def test_a_200_mb_body_stops_at_the_limit_in_bounded_memory() -> None:
    # Sent in 1 MiB pieces and announced with Content-Encoding: identity, so the client cannot
    # refuse it from Content-Length and has to count while reading.
    body = Reply(200, b"a" * MB, {"Content-Type": "application/json",
                                  "Content-Encoding": "identity"}, repeat=200)
    with _server(body) as server:
        result = _run_client(server.url, 16 * MB, 120 * MB)
    assert result["type"] == ConnectorResponseError.__name__, result
    assert "max_response_bytes" in result["message"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_limit_is_a_connector_setting(mode: str) -> None:
    import asyncio

    body = json.dumps({"session_id": "s", "outputs": [], "pad": "x" * 5000}).encode()
    with FaultServer(default=lambda request: Reply(200, body)) as server:
        config = ConnectorConfig(url=server.url + "/run", max_response_bytes=4096)
        connector = LangflowConnector(config=config)
        with pytest.raises(ConnectorResponseError, match=r"4,096 bytes.*max_response_bytes=") as info:
            if mode == "sync":
                connector.send([{"role": "user", "content": "x"}], "s")
            else:
                asyncio.run(connector.asend([{"role": "user", "content": "x"}], "s"))
        connector.close()
        assert info.value.__cause__ is None
        assert len(server.requests) == 1  # not retried: a larger answer will not get smaller
        big = LangflowConnector(config=ConnectorConfig(url=server.url + "/run", max_response_bytes=8192))
        assert big.send([{"role": "user", "content": "x"}], "s")["session_id"] == "s"
        big.close()


def test_a_body_just_within_the_limit_is_accepted() -> None:
    body = json.dumps({"pad": "x" * 1000}).encode()
    with FaultServer(default=lambda request: Reply(200, body)) as server:
        client = HttpClient(timeout=5, max_response_bytes=len(body))
        assert client.post_sync(server.url, {}) == {"pad": "x" * 1000}
        client.close()


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_response_bytes"):
        HttpClient(max_response_bytes=0)
    connector = LangflowConnector(config=ConnectorConfig(url="http://127.0.0.1:1/run",
                                                         max_response_bytes="lots"))
    with pytest.raises(ConnectorConfigError, match="max_response_bytes"):
        connector.send([{"role": "user", "content": "x"}], "s")
