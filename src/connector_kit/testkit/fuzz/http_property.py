"""The ``http_client`` property: any answer a real server can give ends in data or a ConnectorError.

Against a real loopback :class:`~connector_kit.testkit.faults.server.FaultServer` answering any
status (100..599), junk headers (Retry-After, Content-Type and Content-Encoding lies) and any
body bytes, ``HttpClient.request``/``arequest`` and the connector's own ``send``/``asend``
return a dict (JSON value for ``expect="json"``) or raise a ConnectorError subclass, and an
error status is never returned as data. A :class:`FakeClock` skips every wait.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from ...connectors.agent.base import BaseAgentConnector
from ...connectors.batch import run_blocking
from ...connectors.exceptions import ConnectorError
from ...connectors.http import FakeClock, HttpClient, RetryPolicy
from ..faults.server import FaultServer, ReceivedRequest, Reply
from .http_answers import HttpCase
from .properties import PropertyViolation, defined_at

#: Real seconds an HTTP attempt may take before the client's own timeout ends it (a safety net:
#: the FakeClock skips the waits between attempts, nothing should ever get near this).
HTTP_TIMEOUT = 3.0


def in_mode(mode: str, call: Callable[[], Any], acall: Callable[[], Awaitable[Any]],
            close: Callable[[], None], aclose: Callable[[], Awaitable[None]]) -> Any:
    """``call()`` (sync) or ``await acall()`` (``mode == "async"``), then release what it used."""
    if mode == "async":
        async def run() -> Any:
            try:
                return await acall()
            finally:
                await aclose()

        return run_blocking(run)
    try:
        return call()
    finally:
        close()


def check_http(server: FaultServer, case: Any, connector: Callable[[str], BaseAgentConnector],
               messages: Any, session_id: str) -> None:
    """Serve ``case`` (an :class:`HttpCase` or its JSON) from ``server`` to a bare HttpClient,
    then to a fresh ``connector(url)``'s send path; raise PropertyViolation on a broken promise."""
    if isinstance(case, dict):
        case = HttpCase.from_json(case)
    assert isinstance(case, HttpCase)
    reply = Reply(status=case.status, body=case.body, headers=dict(case.headers),
                  close=case.must_close())

    def answer(request: ReceivedRequest) -> Reply:
        return reply

    server.set_default(answer)
    url = f"{server.url}/fuzz"
    client = HttpClient(timeout=HTTP_TIMEOUT, policy=RetryPolicy(max_retries=1, jitter=0.0),
                        clock=FakeClock())
    payload = {"input": "fuzz"} if case.method == "POST" else None
    try:
        result = in_mode(case.mode,
                         lambda: client.request(case.method, url, json=payload, expect=case.expect),
                         lambda: client.arequest(case.method, url, json=payload, expect=case.expect),
                         client.close, client.aclose)
    except ConnectorError:
        pass
    else:
        _refuse(result, case, "HttpClient", defined_at(HttpClient, "request"), "",
                dict_only=case.expect == "object")
    _check_send(connector(url), case, messages, session_id)


def _check_send(connector: BaseAgentConnector, case: HttpCase, messages: Any, session_id: str) -> None:
    """The connector's own send path, on the same answer."""
    with contextlib.suppress(Exception):  # a connector with its own transport keeps its clock
        connector.http_client.clock = FakeClock()
    cls = type(connector)
    try:
        result = in_mode(case.mode, lambda: connector.send(messages, session_id),
                         lambda: connector.asend(messages, session_id),
                         connector.close, connector.aclose)
    except ConnectorError:
        return
    _refuse(result, case, f"{cls.__name__}.send", defined_at(cls, "send"), "send-", dict_only=True)


def _refuse(result: Any, case: HttpCase, who: str, where: str, kind: str, *, dict_only: bool) -> None:
    """A result that is not a dict (when one is due) or that came from an error status is a
    broken promise: a ConnectorError was due."""
    if dict_only and not isinstance(result, dict):
        raise PropertyViolation(f"{kind}type", f"{who} returned {type(result).__name__}; expected "
                                "a dict or a ConnectorError", where)
    if case.status >= 400:
        raise PropertyViolation(f"{kind}error-as-data", f"{who} returned HTTP {case.status} as "
                                "data instead of raising a ConnectorError", where)
