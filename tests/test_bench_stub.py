"""The benchmarks' delayed agent stub: keep-alive, counted connections, bounded requests.

The AgentBlock-at-scale figures divide by what the stub counts, so its counting is tested
here against a real client (its own process, on 127.0.0.1, with no delay).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from connector_kit.connectors import LangflowConnector
from connector_kit.testkit.bench import server_process
from connector_kit.testkit.bench.delay_stub import MAX_REQUEST, STUB_SCRIPT
from connector_kit.testkit.faults.samples import LANGFLOW_BENCH_SAMPLE


@pytest.fixture(scope="module")
def stub_url() -> Iterator[str]:
    with server_process(STUB_SCRIPT, "--delay", "0") as url:
        yield url


def test_the_stub_keeps_connections_alive_and_counts_them(stub_url: str) -> None:
    with httpx.Client(trust_env=False) as client:
        before = client.get(stub_url + "/__stats").json()
        answers = [client.post(stub_url + "/api/v1/run/f", json={"n": n}) for n in range(3)]
        after = client.get(stub_url + "/__stats").json()
    assert all(answer.status_code == 200 for answer in answers)
    assert answers[0].json() == LANGFLOW_BENCH_SAMPLE
    assert LangflowConnector.extract_text(answers[0].json()) == "The answer is 5."  # AgentBlock reads it
    assert after["requests"] - before["requests"] == 3
    assert after["connects"] == before["connects"]  # all on the stats call's connection
    with httpx.Client(trust_env=False) as other:
        assert other.get(stub_url + "/__stats").json()["connects"] == after["connects"] + 1


def test_a_body_split_across_packets_is_answered_once(stub_url: str) -> None:
    host, port = urlsplit(stub_url).hostname, urlsplit(stub_url).port
    assert host is not None and port is not None
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
        sock.sendall(b"cd")
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 200 OK")


def test_an_oversized_request_closes_the_connection(stub_url: str) -> None:
    host, port = urlsplit(stub_url).hostname, urlsplit(stub_url).port
    assert host is not None and port is not None
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: "
                     + str(MAX_REQUEST + 1).encode() + b"\r\n\r\n")
        assert sock.recv(65536) == b""  # closed without an answer
