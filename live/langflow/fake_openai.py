"""A tiny OpenAI-compatible chat-completions server of our own, for the Langflow rig.

Stdlib only, loopback only, deterministic. Usage: ``python fake_openai.py PORT``.

Rules of ``POST /v1/chat/completions`` (the reply depends only on the request):

* last message is a tool result (role ``tool``)  -> final text
  ``"The answer is <result>. (tool said: <tool content>)"``;
* last message is a user message holding arithmetic (``2+3``) and tools are offered
  -> an assistant message with one ``tool_calls`` entry calling the offered calculator
  tool with ``{"expression": "2+3"}`` (call id derived from the request, so deterministic);
* otherwise -> ``"You said: <last user text>"``, plus `` (turn N)`` when the prompt holds
  N > 1 user messages (Langflow put a session's history in), plus `` -- signed NAME`` when a
  system message says ``Sign as NAME.`` (a ``tweaks`` override of the Agent's system prompt).

``stream: true`` answers with SSE ``data: {chunk}`` lines and ``data: [DONE]``.

Other routes: ``GET /v1/models`` (one model), ``GET /stats`` (request counters, so the rig
and tests can prove Langflow really called us), ``POST /stats/reset``, ``GET /health``.
``POST /down/v1/chat/completions`` drops the connection without answering: the "LLM down"
flow points its base URL at ``/down/v1`` so the OpenAI client sees a connection error,
deterministically and without relying on a port staying unused.

Drift switches (for the kit's own drift tests, which show drift catching what an LLM or
framework upgrade changes): ``CONNECTOR_KIT_FAKE_DRIFT`` in the server's environment, a
comma-separated list of :data:`SWITCHES`. ``answer_text`` rewords the final answer after a
tool result (``"The result is <result>. ..."``); ``usage`` reports other token counts
(:data:`DRIFTED_USAGE`). An unknown name stops the server at start (exit 2), so a misspelt
switch cannot pass for "the fake changed nothing". Without the variable nothing changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "fake-gpt"
#: Arithmetic inside a user message: "what is 2+3?" -> "2+3".
ARITH = re.compile(r"\d+(?:\.\d+)?(?:\s*[-+*/]\s*\d+(?:\.\d+)?)+")
#: "Sign as NAME." in a system prompt (set per call through Langflow tweaks).
SIGN = re.compile(r"Sign as ([\w-]+)\.")
#: Fixed token usage, as in the reference samples (Langflow reports it under properties.usage).
USAGE = {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}
#: The usage the ``usage`` drift switch reports instead (a tokenizer or prompt change).
DRIFTED_USAGE = {"prompt_tokens": 26, "completion_tokens": 13, "total_tokens": 39}
#: The drift switches this fake knows (see the module docstring).
SWITCHES = frozenset({"answer_text", "usage"})
#: Cap on the number of logged lines, so a long session cannot fill the disk.
MAX_LOG_LINES = 2000

_lock = threading.Lock()
_stats: dict[str, Any] = {"requests": 0, "chat_completions": 0, "streamed": 0, "tool_calls": 0,
                          "tool_results": 0, "echo": 0, "down": 0, "models": 0,
                          "last_messages": None}
_logged = 0


def log(line: str) -> None:
    """One bounded log line on stdout (the rig sends it to work/logs/fake_openai.log)."""
    global _logged
    with _lock:
        _logged += 1
        if _logged <= MAX_LOG_LINES:
            print(line[:500], flush=True)
        elif _logged == MAX_LOG_LINES + 1:
            print("... log cap reached, further requests are only counted", flush=True)


def count(key: str) -> None:
    with _lock:
        _stats[key] += 1


def text_of(content: Any) -> str:
    """A message's text: OpenAI allows a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def pick_tool(tools: list[dict[str, Any]]) -> tuple[str, str]:
    """(tool name, argument name) of the calculator among the offered tools, else the first."""
    def params(tool: dict[str, Any]) -> dict[str, Any]:
        return tool.get("function", {}).get("parameters", {}) or {}

    chosen = next((t for t in tools if "expression" in params(t).get("properties", {})), tools[0])
    props = params(chosen).get("properties", {}) or {}
    arg = "expression" if "expression" in props else next(iter(props), "expression")
    return chosen.get("function", {}).get("name", "calculator"), arg


def drift_switches(raw: str) -> frozenset[str]:
    """The switches named in ``raw`` (``CONNECTOR_KIT_FAKE_DRIFT``); ValueError on an unknown one."""
    named = frozenset(s.strip() for s in raw.split(",") if s.strip())
    unknown = sorted(named - SWITCHES)
    if unknown:
        raise ValueError(f"unknown drift switch(es) {', '.join(unknown)} in "
                         f"CONNECTOR_KIT_FAKE_DRIFT; this fake knows {', '.join(sorted(SWITCHES))}")
    return named


#: The switches this server runs with (set once in main(); none when imported).
DRIFT: frozenset[str] = frozenset()


def usage() -> dict[str, int]:
    """The token usage every answer reports."""
    return dict(DRIFTED_USAGE if "usage" in DRIFT else USAGE)


def decide(body: dict[str, Any]) -> dict[str, Any]:
    """The assistant message for a request: the whole deterministic rule set."""
    messages = body.get("messages") or []
    tools = body.get("tools") or []
    last = messages[-1] if messages else {}
    role = last.get("role")
    if role == "tool":
        count("tool_results")
        said = text_of(last.get("content"))
        result = said
        try:  # Langflow's calculator answers {"result": "5"}
            parsed = json.loads(said)
            if isinstance(parsed, dict) and "result" in parsed:
                result = str(parsed["result"])
        except ValueError:
            pass
        opening = "The result is" if "answer_text" in DRIFT else "The answer is"
        return {"role": "assistant", "content": f"{opening} {result}. (tool said: {said})"}
    user_text = text_of(last.get("content")) if role == "user" else ""
    if not user_text:  # e.g. a system-only prompt: echo the last user message anywhere
        user_text = next((text_of(m.get("content")) for m in reversed(messages)
                          if m.get("role") == "user"), "")
    match = ARITH.search(user_text) if role == "user" else None
    if match and tools:
        count("tool_calls")
        name, arg = pick_tool(tools)
        expression = re.sub(r"\s+", "", match.group(0))
        digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()
        call = {"id": f"call_{digest[:8]}", "type": "function",
                "function": {"name": name, "arguments": json.dumps({arg: expression})}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    count("echo")
    turns = sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "user")
    suffix = f" (turn {turns})" if turns > 1 else ""
    system = " ".join(text_of(m.get("content")) for m in messages
                      if isinstance(m, dict) and m.get("role") == "system")
    signed = SIGN.search(system)
    if signed:
        suffix += f" -- signed {signed.group(1)}"
    return {"role": "assistant", "content": f"You said: {user_text}{suffix}"}


def completion_id(body: dict[str, Any]) -> str:
    raw = json.dumps(body.get("messages") or [], sort_keys=True).encode()
    return "chatcmpl-" + hashlib.sha256(raw).hexdigest()[:12]


class Handler(BaseHTTPRequestHandler):
    # Small responses on loopback: without this, Nagle + delayed ACK adds ~40 ms per reply.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "fake-openai/1"

    def log_message(self, format: str, *args: Any) -> None:
        log(f"{self.address_string()} {format % args}")

    # -- helpers --------------------------------------------------------------------
    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    # -- routes ---------------------------------------------------------------------
    def do_GET(self) -> None:
        count("requests")
        path = self.path.split("?", 1)[0].rstrip("/")
        if path in ("/v1/models", "/models"):
            count("models")
            self._json(200, {"object": "list", "data": [
                {"id": MODEL, "object": "model", "created": 0, "owned_by": "connector-kit"}]})
        elif path == "/stats":
            with _lock:  # copy first: _json logs, and log() takes the same (non-reentrant) lock
                snapshot = dict(_stats)
            self._json(200, snapshot)
        elif path == "/health":
            self._json(200, {"status": "ok"})
        else:
            self._json(404, {"error": {"message": f"no route {path}", "type": "not_found"}})

    def do_POST(self) -> None:
        count("requests")
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.startswith("/down/"):
            # "LLM down": read the request, then hang up without a status line.
            count("down")
            self._body()
            self.close_connection = True
            return
        if path == "/stats/reset":
            with _lock:
                for key, value in list(_stats.items()):
                    _stats[key] = 0 if isinstance(value, int) else None
            self._json(200, {"reset": True})
            return
        if path not in ("/v1/chat/completions", "/chat/completions"):
            self._json(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
            return
        body = self._body()
        if body is None:
            self._json(400, {"error": {"message": "body is not a JSON object",
                                       "type": "invalid_request_error"}})
            return
        count("chat_completions")
        with _lock:
            _stats["last_messages"] = [
                {"role": m.get("role"), "content": text_of(m.get("content"))[:200]}
                for m in (body.get("messages") or [])[-4:] if isinstance(m, dict)]
        message = decide(body)
        if body.get("stream"):
            count("streamed")
            self._stream(body, message)
        else:
            self._json(200, {
                "id": completion_id(body), "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model") or MODEL,
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
                "usage": usage(),
            })

    def _stream(self, body: dict[str, Any], message: dict[str, Any]) -> None:
        """SSE chunks as the OpenAI API sends them: role, content or tool call, finish, usage."""
        base = {"id": completion_id(body), "object": "chat.completion.chunk",
                "created": int(time.time()), "model": body.get("model") or MODEL}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                         "finish_reason": finish}]}

        events: list[dict[str, Any]] = [chunk({"role": "assistant", "content": ""})]
        if message.get("tool_calls"):
            call = message["tool_calls"][0]
            events.append(chunk({"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                                 "function": {"name": call["function"]["name"],
                                                              "arguments": ""}}]}))
            events.append(chunk({"tool_calls": [{"index": 0, "function": {
                "arguments": call["function"]["arguments"]}}]}))
            events.append(chunk({}, "tool_calls"))
        else:
            words = re.findall(r"\S+\s*", message["content"]) or [""]
            events.extend(chunk({"content": w}) for w in words)
            events.append(chunk({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**base, "choices": [], "usage": usage()})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")  # the end of the body is the end of the stream
        self.end_headers()
        self.close_connection = True
        for event in events:
            self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 refuses bursts of concurrent calls


def main(argv: list[str]) -> int:
    global DRIFT
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: fake_openai.py PORT", file=sys.stderr)
        return 2
    try:
        DRIFT = drift_switches(os.environ.get("CONNECTOR_KIT_FAKE_DRIFT", ""))
    except ValueError as err:
        print(f"fake_openai.py: {err}", file=sys.stderr)
        return 2
    server = Server(("127.0.0.1", int(argv[1])), Handler)
    switches = f", drift switches: {', '.join(sorted(DRIFT))}" if DRIFT else ""
    log(f"fake OpenAI server on http://127.0.0.1:{argv[1]}/v1 (model {MODEL}){switches}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
