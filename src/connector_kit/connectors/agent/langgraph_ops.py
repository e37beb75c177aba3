"""LangGraph's HTTP API as typed operations: assistants, threads, runs, stateless runs, health.

Verified against a real ``langgraph dev`` server (langgraph-api 0.16.7). Ids the server
checks as UUIDs (thread, run, assistant) are validated as UUIDs here, so a malformed id is an
InvalidParameterError before any request instead of a 400/422 from the server.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any
from uuid import UUID

from ..operations import NoParams, OpCall, OperationCatalogue, OperationContext, OpOutput
from ._json import dicts_only, scalar_text
from .langgraph_params import (
    AssistantGetParams,
    AssistantsSearchParams,
    RunParams,
    RunsCancelParams,
    RunsCreateParams,
    RunsListParams,
    RunsResumeParams,
    RunsStreamParams,
    RunsWaitParams,
    StatelessStreamParams,
    StatelessWaitParams,
    ThreadParams,
    ThreadsCreateParams,
    ThreadsHistoryParams,
    ThreadsSearchParams,
    _RunInput,
    assistant_of,
)

LANGGRAPH_OPERATIONS = OperationCatalogue("langgraph", check=("health", "check"),
                                          version=("/info", "version"))
_op = LANGGRAPH_OPERATIONS.operation

# -- helpers ------------------------------------------------------------------------------

def _run_output(ctx: OperationContext, state: Any, thread_id: UUID | None) -> OpOutput:
    """A finished run's state, with what an agent needs beside it (text, interrupts)."""
    from ..exceptions import AgentInterruptedError
    from .langgraph import LangGraphConnector

    try:
        response = ctx.connector.parse_response(state) if isinstance(
            ctx.connector, LangGraphConnector) else state
    except AgentInterruptedError:
        response = state  # an operation reports the pause in its meta (send() raises it)
    meta: dict[str, Any] = {"thread_id": str(thread_id) if thread_id else None,
                            "text": LangGraphConnector.extract_text(response)}
    interrupts = response.get("__interrupt__") if isinstance(response, dict) else None
    if interrupts:
        meta["interrupted"] = True
        meta["interrupts"] = interrupts
    return OpOutput(response, meta)


def _paused(output: OpOutput, p: _RunInput, thread_id: UUID) -> Generator[OpCall, Any, OpOutput]:
    """A static breakpoint leaves no mark in the run's answer: a run that asked for one reads
    the thread state, whose non-empty ``next`` nodes mean it paused (meta['interrupted'],
    meta['next']). A run without interrupt_before/after makes no extra call."""
    if not (p.interrupt_before or p.interrupt_after) or output.meta.get("interrupted"):
        return output
    state = yield OpCall("GET", f"/threads/{thread_id}/state")
    pending = state.get("next") if isinstance(state, dict) else None
    nodes = [n for n in map(scalar_text, pending) if n] if isinstance(pending, list) else []
    if nodes:
        output.meta["interrupted"] = True
        output.meta["next"] = nodes
    return output


def _page(items: Any, limit: int, offset: int) -> OpOutput:
    rows = dicts_only(items) if isinstance(items, list) else []
    return OpOutput(rows, {"pagination": {"limit": limit, "offset": offset, "returned": len(rows),
                                          "next_offset": offset + len(rows) if len(rows) == limit else None}})


def _stream_output(events: list[dict[str, Any]], thread_id: UUID | None) -> OpOutput:
    meta: dict[str, Any] = {"thread_id": str(thread_id) if thread_id else None, "events": len(events)}
    for event in events:
        if event["event"] == "metadata" and isinstance(event["data"], dict):
            meta["run_id"] = scalar_text(event["data"].get("run_id"))
        if event["event"] == "error":
            meta["error"] = event["data"]
    return OpOutput(events, meta)


# -- assistants -------------------------------------------------------------------------

@_op("assistants", "search", result_type="table", readonly=True)
def assistants_search(ctx: OperationContext, p: AssistantsSearchParams) -> Any:
    """Search the server's assistants (one per graph, plus any created with a config).

    Next: pass an assistant's graph_id (or its assistant_id) as assistant_id to runs.wait or
    runs.stream; assistants.get(assistant_id=...) shows one assistant's config.
    """
    body = p.model_dump(exclude_none=True)
    found = yield OpCall("POST", "/assistants/search", body, expect="json")
    return _page(found, p.limit, p.offset)


@_op("assistants", "get", readonly=True)
def assistants_get(ctx: OperationContext, p: AssistantGetParams) -> Any:
    """Get one assistant: its graph_id, config, context and metadata.

    Next: run it with runs.wait(thread_id=..., assistant_id=<graph_id>, messages=...).
    """
    return (yield OpCall("GET", f"/assistants/{p.assistant_id}"))


# -- threads ------------------------------------------------------------------------------

@_op("threads", "create")
def threads_create(ctx: OperationContext, p: ThreadsCreateParams) -> Any:
    """Create a thread: the conversation (session) that runs add to and remember.

    Next: runs.wait(thread_id=<thread_id>, messages=...) to talk on it; later runs on the same
    thread see the earlier turns, so send only the new message. Store a session id in metadata
    to find the thread again with threads.search(metadata={'session_id': ...}).
    """
    body: dict[str, Any] = {"metadata": p.metadata}
    if p.thread_id is not None:
        body["thread_id"] = str(p.thread_id)
    if p.if_exists is not None:
        body["if_exists"] = p.if_exists
    thread = yield OpCall("POST", "/threads", body)
    return OpOutput(thread, {"thread_id": scalar_text(thread.get("thread_id"))})


@_op("threads", "get", readonly=True)
def threads_get(ctx: OperationContext, p: ThreadParams) -> Any:
    """Get a thread: its status (idle, busy, interrupted, error), metadata and current values.

    meta['status'] is the thread's status.
    Next: threads.state(thread_id=...) for the full state and its next nodes, or
    runs.resume(thread_id=..., resume=...) when the status is 'interrupted'.
    """
    thread = yield OpCall("GET", f"/threads/{p.thread_id}")
    return OpOutput(thread, {"thread_id": str(p.thread_id), "status": scalar_text(thread.get("status"))})


@_op("threads", "search", result_type="table", readonly=True)
def threads_search(ctx: OperationContext, p: ThreadsSearchParams) -> Any:
    """Search threads by metadata (e.g. a session id) and status, newest first.

    Next: use a found thread_id with runs.wait to continue that conversation, or with
    threads.state / threads.history to read it.
    """
    found = yield OpCall("POST", "/threads/search", p.model_dump(exclude_none=True), expect="json")
    return _page(found, p.limit, p.offset)


@_op("threads", "state", readonly=True)
def threads_state(ctx: OperationContext, p: ThreadParams) -> Any:
    """The thread's current state: values (the messages so far), next nodes, pending interrupts.

    Next: when 'next' is non-empty the thread is paused: runs.resume(thread_id=..., resume=...).
    """
    return (yield OpCall("GET", f"/threads/{p.thread_id}/state"))


@_op("threads", "history", result_type="table", readonly=True)
def threads_history(ctx: OperationContext, p: ThreadsHistoryParams) -> Any:
    """The thread's past states (checkpoints), newest first.

    Next: compare values across checkpoints to see what each run changed.
    """
    found = yield OpCall("POST", f"/threads/{p.thread_id}/history", {"limit": p.limit}, expect="json")
    return _page(found, p.limit, 0)


@_op("threads", "delete")
def threads_delete(ctx: OperationContext, p: ThreadParams) -> Any:
    """Delete a thread and its runs and state. Returns {'deleted': thread_id}.

    Next: threads.create() to start a new conversation.
    """
    yield OpCall("DELETE", f"/threads/{p.thread_id}", expect="empty")
    return OpOutput({"deleted": str(p.thread_id)}, {"thread_id": str(p.thread_id)})


# -- runs ---------------------------------------------------------------------------------

@_op("runs", "wait")
def runs_wait(ctx: OperationContext, p: RunsWaitParams) -> Any:
    """Run the assistant on a thread and wait for the final state (the messages of the run).

    meta['text'] is the last AI message's text; meta['interrupted'] is set when the graph paused
    (by interrupt(), or at an interrupt_before/interrupt_after breakpoint: then meta['next']
    names the nodes a resume runs, read from the thread state).
    Next: runs.wait again on the same thread_id for the next turn (send only the new message);
    runs.resume(thread_id=..., resume=...) when interrupted; threads.state to inspect.
    """
    state = yield OpCall("POST", f"/threads/{p.thread_id}/runs/wait", p.payload(ctx))
    return (yield from _paused(_run_output(ctx, state, p.thread_id), p, p.thread_id))


@_op("runs", "stream", result_type="events")
def runs_stream(ctx: OperationContext, p: RunsStreamParams) -> Any:
    """Run the assistant on a thread and collect its streamed events (Server-Sent Events).

    The first event ('metadata') names the run: meta['run_id']. A graph error ends the stream
    with an 'error' event (meta['error']). Never re-sent once it may have started (no
    duplicate runs; only a refused connection, 429 or 503 is retried).
    Next: threads.state(thread_id=...) for the final state, or runs.wait for the next turn.
    """
    body = {**p.payload(ctx), "stream_mode": p.stream_mode}
    events = yield OpCall("POST", f"/threads/{p.thread_id}/runs/stream", body, expect="stream")
    return _stream_output(events, p.thread_id)


@_op("runs", "create")
def runs_create(ctx: OperationContext, p: RunsCreateParams) -> Any:
    """Start a background run on a thread and return at once (status 'pending').

    Next: runs.join(thread_id=..., run_id=<run_id>) waits for its final state;
    runs.cancel(thread_id=..., run_id=...) stops it; runs.list shows its status.
    """
    run = yield OpCall("POST", f"/threads/{p.thread_id}/runs", p.payload(ctx))
    return OpOutput(run, {"thread_id": str(p.thread_id), "run_id": scalar_text(run.get("run_id")),
                          "status": scalar_text(run.get("status"))})


@_op("runs", "join")
def runs_join(ctx: OperationContext, p: RunParams) -> Any:
    """Wait for a background run (from runs.create) to finish and return the thread's final state.

    Next: runs.wait for the next turn on the same thread.
    """
    state = yield OpCall("GET", f"/threads/{p.thread_id}/runs/{p.run_id}/join")
    output = _run_output(ctx, state, p.thread_id)
    output.meta["run_id"] = str(p.run_id)
    return output


@_op("runs", "cancel")
def runs_cancel(ctx: OperationContext, p: RunsCancelParams) -> Any:
    """Cancel a pending or running run. Returns {'cancelled': run_id}.

    Next: runs.list(thread_id=...) shows its final status.
    """
    yield OpCall("POST", f"/threads/{p.thread_id}/runs/{p.run_id}/cancel",
                 query={"wait": p.wait, "action": p.action}, expect="empty")
    return OpOutput({"cancelled": str(p.run_id)}, {"thread_id": str(p.thread_id), "run_id": str(p.run_id)})


@_op("runs", "list", result_type="table", readonly=True)
def runs_list(ctx: OperationContext, p: RunsListParams) -> Any:
    """List a thread's runs (run_id, status, created_at), newest first.

    Next: runs.join(thread_id=..., run_id=...) for a run's result, runs.cancel to stop one.
    """
    query = {"limit": p.limit, "offset": p.offset, "status": p.status}
    runs = yield OpCall("GET", f"/threads/{p.thread_id}/runs", query=query, expect="json")
    return _page(runs, p.limit, p.offset)


@_op("runs", "resume")
def runs_resume(ctx: OperationContext, p: RunsResumeParams) -> Any:
    """Resume an interrupted thread: the paused node's interrupt(...) returns ``resume``.

    Next: check meta['interrupted'] again (a graph may pause more than once), then runs.wait
    for the next turn.
    """
    body = {"assistant_id": p.assistant_id or assistant_of(ctx), "command": {"resume": p.resume}}
    state = yield OpCall("POST", f"/threads/{p.thread_id}/runs/wait", body)
    return _run_output(ctx, state, p.thread_id)


# -- stateless runs -----------------------------------------------------------------------

@_op("stateless_runs", "wait")
def stateless_wait(ctx: OperationContext, p: StatelessWaitParams) -> Any:
    """Run the assistant once without a thread (nothing is remembered) and wait for the result.

    Next: for a conversation that continues, use threads.create and runs.wait instead.
    """
    state = yield OpCall("POST", "/runs/wait", p.payload(ctx))
    return _run_output(ctx, state, None)


@_op("stateless_runs", "stream", result_type="events")
def stateless_stream(ctx: OperationContext, p: StatelessStreamParams) -> Any:
    """Run the assistant once without a thread and collect its streamed events.

    Next: read the last 'values' event's data for the final messages.
    """
    body = {**p.payload(ctx), "stream_mode": p.stream_mode}
    events = yield OpCall("POST", "/runs/stream", body, expect="stream")
    return _stream_output(events, None)


# -- server -------------------------------------------------------------------------------

@_op("health", "check", readonly=True)
def health_check(ctx: OperationContext, p: NoParams) -> Any:
    """Is the server up? GET /ok answers {'ok': true}.

    Next: assistants.search() to see what it serves.
    """
    return (yield OpCall("GET", "/ok", expect="json"))


@_op("server", "info", readonly=True)
def server_info(ctx: OperationContext, p: NoParams) -> Any:
    """The server's version and feature flags (GET /info).

    Next: assistants.search() to list the graphs it serves.
    """
    return (yield OpCall("GET", "/info"))
