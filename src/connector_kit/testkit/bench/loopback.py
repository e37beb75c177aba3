"""A connector's successful exchange, served on 127.0.0.1, with faults on its last HTTP step.

The exchange (one send: each HTTP step and its recorded answer) comes from the connector's
cassettes, else the kit's built-in samples, else a bare ``{}`` answer -- the same exchange the
``faults`` certification suite breaks, answered by the same
:class:`~connector_kit.testkit.faults.harness.FaultHarness` handler.

:data:`SERVER` runs it in a child process (:func:`~.servers.server_process`) for the
overhead figures: in the client's process the server would compete with the client for the
GIL and inflate back-to-back requests. A request to ``/__ck_bench__/fail/<k>`` arms the next
``k`` answers of the faulted step with ``503`` (dropping any left armed) and answers how many
requests that step got since the previous control request, so the client counts attempts
without a reach-in.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...connectors.agent.base import BaseAgentConnector
from ..faults import FaultHarness, Step, SuccessExchange, builtin_exchange, exchange_from_cassette
from ..faults.server import FaultServer, ReceivedRequest, Reply, json_reply
from ..kit import ConnectorTestKit
from .report import ms_since

CONTROL = "/__ck_bench__/fail/"
UNAVAILABLE = Reply(503, b'{"detail": "unavailable (connector-kit bench)"}',
                    {"Content-Type": "application/json"})
#: Run by ``server_process(SERVER, steps_file)``: serve the steps until stdin closes.
SERVER = "import sys\nfrom connector_kit.testkit.bench.loopback import serve\nserve(sys.argv[1])\n"


def exchange_for(cls: type[BaseAgentConnector], cassettes: Path | None) -> tuple[SuccessExchange, str]:
    """The successful send to break, and where it comes from (said in the report's notes)."""
    if cassettes is not None:
        kit = ConnectorTestKit(cls, cassettes)
        for name in kit.recorded_names():
            found = exchange_from_cassette(kit.load(name), kit.options)
            if found is not None:
                return found, f"{found.source} in {cassettes}"
    builtin = builtin_exchange(cls)
    if builtin is not None:
        return builtin, builtin.source
    bare = SuccessExchange("http://localhost/", {}, {}, [{"role": "user", "content": "hello"}],
                           "ck-bench", [Step("POST", None, 200, b"{}")], "bare {} answer")
    return bare, ("a bare `{}` answer to every request (no recorded success: pass --cassettes DIR "
                  "to answer with the framework's real bodies)")


def faulted_requests(requests: Sequence[ReceivedRequest], step: Step) -> int:
    """How many of ``requests`` hit ``step`` (every request, for a step matched by position)."""
    if step.path is None:
        return len(requests)
    bare = step.path.split("?", 1)[0]
    return sum(1 for r in requests if r.method == step.method and r.path.split("?", 1)[0] == bare)


def sends(connector: BaseAgentConnector, exchange: SuccessExchange, mode: str, count: int, *,
          before: Callable[[int], object] | None = None, after: Callable[[int], object] | None = None,
          ) -> list[tuple[float, str]]:
    """``count`` sends of the exchange, each timed: (ms, ``"ok"`` or the exception's type name).

    ``before(i)``/``after(i)`` run around send ``i``, untimed (arm a fault, count attempts).
    Async sends share one event loop (the connector's pools live as long as it), closed with
    ``aclose()`` at the end. A raw (non-ConnectorError) exception is a finding of the figures,
    not a crash of the benchmark: its name is shown in the row.
    """
    done: list[tuple[float, str]] = []

    def outcome(exc: BaseException | None) -> str:
        return "ok" if exc is None else type(exc).__name__

    if mode == "sync":
        for i in range(count):
            if before is not None:
                before(i)
            error: BaseException | None = None
            started = time.perf_counter()
            try:
                connector.send(copy.deepcopy(exchange.messages), exchange.session_id)
            except Exception as exc:
                error = exc
            done.append((ms_since(started), outcome(error)))
            if after is not None:
                after(i)
        return done

    async def in_one_loop() -> None:
        try:
            for i in range(count):
                if before is not None:
                    before(i)
                error: BaseException | None = None
                started = time.perf_counter()
                try:
                    await connector.asend(copy.deepcopy(exchange.messages), exchange.session_id)
                except Exception as exc:
                    error = exc
                done.append((ms_since(started), outcome(error)))
                if after is not None:
                    after(i)
        finally:
            await connector.aclose()

    asyncio.run(in_one_loop())
    return done


@dataclass
class FaultedSends:
    """Sends against armed faults, one entry per send: time, attempts at the faulted step, outcome."""

    ms: list[float] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)


def faulted_sends(harness: FaultHarness, server: FaultServer, pending: list[Reply],
                  connector: BaseAgentConnector, mode: str, count: int,
                  faults: Callable[[], list[Reply]], *, warm: int = 0) -> FaultedSends:
    """``count`` sends, each with ``faults()`` armed on the faulted step, after ``warm`` plain ones.

    ``server`` answers with ``harness.handler(pending)``; leftover faults are dropped after each
    send; the plain sends (pools opened, first-use costs paid) are left out of the result.
    """
    faulted = harness.exchange.steps[harness.step]
    found = FaultedSends()
    seen = [0]

    def arm(i: int) -> None:
        if i >= warm:
            pending.extend(faults())
        seen[0] = len(server.requests)

    def counted(i: int) -> None:
        if i >= warm:
            found.attempts.append(faulted_requests(server.requests[seen[0]:], faulted))
        pending.clear()

    done = sends(connector, harness.exchange, mode, warm + count, before=arm, after=counted)[warm:]
    found.ms = [ms for ms, _ in done]
    found.outcomes = [outcome for _, outcome in done]
    return found


def outcome_counts(outcomes: Sequence[str]) -> str:
    """``"ok x29, ConnectorHTTPError"``: how the sends of a row ended, most common first."""
    return ", ".join(f"{k} x{v}" if v > 1 else k for k, v in Counter(outcomes).most_common())


def write_steps(exchange: SuccessExchange, path: Path) -> Path:
    """The exchange's steps as JSON, for :func:`serve` in another process."""
    steps = [{**dataclasses.asdict(step), "body": step.body.decode("utf-8", "replace")}
             for step in exchange.steps]
    path.write_text(json.dumps(steps), encoding="utf-8")
    return path


def serve(steps_file: str) -> None:
    """Serve the steps of ``steps_file`` on 127.0.0.1: print the URL, serve until stdin closes."""
    with open(steps_file, encoding="utf-8") as fh:
        steps = [Step(**{**s, "body": s["body"].encode("utf-8")}) for s in json.load(fh)]
    exchange = SuccessExchange("http://localhost/", {}, {}, [], "ck-bench", steps, steps_file)
    pending: list[Reply] = []
    # Only the harness's handler is used here: it answers, it builds no connector.
    answer = FaultHarness(BaseAgentConnector, exchange).handler(pending)  # type: ignore[type-abstract]
    faulted = steps[-1]
    seen = [0]
    lock = threading.Lock()

    def handle(request: ReceivedRequest) -> Reply:
        if request.path.startswith(CONTROL):
            with lock:
                count, seen[0] = seen[0], 0
                pending.clear()  # faults a send left unused (it gave up early) do not carry over
                pending.extend([UNAVAILABLE] * int(request.path[len(CONTROL):]))
            return json_reply({"faulted_step_requests": count})
        if faulted_requests([request], faulted):
            with lock:
                seen[0] += 1
        return answer(request)

    with FaultServer(default=handle) as server:
        print(server.url, flush=True)
        sys.stdin.read()


def control(client: Any, url: str, fail_next: int) -> int:
    """Arm the next ``fail_next`` answers of the faulted step; the step's requests since last time."""
    answer = client.get(f"{url}{CONTROL}{fail_next}")
    return int(answer.json()["faulted_step_requests"])
