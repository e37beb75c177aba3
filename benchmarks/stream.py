"""Streaming cost on loopback: ``LangGraphConnector.stream()`` vs raw ``httpx`` streaming.

A stdlib HTTP/1.1 server on 127.0.0.1 answers ``POST /runs/stream`` with LangGraph-shaped
SSE: a ``metadata`` event, then ``N`` ``values`` events, each flushed on its own after an
optional pause. Both variants read the same stream in the same run, interleaved:

- ``httpx.Client.stream (raw)``: the floor -- ``iter_lines()``, split events on blank lines,
  ``json.loads`` each ``data:`` line;
- ``LangGraphConnector.stream()``: ours (bounded line splitting, SSE parsing, the event
  check, the deadline per gap, the final fold into the response the extractors read).

Reported: the median time to the first event (from the call to the first decoded event), the
median time for the whole stream, and the overhead per event ((ours - raw) / events).
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from connector_kit.testkit.bench import BenchReport, Series

_STATE = {"messages": [
    {"type": "human", "content": "what is 2+3?", "id": "h1"},
    {"type": "ai", "content": "The answer to 2+3 is 5.", "id": "a1", "tool_calls": []},
]}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        frames = [b'event: metadata\r\ndata: {"run_id": "r1"}\r\n\r\n']
        data = json.dumps(_STATE).encode()
        frames += [b"event: values\r\ndata: " + data + b"\r\n\r\n"] * self.server.events
        for index, frame in enumerate(frames):
            if index and self.server.pause:
                time.sleep(self.server.pause)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    events = 20
    pause = 0.0


class SSEServer:
    """``with SSEServer(events, pause) as server: server.url``; stopped on exit."""

    def __init__(self, events: int, pause: float) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.events, self._server.pause = events, pause
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SSEServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _raw(client: httpx.Client, url: str) -> tuple[float, float, int]:
    started = time.perf_counter()
    first: float | None = None
    count = 0
    with client.stream("POST", url, json={"assistant_id": "agent"}) as response:
        data: list[str] = []
        for line in response.iter_lines():
            if line.startswith("data:"):
                data.append(line[5:].strip())
            elif not line and data:
                json.loads("\n".join(data))
                data = []
                count += 1
                if first is None:
                    first = time.perf_counter() - started
    return (first or 0.0) * 1000, (time.perf_counter() - started) * 1000, count


def _ours(connector: Any) -> tuple[float, float, int]:
    started = time.perf_counter()
    first: float | None = None
    count = 0
    with connector.stream("what is 2+3?", "bench") as events:
        for _ in events:
            count += 1
            if first is None:
                first = time.perf_counter() - started
    assert events.text == "The answer to 2+3 is 5."
    return (first or 0.0) * 1000, (time.perf_counter() - started) * 1000, count


def run(*, quick: bool = False) -> BenchReport:
    """Time to first event and per-event overhead, ours vs raw httpx, in the same run."""
    from connector_kit.connectors import ConnectorConfig, LangGraphConnector

    calls = 30 if quick else 200
    report = BenchReport(name="stream", title=(
        f"Streaming on loopback ({calls} streams per variant and case, medians in ms)"))
    for events, pause in ((20, 0.0), (200, 0.0), (10, 0.005)):
        with SSEServer(events, pause) as server, httpx.Client(trust_env=False) as client:
            connector = LangGraphConnector(config=ConnectorConfig(url=server.url, timeout=30),
                                           stateless=True)
            samples: dict[str, list[tuple[float, float, int]]] = {"raw": [], "ours": []}
            for _ in range(3):  # warm-up: pools open, code paths compiled
                _raw(client, server.url + "/runs/stream")
                _ours(connector)
            for _ in range(calls):
                samples["raw"].append(_raw(client, server.url + "/runs/stream"))
                samples["ours"].append(_ours(connector))
            connector.close()
        n = samples["ours"][0][2]
        raw_first = statistics.median(s[0] for s in samples["raw"])
        our_first = statistics.median(s[0] for s in samples["ours"])
        raw_total = statistics.median(s[1] for s in samples["raw"])
        our_total = statistics.median(s[1] for s in samples["ours"])
        case = f"{n} events" + (f", {pause * 1000:g} ms apart" if pause else "")
        report.rows.append({
            "case": case,
            "raw first event ms": round(raw_first, 3),
            "ours first event ms": round(our_first, 3),
            "first event ratio": round(our_first / raw_first, 2) if raw_first else None,
            "raw stream ms": round(raw_total, 3),
            "ours stream ms": round(our_total, 3),
            "overhead per event us": round((our_total - raw_total) / n * 1000, 1),
        })
        report.series += [Series(f"raw httpx, {case}", [s[1] for s in samples["raw"]]),
                          Series(f"stream(), {case}", [s[1] for s in samples["ours"]])]
    report.notes.append(
        "ours = LangGraphConnector(stateless=True).stream(): SSE parsing with bounded lines, the "
        "event check, the per-gap deadline and the fold of the values events into the response; "
        "raw = httpx iter_lines + json.loads per event. Both read the same server in turn.")
    return report
