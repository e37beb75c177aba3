"""Drift switches on the wire of the LangGraph rig: a Starlette app whose middleware rewrites
the server's own JSON answers, standing in for a server upgrade that changes serialisation.

Mounted (``langgraph.json`` ``http.app``) only when ``CONNECTOR_KIT_FAKE_DRIFT`` names one of
the switches below, so ordinary recordings are untouched. The switch list is read once, at
import, in the server process (the rig passes the variable through).

* ``trace_field``   -- every tool message loses its ``status`` key (a tool-trace entry of the
                       connector then lacks ``status``);
* ``middle_key``    -- every message but the first and the last loses ``response_metadata``;
* ``content_type``  -- JSON answers say ``application/json; charset=utf-8``.

``answer_text`` (a changed final answer) lives in ``fake_agent.py``: it is the model's.
"""

from __future__ import annotations

import json
import os
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SWITCH_ENV = "CONNECTOR_KIT_FAKE_DRIFT"
WIRE_SWITCHES = frozenset({"trace_field", "middle_key", "content_type"})
ACTIVE = frozenset(s.strip() for s in os.environ.get(SWITCH_ENV, "").split(",") if s.strip())


def rewrite(body: Any) -> Any:
    """The answer with the active body switches applied (messages lists at any depth)."""
    if isinstance(body, list):
        return [rewrite(item) for item in body]
    if not isinstance(body, dict):
        return body
    out = {key: rewrite(value) for key, value in body.items()}
    messages = out.get("messages")
    if isinstance(messages, list):
        for index, message in enumerate(messages):
            if not isinstance(message, dict):
                continue
            if "trace_field" in ACTIVE and message.get("type") == "tool":
                message.pop("status", None)
            if "middle_key" in ACTIVE and 0 < index < len(messages) - 1:
                message.pop("response_metadata", None)
    return out


class DriftMiddleware:
    """Buffers each JSON answer, applies the switches, and fixes its length."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not ACTIVE & WIRE_SWITCHES:
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                if not _is_json(start):
                    await send(message)
                return
            if message["type"] != "http.response.body" or not _is_json(start):
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            await _send_rewritten(start, b"".join(chunks), send)

        await self.app(scope, receive, capture)


def _is_json(start: dict[str, Any]) -> bool:
    return any(k.lower() == b"content-type" and v.startswith(b"application/json")
               for k, v in start.get("headers", []))


async def _send_rewritten(start: dict[str, Any], raw: bytes, send: Send) -> None:
    data = raw
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if parsed is not None and (rewritten := rewrite(parsed)) != parsed:
        data = json.dumps(rewritten, separators=(",", ":")).encode()  # compact, as the server's
    headers = [(k, v) for k, v in start.get("headers", [])
               if k.lower() not in (b"content-length", b"content-type")]
    kind = b"application/json; charset=utf-8" if "content_type" in ACTIVE else b"application/json"
    headers += [(b"content-type", kind), (b"content-length", str(len(data)).encode())]
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": data, "more_body": False})


app = Starlette()
app.add_middleware(DriftMiddleware)
