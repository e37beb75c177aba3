"""The successful exchange faults are injected into: each HTTP step of a send and its answer.

Taken from a cassette whose recording succeeded (the real response bodies, so
``parse_response`` and the extractors meet what the framework really sends), or, for the
built-in connectors without cassettes, from :mod:`.samples`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ...connectors.base import BaseConnector
from ..recording.cassettes import Cassette
from ..recording.episode import REPLAY_KEY
from ..recording.scrub import PLACEHOLDER
from .samples import LANGFLOW_SAMPLE, LANGGRAPH_RUN_SAMPLE, LANGGRAPH_THREAD_SAMPLE
from .server import Reply


@dataclass(frozen=True)
class Step:
    """One HTTP step of a successful send: the request it answers and the recorded answer."""

    method: str
    path: str | None  # path + query as recorded; None: matched by position
    status: int
    body: bytes
    content_type: str = "application/json"

    def reply(self, **faults: Any) -> Reply:
        return Reply(status=self.status, body=self.body,
                     headers={"Content-Type": self.content_type}, **faults)


@dataclass
class SuccessExchange:
    """A send that succeeded: how the connector was built and what each HTTP step answered."""

    url: str
    config: dict[str, Any]
    options: dict[str, Any]
    messages: list[dict[str, Any]]
    session_id: str
    steps: list[Step]
    source: str
    #: The send is a stream: ``stream()`` reads the last step's answer event by event.
    stream: bool = False


def exchange_from_cassette(cassette: Cassette, kit_options: dict[str, Any] | None = None
                           ) -> SuccessExchange | None:
    """The cassette's exchange, when its recording succeeded end to end (else None)."""
    if cassette.scenario.get("steps"):
        return None  # not one plain send: several calls
    return _recorded(cassette, kit_options, list(cassette.scenario.get("messages") or []), False)


def stream_exchange_from_cassette(cassette: Cassette, kit_options: dict[str, Any] | None = None
                                  ) -> SuccessExchange | None:
    """The cassette's exchange when it recorded one successful ``stream`` step (else None)."""
    steps = cassette.scenario.get("steps") or []
    if len(steps) != 1 or not isinstance(steps[0], dict) or steps[0].get("action") != "stream":
        return None
    messages = steps[0].get("messages") or cassette.scenario.get("messages") or []
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    return _recorded(cassette, kit_options, list(messages), True)


def _recorded(cassette: Cassette, kit_options: dict[str, Any] | None,
              messages: list[dict[str, Any]], stream: bool) -> SuccessExchange | None:
    if cassette.outcome is None or not cassette.outcome.ok or not cassette.interactions:
        return None
    if cassette.metadata.get("lost"):
        return None  # an answer lost and joined: not one plain exchange
    if any(i.response.status >= 400 for i in cassette.interactions):
        return None
    section = cassette.scenario
    config = dict(section.get("config") or {})
    if config.get("api_key") == PLACEHOLDER:
        config["api_key"] = REPLAY_KEY
    steps = []
    for interaction in cassette.interactions:
        content_type = next((v[0] for k, v in interaction.response.headers.items()
                             if k.lower() == "content-type" and v), "application/json")
        steps.append(Step(interaction.request.method, interaction.request.path,
                          interaction.response.status, interaction.response.body.encode("utf-8"),
                          content_type))
    name = section.get("name") or (cassette.path.stem if cassette.path else "?")
    return SuccessExchange(
        url=str(section.get("url") or ""),
        config=config,
        options={**(section.get("options") or {}), **(kit_options or {})},
        messages=messages,
        session_id=str(section.get("session_id") or "ck-faults"),
        steps=steps,
        source=f"cassette '{name}'",
        stream=stream,
    )


def can_stream(cls: type[BaseConnector]) -> bool:
    """Whether ``cls`` is an agent connector that implements ``stream()`` (the base refuses it)."""
    from ...connectors.agent.base import BaseAgentConnector

    return issubclass(cls, BaseAgentConnector) and (
        cls._stream_exchange is not BaseAgentConnector._stream_exchange)


def builtin_exchange(cls: type[BaseConnector]) -> SuccessExchange | None:
    """A trimmed real exchange for the built-in frameworks, when there are no cassettes."""
    from ...connectors.agent.langflow import LangflowConnector
    from ...connectors.agent.langgraph import LangGraphConnector

    messages = [{"role": "user", "content": "what is 2+3?"}]
    if issubclass(cls, LangflowConnector):
        path = "/api/v1/run/4a1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d?stream=false"
        return SuccessExchange(f"http://localhost{path}", {"api_key": REPLAY_KEY}, {}, messages,
                               "ck-faults", [Step("POST", path, 200, dumps(LANGFLOW_SAMPLE))],
                               "built-in Langflow sample (no cassettes)")
    if issubclass(cls, LangGraphConnector):
        thread_id = LANGGRAPH_THREAD_SAMPLE["thread_id"]
        return SuccessExchange(
            "http://localhost", {"api_key": REPLAY_KEY}, {}, messages, "ck-faults",
            [Step("POST", "/threads", 200, dumps(LANGGRAPH_THREAD_SAMPLE)),
             Step("POST", f"/threads/{thread_id}/runs/wait", 200, dumps(LANGGRAPH_RUN_SAMPLE))],
            "built-in LangGraph sample (no cassettes)")
    return None



def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")
