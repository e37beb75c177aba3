"""The parameters of LangGraph's typed operations, as pydantic models (``extra="forbid"``).

Ids the server checks as UUIDs (thread, run, assistant) are UUIDs here, so a malformed id is an
InvalidParameterError before any request instead of a 400/422 from the server.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import Field, field_validator

from ..operations import OperationContext, OperationParams


def assistant_of(ctx: OperationContext) -> str:
    """The assistant a run goes to: the connector's ``assistant_id``, else the graph ``agent``."""
    value = getattr(ctx.connector, "assistant_id", None)
    return value if isinstance(value, str) and value else "agent"

StreamMode = Literal["values", "updates", "messages", "messages-tuple", "events", "debug", "custom"]


# -- params models --------------------------------------------------------------------------

class _Page(OperationParams):
    limit: int = Field(default=10, ge=1, le=1000, description="How many items to return.")
    offset: int = Field(default=0, ge=0, description="How many items to skip (for paging).")


class AssistantsSearchParams(_Page):
    graph_id: str | None = Field(default=None, min_length=1,
                                 description="Only assistants of this graph (e.g. 'agent').")
    metadata: dict[str, Any] | None = Field(
        default=None, description="Only assistants whose metadata has these pairs.")


class AssistantGetParams(OperationParams):
    assistant_id: UUID = Field(description="The assistant's UUID (from assistants.search).")


class ThreadsCreateParams(OperationParams):
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Metadata to store on the thread, e.g. {'session_id': 's1'}.")
    thread_id: UUID | None = Field(
        default=None, description="Create the thread with this id (default: a new one).")
    if_exists: Literal["raise", "do_nothing"] | None = Field(
        default=None, description="What to do when thread_id already exists.")


class ThreadParams(OperationParams):
    thread_id: UUID = Field(description="The thread's id (from threads.create or threads.search).")


class ThreadsSearchParams(_Page):
    metadata: dict[str, Any] | None = Field(
        default=None,
        description="Only threads whose metadata has these pairs, e.g. {'session_id': 's1'}.")
    status: Literal["idle", "busy", "interrupted", "error"] | None = Field(
        default=None, description="Only threads in this status.")


class ThreadsHistoryParams(ThreadParams):
    limit: int = Field(default=10, ge=1, le=1000, description="How many past states to return, newest first.")


class _RunInput(OperationParams):
    """What a run takes: the assistant, its input (messages or a raw input), its config."""

    assistant_id: str | None = Field(
        default=None, min_length=1,
        description="Graph name (e.g. 'agent') or assistant UUID to run (default: the connector's).")
    messages: list[dict[str, Any]] | str | None = Field(
        default=None, description="The user's message(s): a string, or [{'role': 'user', 'content': ...}].")
    input: dict[str, Any] | None = Field(default=None,
                                         description="The graph's raw input (instead of messages).")
    config: dict[str, Any] | None = Field(default=None,
                                          description="The run's config, e.g. {'configurable': {...}}.")
    metadata: dict[str, Any] | None = Field(default=None, description="Metadata stored on the run.")
    interrupt_before: list[str] | Literal["*"] | None = Field(
        default=None, description="Node names to pause before ('*' for all): the thread ends 'interrupted'.")
    interrupt_after: list[str] | Literal["*"] | None = Field(
        default=None, description="Node names to pause after ('*' for all).")

    @field_validator("messages")
    @classmethod
    def _messages(cls, value: list[dict[str, Any]] | str | None) -> list[dict[str, Any]] | str | None:
        if isinstance(value, list):
            for index, message in enumerate(value):
                if not isinstance(message.get("role", message.get("type")), str):
                    raise ValueError(f"messages[{index}] needs a string 'role'")
        return value

    def payload(self, ctx: OperationContext) -> dict[str, Any]:
        body: dict[str, Any] = {"assistant_id": self.assistant_id or assistant_of(ctx)}
        if self.messages is not None:
            messages = ([{"role": "user", "content": self.messages}] if isinstance(self.messages, str)
                        else self.messages)
            body["input"] = {**(self.input or {}), "messages": messages}
        elif self.input is not None:
            body["input"] = self.input
        for name in ("config", "metadata", "interrupt_before", "interrupt_after"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        return body


class _ThreadRun(_RunInput):
    thread_id: UUID = Field(description="The thread to run on (from threads.create).")
    multitask_strategy: Literal["reject", "interrupt", "rollback", "enqueue"] | None = Field(
        default=None, description="What happens when the thread is busy (server default: enqueue).")

    def payload(self, ctx: OperationContext) -> dict[str, Any]:
        body = super().payload(ctx)
        if self.multitask_strategy is not None:
            body["multitask_strategy"] = self.multitask_strategy
        return body


class RunsWaitParams(_ThreadRun):
    pass


class RunsCreateParams(_ThreadRun):
    pass


def _values_mode() -> list[StreamMode]:
    return ["values"]


class _Streamed(OperationParams):
    stream_mode: list[StreamMode] = Field(default_factory=_values_mode,
                                          description="Which events to stream.")


class RunsStreamParams(_ThreadRun, _Streamed):
    pass


class RunsResumeParams(OperationParams):
    thread_id: UUID = Field(description="The interrupted thread (its status is 'interrupted').")
    resume: Any = Field(description="The value the interrupted node's interrupt(...) call returns.")
    assistant_id: str | None = Field(default=None, min_length=1,
                                     description="Graph name or assistant UUID (default: the connector's).")


class RunParams(OperationParams):
    thread_id: UUID = Field(description="The run's thread.")
    run_id: UUID = Field(description="The run's id (from runs.create or runs.list).")


class RunsCancelParams(RunParams):
    wait: bool = Field(default=False, description="Wait until the run has stopped.")
    action: Literal["interrupt", "rollback"] = Field(
        default="interrupt", description="interrupt keeps the run's state; rollback deletes the run.")


class RunsListParams(_Page):
    thread_id: UUID = Field(description="The thread whose runs to list.")
    status: Literal["pending", "running", "error", "success", "timeout", "interrupted"] | None = Field(
        default=None, description="Only runs in this status.")


class StatelessWaitParams(_RunInput):
    pass


class StatelessStreamParams(_RunInput, _Streamed):
    pass
