"""Socket hygiene against a real loopback server: pools close with their loop, cancellation and
close() release every connection, and running out of file descriptors says so.

Open sockets are counted in /proc/self/fd (Linux); nothing is timed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from connector_kit.connectors import (
    ConnectorConfig,
    ConnectorResourceError,
    HttpClient,
    LangflowConnector,
)
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")

USER = [{"role": "user", "content": "hi"}]
OK = {"session_id": "s", "outputs": []}


def _peer_inodes(port: int) -> set[str]:
    """Inodes of TCP sockets (any process) whose remote end is 127.0.0.1:``port``."""
    inodes = set()
    with open("/proc/net/tcp") as table:
        for line in list(table)[1:]:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def client_sockets(server: FaultServer) -> int:
    """Sockets this process holds open to ``server`` (its own accepted ends do not count)."""
    peers = _peer_inodes(server.port)
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in peers:
            count += 1
    return count


def _langflow(server: FaultServer, **config: Any) -> LangflowConnector:
    return LangflowConnector(config=ConnectorConfig(url=server.url + "/api/v1/run/f", **config))


def test_asyncio_run_per_call_does_not_grow_sockets() -> None:
    with FaultServer(default=lambda request: json_reply(OK)) as server:
        connector = _langflow(server, timeout=5)
        asyncio.run(connector.asend(USER, "s"))
        before = client_sockets(server)
        for _ in range(300):
            asyncio.run(connector.asend(USER, "s"))
        after = client_sockets(server)
        connector.close()
        assert len(server.requests) == 301
    # Each asyncio.run's loop closed its pool as it ended: no socket per loop left behind.
    assert after - before <= 2, f"{after - before} sockets more after 300 asyncio.run calls"


def _slow(request: ReceivedRequest) -> Reply:
    return json_reply(OK, delay=5.0)


@pytest.mark.parametrize("closer", ["aclose", "close-after-loop"])
def test_a_cancelled_batch_leaves_no_sockets(closer: str) -> None:
    with FaultServer(default=_slow) as server:
        connector = _langflow(server, timeout=30)
        requests = [{"messages": USER, "session_id": f"s{i}"} for i in range(40)]

        async def main() -> int:
            task = asyncio.create_task(connector.aexecute_batch(requests, max_concurrency=16))
            for _ in range(500):  # until 16 requests are in flight (bounded: 5 s)
                if len(server.requests) >= 16:
                    break
                await asyncio.sleep(0.01)
            in_flight = client_sockets(server)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            if closer == "aclose":
                await connector.aclose()
            return in_flight

        in_flight = asyncio.run(main())
        if closer == "close-after-loop":
            connector.close()
        left = client_sockets(server)
    assert in_flight >= 16  # the batch really had its connections open
    assert left <= 0, f"{left} sockets still open after the cancelled batch was closed"


def test_close_inside_a_loop_when_another_open_loop_used_the_pool() -> None:
    with FaultServer(default=lambda request: json_reply(OK)) as server:
        connector = _langflow(server, timeout=5)
        other = asyncio.new_event_loop()
        try:
            other.run_until_complete(connector.asend(USER, "s"))
            assert client_sockets(server) > 0

            async def main() -> None:
                connector.close()  # the pool belongs to `other`, which is open but idle
                connector.close()  # twice is fine

            asyncio.run(main())
            assert client_sockets(server) == 0
            assert connector.send(USER, "s")["session_id"] == "s"  # and it works again
            connector.close()
        finally:
            other.close()


def test_close_inside_the_loop_that_uses_the_pool_then_aclose_twice() -> None:
    with FaultServer(default=lambda request: json_reply(OK)) as server:
        client = HttpClient(timeout=5)

        async def main() -> None:
            await client.post(server.url, {})
            client.close()  # sync close inside the loop: the pool is closed on the loop's next turn
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            await client.aclose()
            await client.aclose()

        asyncio.run(main())
        assert client_sockets(server) == 0


def test_a_loop_closed_without_shutdown_has_its_sockets_closed_on_next_use() -> None:
    with FaultServer(default=lambda request: json_reply(OK)) as server:
        client = HttpClient(timeout=5)
        loop = asyncio.new_event_loop()
        loop.run_until_complete(client.post(server.url, {}))
        loop.close()  # no shutdown_asyncgens: the guard never ran
        assert client_sockets(server) > 0
        client.close()
        assert client_sockets(server) == 0


_EMFILE = """
import json, resource, sys
from connector_kit.connectors import ConnectorConfig, ConnectorError, LangflowConnector
url = sys.argv[1]
connector = LangflowConnector(config=ConnectorConfig(url=url, timeout=5, max_retries=3))
import os
used = len(os.listdir("/proc/self/fd"))
resource.setrlimit(resource.RLIMIT_NOFILE, (used + 2, used + 2))
hog = []
while len(hog) < 10:  # take the few descriptors left (and any gaps below the limit)
    try:
        hog.append(open("/dev/null"))
    except OSError:
        break
try:
    connector.send([{"role": "user", "content": "hi"}], "s")
except ConnectorError as exc:
    print(json.dumps({"type": type(exc).__name__, "message": str(exc)}))
else:
    print(json.dumps({"type": None}))
"""


def test_running_out_of_file_descriptors_is_reported_as_such() -> None:
    with FaultServer(default=lambda request: json_reply(OK)) as server:
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(_EMFILE), server.url + "/run"],
                              capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["type"] == ConnectorResourceError.__name__, result
    assert "file descriptors" in result["message"] and "ulimit -n" in result["message"]
    assert "check that the server is running" not in result["message"]
