"""Streamed answers (LangGraph SSE, Langflow NDJSON) collected into a list of events.

A streamed run is sent once and never retried: a retried stream POST would start a second,
duplicate run. The body is read through the connector's HttpClient (its pooled clients, its
deadline, its error mapping and secret redaction); only the decoding differs from a JSON call.

# TODO(i14): when the agent connectors' stream()/astream() land, the run stream operations
# delegate to them and this module keeps only the event parsing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .exceptions import ConnectorResponseError

if TYPE_CHECKING:
    from .http import HttpClient

#: At most this many events are kept from one stream (a runaway stream cannot exhaust memory).
MAX_EVENTS = 10_000


def stream_sync(client: HttpClient, method: str, url: str, payload: Any,
                headers: dict[str, str]) -> list[dict[str, Any]]:
    status, response_headers, body = client.send_once(method, url, json=payload, headers=headers)
    return _events(client, url, status, response_headers, body)


async def stream_async(client: HttpClient, method: str, url: str, payload: Any,
                       headers: dict[str, str]) -> list[dict[str, Any]]:
    status, response_headers, body = await client.asend_once(method, url, json=payload,
                                                             headers=headers)
    return _events(client, url, status, response_headers, body)


def _events(client: HttpClient, url: str, status: int, headers: Any, body: bytes) -> list[dict[str, Any]]:
    if status >= 300:
        verdict = client._judge(url, status, headers, body, "json")
        if verdict.error is not None:
            raise verdict.error
    text = body.decode("utf-8", errors="replace")
    events = parse_sse(text) if "\ndata:" in "\n" + text.replace("\r\n", "\n") else parse_ndjson(text)
    if not events and text.strip():
        raise ConnectorResponseError(
            f"The stream from '{client.safe_url(url)}' (HTTP {status}) held no events; it starts "
            f"with {text[:80]!r}. Check that the URL is the framework's stream endpoint.",
            url=client.safe_url(url), status_code=status)
    return events


def parse_sse(text: str) -> list[dict[str, Any]]:
    """Server-Sent Events: blocks separated by a blank line, ``event:`` and ``data:`` lines."""
    events: list[dict[str, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data and len(events) < MAX_EVENTS:
            events.append({"event": name, "data": _json_or_text("\n".join(data))})
    return events


def parse_ndjson(text: str) -> list[dict[str, Any]]:
    """One JSON object per line, ``{"event": ..., "data": ...}`` (Langflow's stream)."""
    events: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip() or len(events) >= MAX_EVENTS:
            continue
        value = _json_or_text(line)
        if isinstance(value, dict) and "event" in value:
            events.append({"event": str(value["event"]), "data": value.get("data")})
        else:
            events.append({"event": "message", "data": value})
    return events


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text
