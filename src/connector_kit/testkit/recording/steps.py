"""Scenarios of more than one call: streams, sessions, interrupt then resume.

A scenario's ``steps`` (or ``action: stream`` for a single streamed call) describe what the
connector is asked, in order, all under the scenario's session id::

    steps:
      - {action: send, messages: "this needs approval", expect: AgentInterruptedError}
      - {action: resume, value: "yes"}       # resumes the thread the interrupt named

    steps:
      - {action: stream, messages: "what is 2+3?"}

A step whose ``expect`` names an error class must end in it (else the scenario fails with
that step's outcome); the scenario's outcome is its last step's. Each streamed step leaves the
names of its events, in order, in :attr:`StepLog.events`, so replay and diff compare a stream
frame by frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...connectors.agent.base import BaseAgentConnector
from ...connectors.exceptions import AgentInterruptedError, ConnectorError, ConnectorKitError

ACTIONS = ("send", "stream", "resume")


class StepsError(ConnectorKitError):
    """A scenario's steps are malformed (unknown action, a resume with nothing to resume)."""


@dataclass
class StepLog:
    """What the steps did: the events of streamed steps, the interrupted thread (if any)."""

    events: list[str] = field(default_factory=list)
    thread_id: str | None = None
    first_event_after: list[float] = field(default_factory=list)


def check_steps(raw: Any, where: str) -> list[dict[str, Any]]:
    """Validate ``steps`` from a catalogue; raise StepsError saying what is wrong."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(step, dict) for step in raw):
        raise StepsError(f"{where}: 'steps' must be a list of mappings")
    for index, step in enumerate(raw):
        action = step.get("action", "send")
        if action not in ACTIONS:
            raise StepsError(f"{where}: step {index + 1} has action {action!r}; use one of "
                             f"{', '.join(ACTIONS)}")
        unknown = set(step) - {"action", "messages", "value", "expect"}
        if unknown:
            raise StepsError(f"{where}: step {index + 1} has unknown keys {sorted(unknown)}")
        if action == "resume" and "value" not in step:
            raise StepsError(f"{where}: step {index + 1} (resume) needs a 'value'")
    return [dict(step) for step in raw]


def run_steps(connector: BaseAgentConnector, steps: list[dict[str, Any]], session_id: str,
              log: StepLog) -> dict[str, Any]:
    """Run the steps in order; return the last step's response (or raise its error)."""
    response: dict[str, Any] = {}
    for index, step in enumerate(steps):
        expect = str(step.get("expect", "ok"))
        try:
            response = _run_step(connector, step, session_id, log)
        except ConnectorError as exc:
            if isinstance(exc, AgentInterruptedError):
                log.thread_id = exc.thread_id
            if index == len(steps) - 1 or type(exc).__name__ != expect:
                raise
            continue
        if expect != "ok" and index < len(steps) - 1:
            raise StepsError(f"step {index + 1} was expected to end in {expect}, but succeeded")
    return response


def _run_step(connector: BaseAgentConnector, step: dict[str, Any], session_id: str,
              log: StepLog) -> dict[str, Any]:
    from .scenarios import as_messages

    action = step.get("action", "send")
    if action == "resume":
        resume = getattr(connector, "resume", None)
        if log.thread_id is None or not callable(resume):
            raise StepsError("a 'resume' step needs an earlier step that was interrupted, and a "
                             "connector with resume()")
        result: dict[str, Any] = resume(log.thread_id, step["value"])
        return result
    messages = as_messages(step.get("messages", "hello"))
    if action == "stream":
        stream = connector.stream(messages, session_id)
        with stream:
            for event in stream:
                log.events.append(event.event)
        if stream.first_event_after is not None:
            log.first_event_after.append(stream.first_event_after)
        assert stream.response is not None
        return stream.response
    sent = connector.send(messages, session_id)
    assert isinstance(sent, dict)
    return sent
