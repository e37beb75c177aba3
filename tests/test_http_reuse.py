"""Connection reuse at high concurrency: bursts reuse the connections earlier bursts opened.

Counted by the server (TCP connections it accepted), never timed. Before the fix, each async
shard kept fewer idle connections than it carried in flight and the shard a call went to
followed the current in-flight count, so every burst closed and reopened connections
(~one connect per row at 200 in flight).
"""

from __future__ import annotations

import asyncio

from connector_kit.connectors import ConnectorConfig, HttpClient, LangflowConnector
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply

OK = {"session_id": "s", "outputs": []}


def _slow(request: ReceivedRequest) -> Reply:
    return json_reply(OK, delay=0.05)  # long enough for a whole burst to be in flight at once


def test_bursts_of_200_reuse_their_connections() -> None:
    in_flight, bursts = 200, 4
    with FaultServer(default=_slow) as server:
        client = HttpClient(timeout=30)

        async def main() -> list[int]:
            opened = []
            try:
                for _ in range(bursts):
                    await asyncio.gather(*(client.post(server.url + "/run", {"i": i})
                                           for i in range(in_flight)))
                    opened.append(server.connections)
            finally:
                await client.aclose()
            return opened

        opened = asyncio.run(main())
        assert len(server.requests) == in_flight * bursts
    # The first burst opens about one connection per call in flight; later bursts reuse them.
    assert opened[0] <= in_flight + 8
    assert opened[-1] - opened[0] <= in_flight // 10, f"connections after each burst: {opened}"


def test_a_batch_connects_about_its_concurrency_not_its_row_count() -> None:
    concurrency, rows = 64, 640
    with FaultServer(default=_slow) as server:
        connector = LangflowConnector(config=ConnectorConfig(url=server.url + "/api/v1/run/f",
                                                             timeout=30))
        requests = [{"messages": [{"role": "user", "content": str(i)}], "session_id": "s"}
                    for i in range(rows)]
        items = connector.execute_batch(requests, max_concurrency=concurrency)
        connector.close()
        assert all(item.ok for item in items)
        assert server.connections <= concurrency + 8, (
            f"{server.connections} connections for {rows} rows at concurrency {concurrency}")
