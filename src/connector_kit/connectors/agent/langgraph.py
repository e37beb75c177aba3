"""LangGraphConnector: run an assistant on a thread (or statelessly), wait or stream.

One ``send()``:

1. the thread: a new one per call (``session_id`` kept as its metadata), or, with
   ``keep_thread=True``, the thread whose metadata holds this ``session_id``, found once with
   ``POST /threads/search`` and created if there is none, so later turns see earlier ones;
   ``stateless=True`` skips threads (``POST /runs/wait``);
2. the run: ``POST .../runs/wait``. It is never re-sent once it may have reached the server
   (the default ``multitask_strategy`` is ``enqueue``: a re-sent run runs twice). If the answer
   breaks after its headers arrived, the run they name (``location``) is joined with
   ``GET .../join``; if it broke before, the thread's runs are listed and the newest is joined.
3. the result: a run paused by ``interrupt()`` raises :class:`AgentInterruptedError` (thread
   id and payload); :meth:`LangGraphConnector.resume` continues it. A static breakpoint
   (``interrupt_before``/``interrupt_after``) leaves no mark in the answer of ``runs/wait``,
   so a run that asked for one (or any run, with ``check_pauses``) is followed by
   ``GET /threads/{id}/state``: non-empty ``next`` nodes mean it paused, and it raises the
   same error. A plain run makes no extra call.

``stream()`` runs ``POST .../runs/stream`` with ``stream_mode`` and folds the events into the
same final state (see :mod:`._langgraph_stream`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Generator
from typing import Any, ClassVar, Literal
from urllib.parse import urljoin, urlsplit

from pydantic import Field, PrivateAttr, field_validator, model_validator

from .._secrets import redact
from ..exceptions import (
    AgentInterruptedError,
    AgentRunError,
    ConnectorError,
    ConnectorResponseError,
    ConnectorTimeoutError,
    ConnectorTransportError,
)
from ..operations import OperationCatalogue
from ..registry import ConnectorRegistry
from . import _langgraph_stream as lgs
from ._frames import StreamEvent
from ._json import dicts_only, scalar_text, text_of
from ._streams import StreamCall, StreamExchange
from .base import BaseAgentConnector
from .exchange import Exchange, HttpCall, checked_result
from .langgraph_ops import LANGGRAPH_OPERATIONS

logger = logging.getLogger("connector_kit.langgraph")

_AI = ("ai", "assistant")
#: Sessions remembered per connector (session id -> thread id) in keep_thread mode.
_MAX_SESSIONS = 4096
#: Joins of one lost run, each bounded by the call's timeout, before giving up.
_MAX_JOINS = 5

Strategy = Literal["reject", "interrupt", "rollback", "enqueue"]
Breakpoints = list[str] | Literal["*"] | None


@ConnectorRegistry.register("langgraph")
class LangGraphConnector(BaseAgentConnector):
    """Connector for a LangGraph API server (``config.url`` is the server's base URL)."""

    assistant_id: str = Field(default="agent", description="Assistant ID or graph name to run.")
    run_config: dict[str, Any] = Field(
        default_factory=dict, description="Passed as the run's `config` (e.g. configurable)."
    )
    context: dict[str, Any] | None = Field(
        default=None, description="The run's `context` (LangGraph >= 0.6 runtime context).")
    keep_thread: bool = Field(
        default=False, description="One thread per session_id across calls (multi-turn state).")
    stateless: bool = Field(default=False, description="Run without a thread (/runs/wait).")
    multitask_strategy: Strategy | None = Field(
        default=None, description="What a run on a busy thread does (server default: enqueue).")
    stream_mode: list[str] = Field(
        default_factory=lambda: ["values"], description="Stream modes for stream()/astream().")
    interrupt_before: Breakpoints = Field(
        default=None, description="Pause each run before these nodes ('*': every node); the "
        "paused run raises AgentInterruptedError and resume() continues it.")
    interrupt_after: Breakpoints = Field(
        default=None, description="Pause each run after these nodes ('*': every node).")
    check_pauses: bool = Field(
        default=False, description="Check every run's thread state for a pause, also without "
        "interrupt_before/after (a graph compiled with breakpoints): one GET per run.")

    health_path = "/ok"
    #: Every endpoint as a typed operation: ``execute("runs", "wait", params={...})``.
    operations: ClassVar[OperationCatalogue | None] = LANGGRAPH_OPERATIONS

    _threads: OrderedDict[str, str] = PrivateAttr(default_factory=OrderedDict)

    @field_validator("assistant_id")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value or not value.strip():
            raise ValueError("assistant_id must be a non-empty string")
        return value

    @field_validator("interrupt_before", "interrupt_after")
    @classmethod
    def _nodes(cls, value: Breakpoints) -> Breakpoints:
        if isinstance(value, list) and not all(isinstance(n, str) and n.strip() for n in value):
            raise ValueError("interrupt_before/interrupt_after take node names (or '*')")
        return value or None  # an empty list asks for no pause

    @model_validator(mode="after")
    def _pauses_need_a_thread(self) -> LangGraphConnector:
        if self.stateless and (self.interrupt_before or self.interrupt_after or self.check_pauses):
            raise ValueError("interrupt_before/interrupt_after/check_pauses need a thread: a "
                             "stateless run that pauses cannot be resumed (drop stateless=True)")
        return self

    @field_validator("stream_mode", mode="before")
    @classmethod
    def _modes(cls, value: Any) -> Any:
        modes = [value] if isinstance(value, str) else value
        if not isinstance(modes, list) or not modes:
            raise ValueError(f"stream_mode must be one of {lgs.STREAM_MODES} or a non-empty list")
        unknown = [m for m in modes if m not in lgs.STREAM_MODES]
        if unknown:
            raise ValueError(f"unknown stream_mode {unknown}; use {', '.join(lgs.STREAM_MODES)}")
        return modes

    def _build_headers(self) -> dict[str, str]:
        """LangGraph deployments authenticate with ``x-api-key``."""
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["x-api-key"] = self.config.api_key
        return headers

    def health_url(self) -> str:
        return self._base_url() + "/ok"

    def _base_url(self) -> str:
        return self._require_url().rstrip("/")

    def build_request(self, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
        """The run payload; ``config``/``context``/``multitask_strategy`` only when set."""
        return self._payload({"input": {"messages": messages}})

    def _payload(self, body: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {"assistant_id": self.assistant_id, **body}
        if self.run_config:
            payload["config"] = self.run_config
        if self.context is not None:
            payload["context"] = self.context
        if self.multitask_strategy is not None and not self.stateless:
            payload["multitask_strategy"] = self.multitask_strategy
        for name in ("interrupt_before", "interrupt_after"):
            if getattr(self, name):
                payload[name] = getattr(self, name)
        return payload

    @property
    def _checks_pauses(self) -> bool:
        return bool(self.interrupt_before or self.interrupt_after or self.check_pauses)

    # -- the conversation ----------------------------------------------------------------
    def _exchange(self, messages: list[dict[str, Any]], session_id: str) -> Exchange:
        thread_id = yield from self._thread(session_id)
        return (yield from self._run(thread_id, self.build_request(messages, session_id)))

    def _thread(self, session_id: str) -> Generator[HttpCall, Any, str | None]:
        """The thread of this call: none (stateless), the session's (keep_thread) or a new one."""
        if self.stateless:
            return None
        base, headers = self._base_url(), self._build_headers()
        if self.keep_thread:
            known = self._threads.get(session_id)
            if known:
                return known
            found = yield HttpCall("POST", f"{base}/threads/search",
                                   {"metadata": {"session_id": session_id}, "limit": 1},
                                   headers, expect="json")
            thread_id = next((scalar_text(t.get("thread_id")) for t in dicts_only(found)
                              if isinstance(found, list)), None)
            if thread_id:
                self._remember(session_id, thread_id)
                return thread_id
        thread = yield HttpCall("POST", f"{base}/threads", {"metadata": {"session_id": session_id}},
                                headers)
        thread_id = scalar_text(thread.get("thread_id")) if isinstance(thread, dict) else None
        if not thread_id:
            raise ConnectorResponseError(
                f"LangGraph created no thread: the answer of POST "
                f"{self._get_http_client().safe_url(base + '/threads')} has no "
                "'thread_id'. Check that the URL is the LangGraph server's base URL."
            )
        if self.keep_thread:
            self._remember(session_id, thread_id)
        return thread_id

    def _remember(self, session_id: str, thread_id: str) -> None:
        self._threads[session_id] = thread_id
        while len(self._threads) > _MAX_SESSIONS:
            self._threads.popitem(last=False)

    def _run(self, thread_id: str | None, payload: dict[str, Any]) -> Exchange:
        """POST runs/wait once; if the answer is lost, join the run instead of re-sending it."""
        base, headers = self._base_url(), self._build_headers()
        prefix = f"{base}/threads/{thread_id}" if thread_id else base
        try:
            response = yield HttpCall("POST", f"{prefix}/runs/wait", payload, headers,
                                      idempotent=self.resend_on_failure)
        except ConnectorTransportError as exc:
            join = self._join_url(exc)
            if join is None and thread_id and not self.keep_thread:
                # Lost before the headers: on our own fresh thread, any run is this one.
                try:
                    runs = yield HttpCall("GET", f"{prefix}/runs?limit=1", headers=headers,
                                          expect="json")
                except ConnectorError:
                    runs = None
                run_id = next((scalar_text(r.get("run_id")) for r in dicts_only(runs)
                               if isinstance(runs, list)), None)
                join = f"{prefix}/runs/{run_id}/join" if run_id else None
            if join is None:
                raise exc from None
            logger.info("runs/wait lost (%s); joining the run instead of re-sending it",
                        type(exc).__name__)
            response = yield from self._join(join)
        return (yield from self._settled(response, thread_id))

    def _settled(self, response: Any, thread_id: str | None) -> Exchange:
        """The run's result, or AgentInterruptedError when it paused.

        ``interrupt()`` shows in the answer (``__interrupt__``); a static breakpoint does not
        (or, in a stream's ``updates``, as an empty ``__interrupt__``), so then the thread's
        state says: its ``next`` nodes are what a resume runs. Only a run that asked for a
        breakpoint (or ``check_pauses``), or showed that empty mark, pays that GET.
        """
        result = self._result(response, thread_id)
        announced = isinstance(response, dict) and response.get("__interrupt__") == []
        if thread_id is None or not (self._checks_pauses or announced):
            return result
        state = yield HttpCall("GET", f"{self._base_url()}/threads/{thread_id}/state",
                               headers=self._build_headers())
        pending = state.get("next") if isinstance(state, dict) else None
        next_nodes = [n for n in map(scalar_text, pending or []) if n] if isinstance(
            pending, list) else []
        if next_nodes:
            raise self._paused(state, thread_id, next_nodes)
        return result

    def _paused(self, state: dict[str, Any], thread_id: str,
                next_nodes: list[str]) -> AgentInterruptedError:
        found = state.get("values")
        values: dict[str, Any] = found if isinstance(found, dict) else {}
        interrupts = [i for task in dicts_only(state.get("tasks"))
                      for i in (task.get("interrupts") or []) if isinstance(task.get("interrupts"), list)]
        if interrupts:  # an interrupt() the answer did not show (a joined run, say)
            return self._interrupted({**values, "__interrupt__": interrupts}, thread_id)
        nodes = ", ".join(next_nodes)
        return AgentInterruptedError(
            f"The LangGraph run paused at a breakpoint on thread '{thread_id}' (interrupt_before/"
            f"interrupt_after); it runs {nodes} next. Continue it with "
            f"connector.resume('{thread_id}') (or look at the state first: "
            "AgentInterruptedError.values).",
            thread_id=thread_id, interrupts=[], values=values, next_nodes=next_nodes)

    def _join(self, url: str) -> Generator[HttpCall, Any, Any]:
        """Join a run; a join that times out is joined again (it starts no work), boundedly."""
        for attempt in range(1, _MAX_JOINS + 1):
            try:
                # Still a step of the call: it gets what is left of the call's deadline. A
                # runs/wait that timed out per attempt (timeout < deadline) leaves room to
                # join; one that spent the whole deadline raises, and nothing is re-sent.
                return (yield HttpCall("GET", url, headers=self._build_headers()))
            except ConnectorTimeoutError:
                if attempt == _MAX_JOINS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _join_url(self, exc: ConnectorTransportError) -> str | None:
        """The join URL the lost answer's ``location`` header names (same server only)."""
        location = (exc.response_headers or {}).get("location")
        if not location:
            return None
        base = self._base_url()
        url = urljoin(base + "/", location.lstrip("/")) if not location.startswith(
            "http") else location
        if urlsplit(url).netloc != urlsplit(base).netloc:
            return None  # never send the key to another host
        return url if url.endswith("/join") else None

    def _result(self, response: Any, thread_id: str | None) -> dict[str, Any]:
        if isinstance(response, dict) and _asked(response):
            raise self._interrupted(response, thread_id)
        return checked_result(self.parse_response(response))

    def _interrupted(self, values: dict[str, Any], thread_id: str | None) -> AgentInterruptedError:
        interrupts = list(values.get("__interrupt__") or [])
        first = interrupts[0] if interrupts else None
        asked = first.get("value") if isinstance(first, dict) else first
        shown = redact(text_of(asked) or "", self.config.secret_values())[:200]
        where = (f"thread '{thread_id}'" if thread_id else
                 "a stateless run (it cannot be resumed: use a thread)")
        return AgentInterruptedError(
            f"The LangGraph run paused for human input on {where}; it asked: {shown}. "
            f"Continue it with connector.resume('{thread_id}', <your answer>)"
            " (sends {'command': {'resume': <your answer>}}).",
            thread_id=thread_id, interrupts=interrupts, values=values)

    # -- interrupts ----------------------------------------------------------------------
    def resume(self, thread_id: str, value: Any = None) -> dict[str, Any]:
        """Continue a paused run on ``thread_id``.

        With a ``value``, the paused ``interrupt()`` returns it (``{"command": {"resume":
        value}}``); without one (a static breakpoint), the run goes on with its next nodes
        (``{"input": null}``: the server fails a resume command of ``null``, and an
        ``interrupt()`` continued this way asks again). Returns the final state like
        ``send()``; may raise AgentInterruptedError again (the next breakpoint or interrupt).
        """
        return self._drive_sync(self._run(thread_id, self._resume_payload(value)))

    async def aresume(self, thread_id: str, value: Any = None) -> dict[str, Any]:
        """Async :meth:`resume`."""
        return await self._drive_async(self._run(thread_id, self._resume_payload(value)))

    def _resume_payload(self, value: Any) -> dict[str, Any]:
        return self._payload({"input": None} if value is None else {"command": {"resume": value}})

    # -- streaming -----------------------------------------------------------------------
    def _stream_exchange(self, messages: list[dict[str, Any]], session_id: str) -> StreamExchange:
        thread_id = yield from self._thread(session_id)
        prefix = f"{self._base_url()}/threads/{thread_id}" if thread_id else self._base_url()
        payload = {**self.build_request(messages, session_id), "stream_mode": self.stream_mode}
        return StreamCall(f"{prefix}/runs/stream", payload, self._build_headers(), "sse",
                          context={"thread_id": thread_id})

    def _check_event(self, event: StreamEvent, call: StreamCall) -> None:
        lgs.check_event(event, self.stream_mode, lambda: self._get_http_client().safe_url(call.url),
                        self.config.secret_values())

    def _finish_stream(self, events: list[StreamEvent], call: StreamCall) -> dict[str, Any]:
        return self._result(lgs.fold(events, self.stream_mode), call.context.get("thread_id"))

    def _stream_outcome(self, events: list[StreamEvent], call: StreamCall) -> Exchange:
        thread_id = call.context.get("thread_id")
        return (yield from self._settled(lgs.fold(events, self.stream_mode), thread_id))

    # -- parsing and extraction ----------------------------------------------------------
    def parse_response(self, response: dict[str, Any]) -> dict[str, Any]:
        """A non-empty dict; ``__error__`` (HTTP 200) and ``__interrupt__`` are raised."""
        if not isinstance(response, dict) or not response:
            raise ConnectorResponseError(
                "LangGraph returned an empty or non-object run result "
                f"({type(response).__name__}); expected the thread state with 'messages'."
            )
        if "__error__" in response:
            error = response["__error__"]
            kind = scalar_text(error.get("error")) if isinstance(error, dict) else None
            detail = error.get("message") if isinstance(error, dict) else error
            detail = redact(text_of(detail), self.config.secret_values())
            raise AgentRunError(
                f"The LangGraph run failed inside the graph: {kind or 'error'}: {detail}. "
                "The server answered HTTP 200, but the graph raised; check the graph's logs.",
                error_type=kind,
            )
        if _asked(response):
            raise self._interrupted(response, None)
        if "messages" not in response:
            logger.warning("LangGraph response has no 'messages' key; keys: %s",
                           sorted(map(str, response))[:10])
        return response

    @classmethod
    def extract_text(cls, response: dict[str, Any]) -> str | None:
        """Content of the last message whose type or role is ai/assistant."""
        messages = response.get("messages") if isinstance(response, dict) else None
        for message in reversed(dicts_only(messages) if isinstance(messages, list) else []):
            if message.get("type") in _AI or message.get("role") in _AI:
                return text_of(message.get("content"))
        return None

    @classmethod
    def extract_session_id(cls, response: dict[str, Any]) -> str | None:
        """LangGraph run results carry no session id: always None."""
        return None

    @classmethod
    def extract_tool_trace(cls, response: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Tool calls of AI messages and the tool results, in order; None when there were none."""
        messages = response.get("messages") if isinstance(response, dict) else None
        if not isinstance(messages, list):
            return None
        trace: list[dict[str, Any]] = []
        for message in dicts_only(messages):
            kind = message.get("type") or message.get("role")
            if kind in _AI:
                calls = dicts_only(message.get("tool_calls"))
                if calls:
                    trace.append({"type": "tool_use", "tool_calls": calls})
            elif kind == "tool":
                entry: dict[str, Any] = {
                    "type": "tool_result",
                    "name": scalar_text(message.get("name")),
                    "content": text_of(message.get("content")),
                    "tool_call_id": scalar_text(message.get("tool_call_id")),
                }
                if isinstance(message.get("status"), str):
                    entry["status"] = message["status"]
                trace.append(entry)
        return trace or None


def _asked(response: dict[str, Any]) -> bool:
    """An ``interrupt()`` payload is in the answer (an empty list marks a static breakpoint)."""
    interrupts = response.get("__interrupt__")
    return isinstance(interrupts, list) and bool(interrupts)
