"""A stand-in MyFramework server for the worked example, on 127.0.0.1 (python -m ...).

Real contributors record against their framework's real server; this one exists so the
newcomer path can be run (and tested) end to end on any machine. It answers
``POST /api/chat`` with ``{"conversation_id", "reply": {"text": ...}}`` and requires
``Authorization: Bearer <MYFRAMEWORK_API_KEY>``.
"""

from __future__ import annotations

import os
import signal
import threading

from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply


def answer(request: ReceivedRequest, key: str) -> Reply:
    if request.headers.get("authorization") != f"Bearer {key}":
        return json_reply({"error": "unauthorized"}, status=401)
    if request.method != "POST" or request.path != "/api/chat":
        return json_reply({"error": f"no route {request.method} {request.path}"}, status=404)
    body = request.json() or {}
    messages = body.get("messages") or []
    last = messages[-1]["text"] if messages else ""
    return json_reply({"conversation_id": body.get("conversation_id"),
                       "reply": {"text": f"echo ({len(messages)} message(s)): {last}"}})


def serve(key: str) -> FaultServer:
    server = FaultServer()
    server.set_default(lambda request: answer(request, key))
    return server.start()


def serve_until_stopped(key: str) -> None:
    """Serve until SIGINT (Ctrl-C) or SIGTERM (``kill PID``), then stop the server.

    Not until stdin closes: started in the background (``python -m ... &``) stdin is at EOF
    at once, and a shell starts background jobs with SIGINT ignored, so both signals get a
    handler of their own here.
    """
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = serve(key)
    try:
        print(f"MyFramework stand-in on {server.url}/api/chat, PID {os.getpid()} "
              "(Ctrl-C or `kill PID` stops it)", flush=True)
        while not stop.wait(1.0):  # a timed wait: the main thread stays responsive to signals
            pass
    finally:
        server.stop()


if __name__ == "__main__":
    serve_until_stopped(os.environ.get("MYFRAMEWORK_API_KEY", "change-me"))
