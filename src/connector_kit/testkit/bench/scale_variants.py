"""The AgentBlock-at-scale measurements, one per fresh child process (:mod:`.scale` starts them).

``python -m connector_kit.testkit.bench.scale_variants --child VARIANT URL CONCURRENCY ROWS``
runs one warm-up wave of ``concurrency`` rows, then the measured batch of ``ROWS`` rows against
the delayed stub at ``URL`` (:mod:`.delay_stub`), and prints one JSON line: seconds, CPU
seconds, failed rows, the TCP connections the stub accepted during the batch, peak RSS. A
fresh process per figure, so its peak RSS and CPU time are its own. Variants:

- ``ours``: ``AgentBlock.generate`` with ``max_concurrency = concurrency``;
- ``raw8``: ``concurrency`` coroutines posting the same payload over plain ``httpx.AsyncClient``
  objects carrying 8 in flight each (what one careful user of httpx gets); ``raw``: the same
  through one client whose pool may hold ``concurrency`` connections;
- ``peer``: the published package's (sdg-hub) AgentBlock in ``async_mode``, when installed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

#: Where the stub's flow lives; any path works, AgentBlock's langflow URL names one.
FLOW_PATH = "/api/v1/run/bench-flow"
#: A fake key (the stub checks nothing): sent as AgentBlock would send a real one.
FAKE_API_KEY = "fake-bench-key-not-a-secret"
#: What AgentBlock's Langflow connector posts for one row, for the raw clients to post too.
PAYLOAD = {"output_type": "chat", "input_type": "chat", "input_value": "what is 2+3?",
           "session_id": "bench-session"}
HEADERS = {"Content-Type": "application/json", "x-api-key": FAKE_API_KEY}

#: One measured batch: (seconds, CPU seconds, failed rows). ``mark`` is called between the
#: warm-up wave and the batch (the stub's connection count is read there).
Measurement = tuple[float, float, int]
Variant = Callable[[str, int, int, Callable[[], None]], Measurement]


def _frame(rows: int) -> Any:
    import pandas as pd

    return pd.DataFrame({"question": [f"what is {i}+3?" for i in range(rows)]})


def _ours(url: str, concurrency: int, rows: int, mark: Callable[[], None]) -> Measurement:
    from ...blocks import AgentBlock

    block = AgentBlock(
        block_name=f"scale_c{concurrency}", agent_framework="langflow", agent_url=url + FLOW_PATH,
        agent_api_key=FAKE_API_KEY, input_cols={"messages": "question"}, output_cols=["response"],
        max_concurrency=concurrency, timeout=60, show_progress=False,
    )
    df = _frame(rows)
    try:
        block.generate(df.head(concurrency))  # warm-up wave
        mark()
        started, cpu = time.perf_counter(), time.process_time()
        block.generate(df)
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu
        summary = block.last_summary
        return elapsed, used, summary.failed if summary is not None else rows
    finally:
        block.close()


def _raw(url: str, concurrency: int, rows: int, mark: Callable[[], None], *,
         per_client: int | None = None) -> Measurement:
    per = per_client or concurrency
    count = max(1, -(-concurrency // per))
    limits = httpx.Limits(max_connections=per, max_keepalive_connections=per)

    async def main() -> Measurement:
        clients = [httpx.AsyncClient(limits=limits, timeout=60, trust_env=False) for _ in range(count)]
        try:
            async def batch(total: int) -> int:
                left = iter(range(total))
                failed = 0

                async def worker(client: httpx.AsyncClient) -> None:
                    nonlocal failed
                    for _ in left:
                        response = await client.post(url + FLOW_PATH, json=PAYLOAD, headers=HEADERS)
                        failed += response.status_code != 200
                        response.json()

                await asyncio.gather(*(worker(clients[i % count]) for i in range(concurrency)))
                return failed

            await batch(concurrency)  # warm-up wave
            mark()
            started, cpu = time.perf_counter(), time.process_time()
            failed = await batch(rows)
            return time.perf_counter() - started, time.process_time() - cpu, failed
        finally:
            for client in clients:
                await client.aclose()

    return asyncio.run(main())


def _raw8(url: str, concurrency: int, rows: int, mark: Callable[[], None]) -> Measurement:
    return _raw(url, concurrency, rows, mark, per_client=8)


def peer_agent_block(agent_url: str, api_key: str, concurrency: int, timeout: float) -> Any:
    """sdg-hub's (the published package's) AgentBlock on ``question`` -> ``response``, in
    ``async_mode`` with ``max_concurrency = concurrency``; ImportError if it is not installed."""
    # sdg-hub imports litellm, which fetches its model price map from the internet at import
    # unless told to use its bundled copy: benchmarks talk to loopback only.
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    # Looked up at run time (Any to mypy), so type-checking passes with the peer installed or not.
    PeerAgentBlock: Any = importlib.import_module("sdg_hub.core.blocks").AgentBlock
    return PeerAgentBlock(
        block_name="peer", agent_framework="langflow", agent_url=agent_url,
        agent_api_key=api_key, input_cols={"messages": "question"}, output_cols=["response"],
        async_mode=True, max_concurrency=concurrency, timeout=timeout,
    )


def _peer(url: str, concurrency: int, rows: int, mark: Callable[[], None]) -> Measurement:
    block = peer_agent_block(url + FLOW_PATH, FAKE_API_KEY, concurrency, timeout=60)
    df = _frame(rows)
    block.generate(df.head(concurrency))
    mark()
    started, cpu = time.perf_counter(), time.process_time()
    out = block.generate(df)
    failed = int(out["response"].isna().sum()) if "response" in out else rows
    return time.perf_counter() - started, time.process_time() - cpu, failed


VARIANTS: dict[str, Variant] = {"ours": _ours, "raw": _raw, "raw8": _raw8, "peer": _peer}
#: The variant names the report's rows carry.
NAMES = {"ours": "AgentBlock (connector-kit)", "raw": "httpx.AsyncClient (raw, one client)",
         "raw8": "httpx.AsyncClient (raw, 8 in flight per client)",
         "peer": "sdg-hub AgentBlock (async_mode)"}


def _stats(client: httpx.Client, url: str) -> dict[str, int]:
    answer: dict[str, int] = client.get(url + "/__stats").json()
    return answer


def child(variant: str, url: str, concurrency: int, rows: int) -> dict[str, Any]:
    """Measure one variant in this (fresh) process: its figures, as the JSON line carries them."""
    with httpx.Client(trust_env=False) as stats_client:
        _stats(stats_client, url)  # this client's own connection, before anything is counted
        before: dict[str, int] = {}

        def mark() -> None:
            before.update(_stats(stats_client, url))

        elapsed, cpu, failed = VARIANTS[variant](url, concurrency, rows, mark)
        after = _stats(stats_client, url)
    return {"seconds": elapsed, "cpu_s": cpu, "failed": failed,
            "connects": after["connects"] - before["connects"], "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's own peak RSS in MB.

    Linux keeps ``ru_maxrss`` across ``execve``, so a child forked from the benchmark process
    (pandas and the peer imported: ~340 MB) would report at least its parent's size; the
    kernel's ``VmHWM`` belongs to the new address space. ``ru_maxrss`` where there is no /proc.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status.read(64 * 1024).splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="one AgentBlock-at-scale measurement (internal)")
    parser.add_argument("--child", nargs=4, metavar=("VARIANT", "URL", "CONCURRENCY", "ROWS"),
                        required=True)
    args = parser.parse_args(argv)
    variant, url, concurrency, rows = args.child
    if variant not in VARIANTS:
        parser.error(f"unknown variant {variant!r}; one of {', '.join(VARIANTS)}")
    try:
        print(json.dumps(child(variant, url, int(concurrency), int(rows))))
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: stop quietly
        sys.exit(130)


if __name__ == "__main__":
    _main()
