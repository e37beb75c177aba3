"""Connection reuse at high concurrency: bursts reuse the connections earlier bursts opened.

Counted by the server (TCP connections it accepted), never timed. Before the fix, each async
shard kept fewer idle connections than it carried in flight and the shard a call went to
followed the current in-flight count, so every burst closed and reopened connections
(~one connect per row at 200 in flight).
"""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

from connector_kit.blocks import AgentBlock
from connector_kit.connectors import ConnectorConfig, HttpClient, LangflowConnector
from connector_kit.connectors.batch import KeptLoop
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


def _block(url: str, concurrency: int) -> AgentBlock:
    return AgentBlock(block_name="reuse", agent_framework="langflow", agent_url=url + "/api/v1/run/f",
                      input_cols={"messages": "q"}, output_cols=["r"], max_concurrency=concurrency,
                      timeout=30, show_progress=False)


def test_agent_block_keeps_its_connections_across_generate_calls() -> None:
    concurrency = 32
    frame = pd.DataFrame({"q": [f"q{i}" for i in range(concurrency * 2)]})
    with FaultServer(default=_slow) as server:
        block = _block(server.url, concurrency)
        try:
            first = block.generate(frame)
            opened = server.connections
            second = block.generate(frame)
            assert server.connections == opened, "the second batch opened connections anew"
        finally:
            block.close()
    assert opened <= concurrency + 8
    assert first["r"].notna().all() and second["r"].notna().all()


def test_closing_the_block_closes_its_kept_connections() -> None:
    with FaultServer(default=_slow) as server:
        block = _block(server.url, 4)
        block.generate(pd.DataFrame({"q": ["a", "b", "c", "d"]}))
        kept = block._loop
        assert kept is not None
        loops = [runner.get_loop() for runner in kept._runners]
        assert len(loops) == 1 and not loops[0].is_closed()
        block.close()
        assert block._loop is None
        assert loops[0].is_closed()
        block.close()  # twice is fine


def test_inside_a_running_loop_a_batch_gets_a_fresh_loop_and_closes_its_pool() -> None:
    with FaultServer(default=_slow) as server:
        block = _block(server.url, 4)

        async def main() -> pd.DataFrame:
            return block.generate(pd.DataFrame({"q": ["a", "b"]}))

        try:
            out = asyncio.run(main())
            assert out["r"].notna().all()
            assert block._loop is not None and block._loop._runners == []  # nothing kept
        finally:
            block.close()


def test_a_kept_loop_is_dropped_after_an_interrupt() -> None:
    kept = KeptLoop()

    async def interrupted() -> None:
        raise KeyboardInterrupt

    async def fine() -> int:
        return 7

    assert kept.run(fine) == 7
    first = kept._runners[0].get_loop()
    with pytest.raises(KeyboardInterrupt):
        kept.run(interrupted)
    assert kept._runners == [] and first.is_closed()
    assert kept.run(fine) == 7  # a new loop next time
    kept.close()
    assert kept._runners == []
