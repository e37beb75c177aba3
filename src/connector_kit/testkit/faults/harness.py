"""Running one send of a recorded exchange against a FaultServer with one step broken.

:class:`FaultHarness` answers every HTTP step with its recorded body except the faulted one,
which gets the scripted fault replies first; it reports what the server saw (attempts at the
faulted step, requests in all) and what the injected :class:`SkippingClock` recorded (waits,
never slept for real).
"""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ...connectors.agent.base import BaseAgentConnector
from ...connectors.http import CallStats, FakeClock, HttpClient
from ..recording.episode import build_connector
from .exchange import SuccessExchange, dumps
from .server import FaultServer, ReceivedRequest, Reply

#: Retry-policy extras of ConnectorConfig; the suite sets its own, so recordings don't interfere.
_POLICY_EXTRAS = ("backoff_initial", "backoff_multiplier", "backoff_max", "jitter",
                  "retry_on_500", "max_burst_wait", "deadline")
#: The settings every check starts from: the defaults of the retry policy, a roomy timeout.
BASE_CONFIG: dict[str, Any] = {"timeout": 30.0, "max_retries": 3}
MAX_RETRIES = int(BASE_CONFIG["max_retries"])
#: Seconds a hung send gets to finish once its server is stopped.
_RELEASE_S = 5.0


class SkippingClock(FakeClock):
    """A FakeClock whose reading also follows real time.

    ``sleep``/``asleep`` are recorded in ``sleeps`` and return at once (the clock jumps),
    while real time spent in I/O still counts: a deadline is met by a real hang, and a
    retry schedule is checked without waiting for it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._real_start = time.perf_counter()

    def monotonic(self) -> float:
        return self._now + (time.perf_counter() - self._real_start)

    def time(self) -> float:
        return self.monotonic() + self._wall_offset



@dataclass
class Observation:
    """What one faulted send did, as seen by the server and by the injected clock."""

    result: dict[str, Any] | None
    error: BaseException | None
    attempts: int  # requests the server got for the faulted step
    requests: int  # requests the server got in all
    stats: list[CallStats]  # HttpClient statistics, one per HTTP call
    sleeps: list[float]  # waits slept on the injected clock (never for real)
    elapsed: float  # seconds on the injected clock (real I/O time + skipped waits)
    text: str | None = None  # extract_text of the result
    events: list[Any] = field(default_factory=list)  # the StreamEvents a stream yielded
    hung: bool = False  # still running when the observation's limit passed


class FaultHarness:
    """One connector class, one successful exchange, a fault server per send.

    ``observe(make_replies)`` builds a fresh connector from the exchange's config (retry
    settings replaced by :data:`BASE_CONFIG` plus ``config``), answers every step with its
    recorded body except the ``step``-th, which gets the replies ``make_replies(clock)``
    returns first (one per attempt), and reports what happened.
    """

    def __init__(self, cls: type[BaseAgentConnector], exchange: SuccessExchange, *,
                 step: int = -1) -> None:
        self.cls = cls
        self.exchange = exchange
        count = len(exchange.steps)
        if not -count <= step < count:
            raise ValueError(f"step {step} is out of range: the exchange has {count} HTTP step(s)")
        self.step = step % count

    # -- serving -------------------------------------------------------------------------
    # ``handler(pending)``: a FaultServer default answering each step with its recorded body,
    # the faulted step with ``pending`` replies first. ``connector(url)``: the connector as
    # recorded, pointed at ``url`` (a server root), retry settings from BASE_CONFIG.
    def handler(self, pending: list[Reply]) -> Callable[[ReceivedRequest], Reply]:
        steps = self.exchange.steps
        served_ok = [0]
        lock = threading.Lock()

        def which(request: ReceivedRequest) -> int:
            for index, step in enumerate(steps):
                if step.path is not None and step.method == request.method and step.path == request.path:
                    return index
            bare = request.path.split("?", 1)[0]
            for index, step in enumerate(steps):
                if step.path is not None and step.method == request.method and (
                        step.path.split("?", 1)[0] == bare):
                    return index
            if any(step.path is not None for step in steps):
                return -1  # a request the recording never made (e.g. a lookup after a fault)
            return min(served_ok[0], len(steps) - 1)

        def handle(request: ReceivedRequest) -> Reply:
            with lock:
                index = which(request)
                if index < 0:
                    return Reply(404, dumps({"detail": "not in the recording"}))
                if index == self.step and pending:
                    return pending.pop(0)
                served_ok[0] += 1
                return steps[index].reply()

        return handle

    def connector(self, server_url: str, overrides: dict[str, Any] | None = None) -> BaseAgentConnector:
        parts = urlsplit(self.exchange.url)
        origin = urlsplit(server_url)
        url = urlunsplit((origin.scheme, origin.netloc, parts.path, parts.query, ""))
        config = {k: v for k, v in self.exchange.config.items() if k not in _POLICY_EXTRAS}
        config.update(BASE_CONFIG)
        config.update(overrides or {})
        connector = build_connector(self.cls, url, config, copy.deepcopy(self.exchange.options))
        assert isinstance(connector, BaseAgentConnector)
        return connector

    def _send(self, connector: BaseAgentConnector, mode: str, events: list[Any]) -> dict[str, Any]:
        """One send (or, for a stream exchange, one stream read to its end), sync or async."""
        messages = copy.deepcopy(self.exchange.messages)
        session = self.exchange.session_id
        if mode == "async":
            async def go() -> dict[str, Any]:
                try:
                    if not self.exchange.stream:
                        return await connector.asend(messages, session)
                    async with connector.astream(messages, session) as stream:
                        async for event in stream:
                            events.append(event)
                    return stream.response or {}
                finally:
                    await connector.aclose()

            return asyncio.run(go())
        if not self.exchange.stream:
            result = connector.send(messages, session)
            assert isinstance(result, dict)
            return result
        with connector.stream(messages, session) as stream:
            for event in stream:
                events.append(event)
        return stream.response or {}

    def observe(self, make_replies: Callable[[SkippingClock], list[Reply]] | None, *,
                config: dict[str, Any] | None = None, mode: str = "sync",
                limit: float | None = None) -> Observation:
        """Send once with the fault replies on the chosen step (None: no fault).

        ``limit``: real seconds the send may take; past it the observation is ``hung`` and the
        server is stopped, which ends its stalls (None: the send runs in this thread, unbounded).
        """
        clock = SkippingClock()
        pending = list(make_replies(clock)) if make_replies is not None else []
        stats: list[CallStats] = []
        events: list[Any] = []
        done: dict[str, Any] = {}
        hung = False
        with FaultServer(default=self.handler(pending)) as server:
            connector = self.connector(server.url, config)
            client = connector.http_client
            if isinstance(client, HttpClient):  # a connector may bring its own transport
                client.clock = clock
                client.observers.append(stats.append)
            started = clock.monotonic()

            def work() -> None:
                try:
                    done["result"] = self._send(connector, mode, events)
                except Exception as exc:  # a raw exception is a finding: reported, not raised
                    done["error"] = exc
                finally:
                    done["elapsed"] = clock.monotonic() - started

            worker = threading.Thread(target=work, daemon=True)
            if limit is None:
                work()
            else:
                worker.start()
                worker.join(limit)
                hung = worker.is_alive()
            requests = list(server.requests)
        if hung:
            worker.join(_RELEASE_S)  # the stopped server ended its stalls: let the send finish
        connector.close()
        error: BaseException | None = done.get("error")
        result: dict[str, Any] | None = done.get("result")
        elapsed = float(done.get("elapsed", clock.monotonic() - started))
        faulted = self.exchange.steps[self.step]
        if faulted.path is not None:
            bare = faulted.path.split("?", 1)[0]
            attempts = sum(1 for r in requests if r.method == faulted.method
                           and r.path.split("?", 1)[0] == bare)
        else:
            steps = len(self.exchange.steps)
            attempts = len(requests) - (steps - 1) if error is None else len(requests) - self.step
        text = _safe(lambda: self.cls.extract_text(result)) if result is not None else None
        return Observation(result, error, attempts, len(requests), stats, list(clock.sleeps), elapsed,
                           text, list(events), hung)


def _safe(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:
        return f"<extract_text raised {type(exc).__name__}: {exc}>"
