"""Langflow's HTTP API as typed operations: flows (run, stream, list, get), health, version.

Verified against a real Langflow 1.13 server. The connector's ``config.url`` is a flow's run
URL (``.../api/v1/run/<flow>``): operations address the server root, and ``flow`` defaults
to the flow named in that URL.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field

from ..operations import NoParams, OpCall, OperationCatalogue, OperationContext, OperationParams, OpOutput
from ._json import dicts_only, scalar_text

_RUN_PATH = "/api/v1/run/"


def _server_root(connector: Any) -> str:
    parts = urlsplit(connector._require_url())
    prefix = parts.path.split(_RUN_PATH, 1)[0] if _RUN_PATH in parts.path else ""
    root: str = urlunsplit((parts.scheme, parts.netloc, prefix.rstrip("/"), "", ""))
    return root


LANGFLOW_OPERATIONS = OperationCatalogue("langflow", base_url=_server_root, check=("health", "check"),
                                         version=("/api/v1/version", "version"))
_op = LANGFLOW_OPERATIONS.operation


class FlowRunParams(OperationParams):
    input_value: str = Field(description="The user's message: only the new turn when a session is reused.")
    flow: str | None = Field(
        default=None, min_length=1,
        description="Flow id or endpoint name (default: the flow in the connector's URL).")
    session_id: str | None = Field(
        default=None, min_length=1,
        description="Keeps the conversation's history on the server; reuse it for the next turn.")
    tweaks: dict[str, dict[str, Any]] | None = Field(
        default=None, description="Per-call component overrides: {'<component id>': {'<field>': value}}.")
    input_type: Literal["chat", "text", "any"] = Field(default="chat", description="How the input is read.")
    output_type: Literal["chat", "text", "any", "debug"] = Field(default="chat",
                                                                description="Which outputs are returned.")


class FlowsListParams(OperationParams):
    page: int = Field(default=1, ge=1, description="Page number (from 1).")
    size: int = Field(default=50, ge=1, le=500, description="Flows per page.")
    remove_example_flows: bool = Field(default=True, description="Leave out Langflow's starter examples.")


class FlowGetParams(OperationParams):
    flow_id: str = Field(min_length=1, description="The flow's id (from flows.list).")


def _flow(ctx: OperationContext, flow: str | None) -> str:
    if flow:
        return quote(flow, safe="")
    path = urlsplit(ctx.connector._require_url()).path  # type: ignore[attr-defined]
    return path.split(_RUN_PATH, 1)[1].strip("/") if _RUN_PATH in path else ""


def _run_body(p: FlowRunParams) -> dict[str, Any]:
    return p.model_dump(include={"input_value", "session_id", "tweaks", "input_type", "output_type"},
                        exclude_none=True)


@_op("flows", "run")
def flows_run(ctx: OperationContext, p: FlowRunParams) -> Any:
    """Run a flow once with a message and return its full response (outputs, session_id).

    meta['text'] is the chat output's text, meta['session_id'] the session to reuse.
    Next: flows.run(input_value=<next message>, session_id=meta['session_id']) continues the
    conversation (the server keeps the history: send only the new message); tweaks override a
    component's fields for one call.
    """
    from .langflow import LangflowConnector

    response = yield OpCall("POST", f"/api/v1/run/{_flow(ctx, p.flow)}", _run_body(p),
                            query={"stream": False})
    return OpOutput(response, {"text": LangflowConnector.extract_text(response),
                               "session_id": LangflowConnector.extract_session_id(response)})


@_op("flows", "stream", result_type="events")
def flows_stream(ctx: OperationContext, p: FlowRunParams) -> Any:
    """Run a flow and collect its streamed events (add_message, token, end).

    The 'end' event carries the full result; meta['text'] is its chat output text. Never
    re-sent once it may have started (only a refused connection, 429 or 503 is retried).
    Next: flows.run with the same session_id for the next turn.
    """
    from .langflow import LangflowConnector

    events = yield OpCall("POST", f"/api/v1/run/{_flow(ctx, p.flow)}", _run_body(p),
                          query={"stream": True}, expect="stream", frames="ndjson")
    meta: dict[str, Any] = {"events": len(events), "tokens": sum(e["event"] == "token" for e in events)}
    for event in events:
        if event["event"] == "end" and isinstance(event["data"], dict):
            result = event["data"].get("result")
            if isinstance(result, dict):
                meta["text"] = LangflowConnector.extract_text(result)
                meta["session_id"] = LangflowConnector.extract_session_id(result)
    return OpOutput(events, meta)


@_op("flows", "list", result_type="table", readonly=True)
def flows_list(ctx: OperationContext, p: FlowsListParams) -> Any:
    """List the server's flows (id, name, endpoint_name, description), one page at a time.

    Next: flows.run(flow=<id or endpoint_name>, input_value=...) runs one; flows.get(flow_id=...)
    shows its nodes (the component ids that tweaks address).
    """
    query = {"get_all": False, "header_flows": True, "page": p.page, "size": p.size,
             "remove_example_flows": p.remove_example_flows}
    page = yield OpCall("GET", "/api/v1/flows/", query=query, expect="json")
    items = page.get("items") if isinstance(page, dict) else page
    rows = [{k: row.get(k) for k in ("id", "name", "endpoint_name", "description", "folder_id")
             if k in row} for row in dicts_only(items)]
    meta: dict[str, Any] = {"pagination": {"page": p.page, "size": p.size, "returned": len(rows)}}
    if isinstance(page, dict):
        meta["pagination"].update({k: page.get(k) for k in ("total", "pages") if k in page})
    return OpOutput(rows, meta)


@_op("flows", "get", readonly=True)
def flows_get(ctx: OperationContext, p: FlowGetParams) -> Any:
    """Get one flow: its name, endpoint name and graph (data.nodes hold the component ids).

    Next: use a node id as a tweaks key in flows.run(tweaks={'<node id>': {...}}).
    """
    flow = yield OpCall("GET", f"/api/v1/flows/{quote(p.flow_id, safe='')}")
    nodes = flow.get("data", {}).get("nodes") if isinstance(flow.get("data"), dict) else None
    return OpOutput(flow, {"flow_id": scalar_text(flow.get("id")),
                           "node_ids": [scalar_text(n.get("id")) for n in dicts_only(nodes)]})


@_op("health", "check", readonly=True)
def health_check(ctx: OperationContext, p: NoParams) -> Any:
    """Is the server up? GET /health answers {'status': 'ok'}.

    Next: flows.list() to see the flows it serves.
    """
    return (yield OpCall("GET", "/health", expect="json"))


@_op("server", "version", readonly=True)
def server_version(ctx: OperationContext, p: NoParams) -> Any:
    """The server's Langflow version (GET /api/v1/version).

    Next: flows.list() to see the flows it serves.
    """
    return (yield OpCall("GET", "/api/v1/version"))
