"""A recorded outcome: what the connector made of one scenario, as kept in its cassette.

The same dataclass is the cassette schema's ``outcome`` (see :mod:`.schemas`), so the fields
a file may hold and the fields the kit compares are declared once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any

from pydantic import Field


@dataclass
class Outcome:
    """What the connector made of the exchange: the fields users consume, or the error."""

    ok: bool
    text: str | None = None
    session_id: str | None = None
    tool_trace: list[dict[str, Any]] | None = None
    error_type: str | None = None
    error_message: str | None = None
    #: An HTTP status (100-599): the cassette schema refuses any other number.
    status_code: Annotated[int | None, Field(ge=100, le=599)] = None
    #: The event names of the scenario's streamed calls, in order (compared frame by frame).
    events: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None or k == "ok"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]

    def compared_fields(self) -> dict[str, Any]:
        """The fields replay and diff compare (the message is reported, not compared)."""
        return {"ok": self.ok, "text": self.text, "session_id": self.session_id,
                "tool_trace": self.tool_trace, "error_type": self.error_type,
                "status_code": self.status_code, "events": self.events}
