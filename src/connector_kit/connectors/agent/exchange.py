"""What an exchange is made of: the HTTP calls it asks for, how one call is made through an
HttpClient's public methods, and the checks on what goes in and comes out of a connector."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..exceptions import ConnectorError, ConnectorRequestError
from ..http import HttpClient, not_resent
from ._streams import StreamCall


@dataclass(frozen=True)
class HttpCall:
    """One HTTP request an exchange asks for; the driver answers with the decoded JSON."""

    method: str
    url: str
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    expect: Literal["object", "json"] = "object"
    #: False for a request that starts paid work (an agent run): not re-sent once it may
    #: have reached the server (see ``HttpClient.post_sync(idempotent=...)``).
    idempotent: bool = True


Exchange = Generator[HttpCall, Any, dict[str, Any]]


def call_sync(client: HttpClient, call: HttpCall) -> Any:
    """One call through the client's public methods (those a supplied client overrides)."""
    with contextlib.nullcontext() if call.idempotent else not_resent():
        if call.expect == "object" and call.method == "POST":
            return client.post_sync(call.url, call.json, dict(call.headers))
        if call.expect == "object" and call.method == "GET" and call.json is None:
            return client.get_sync(call.url, dict(call.headers))
        return client.request(call.method, call.url, json=call.json, headers=call.headers,
                              expect=call.expect)


async def call_async(client: HttpClient, call: HttpCall) -> Any:
    with contextlib.nullcontext() if call.idempotent else not_resent():
        if call.expect == "object" and call.method == "POST":
            return await client.post(call.url, call.json, dict(call.headers))
        if call.expect == "object" and call.method == "GET" and call.json is None:
            return await client.get(call.url, dict(call.headers))
        return await client.arequest(call.method, call.url, json=call.json,
                                     headers=call.headers, expect=call.expect)


def checked_stream_call(value: Any) -> StreamCall:
    if not isinstance(value, StreamCall):
        raise ConnectorError(
            f"_stream_exchange returned {type(value).__name__}, not a StreamCall.")
    return value


def checked_result(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConnectorError(
            f"parse_response returned {type(value).__name__}, not a dict; a connector's "
            "parse_response must return the validated response dict."
        )
    return value


def check_messages(messages: Any) -> list[dict[str, Any]]:
    """Messages must be a list of dicts with a string ``role``; say which one is wrong."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if not isinstance(messages, list):
        raise ConnectorRequestError(
            f"messages must be a list of {{'role': ..., 'content': ...}} dicts, got "
            f"{type(messages).__name__}."
        )
    if not messages:
        raise ConnectorRequestError(
            "messages is an empty list: there is nothing to send. Pass at least one "
            "{'role': 'user', 'content': ...} message.")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise ConnectorRequestError(
                f"messages[{index}] must be a dict with a string 'role' and a 'content', got "
                f"{message!r:.100}."
            )
    return messages


def unpack_request(request: Any) -> tuple[list[dict[str, Any]], str]:
    if not isinstance(request, dict) or "messages" not in request:
        raise ConnectorRequestError(
            "execute() takes a dict with 'messages' (and optionally 'session_id'), got "
            f"{type(request).__name__}."
        )
    session_id = request.get("session_id") or str(uuid.uuid4())
    return request["messages"], str(session_id)
