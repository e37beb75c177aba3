"""The ``stream`` property: broken and mutated recorded streams through ``stream()``/``astream()``.

Each :class:`StreamCase` is a recorded stream answer (a cassette's ``stream`` scenario, its
frames as the server sent them) broken on purpose -- a cut line, a connection cut mid-event,
bad JSON, an unknown event, a missing end, an ``error`` event, an oversized line, a stall
between events, an empty body (:func:`stream_sweep`) -- or changed at random, byte by byte and
frame by frame (:func:`stream_cases`). A :class:`~connector_kit.testkit.faults.harness.FaultHarness`
serves it from a real FaultServer (the set-up steps with their recorded answers) and the
connector reads it to the end. The property: the stream ends in a ConnectorError subclass or
yields valid events and folds into a dict -- never another exception, never a success on a
stream broken on purpose, never a second run, never past the deadline (a stream still running
then is stopped and reported as hung).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ...connectors import StreamEvent
from ...connectors.exceptions import ConnectorError
from ...connectors.http.streaming import MAX_LINE
from ..faults.exchange import SuccessExchange, stream_exchange_from_cassette
from ..faults.harness import FaultHarness
from ..faults.server import Reply
from ..faults.streams import cut_mid_event, frames, is_sse, stall_between_events, stream_reply
from ..recording.cassettes import Cassette
from .properties import PropertyViolation, defined_at
from .values import json_values

#: Per-attempt timeout and call deadline the connector gets: a gap past the timeout must end it.
STREAM_CONFIG: dict[str, Any] = {"timeout": 0.5, "deadline": 1.5, "max_retries": 1}
DEADLINE_S = float(STREAM_CONFIG["deadline"])
#: Real seconds past the deadline before a stream counts as hung.
SLACK_S = 1.0

Fault = Literal["none", "cut", "stall"]


@dataclass
class StreamCase:
    """One stream answer: which recording it came from, its bytes, how it is delivered."""

    base: int  # index of the recorded stream it was made from
    body: bytes
    label: str  # what was done to it
    broken: bool  # broken on purpose: a ConnectorError is due
    fault: Fault = "none"  # delivered whole, cut mid-event, or stalled between events
    mode: Literal["sync", "async"] = "sync"

    def reply(self, content_type: str) -> Reply:
        if self.fault == "cut":
            return cut_mid_event(self.body, content_type)
        if self.fault == "stall":
            return stall_between_events(self.body, content_type)
        return stream_reply(self.body, content_type)

    def to_json(self) -> dict[str, Any]:
        return {"base": self.base, "body_base64": base64.b64encode(self.body).decode("ascii"),
                "label": self.label, "broken": self.broken, "fault": self.fault, "mode": self.mode}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StreamCase:
        return cls(int(data.get("base", 0)), base64.b64decode(str(data.get("body_base64", ""))),
                   str(data.get("label", "corpus")), bool(data.get("broken")),
                   data.get("fault", "none"), data.get("mode", "sync"))


def stream_exchanges(cassettes: Sequence[Cassette]) -> list[SuccessExchange]:
    """Every recorded successful ``stream`` scenario, as an exchange whose last step is the stream."""
    found = [stream_exchange_from_cassette(c) for c in cassettes]
    return [e for e in found if e is not None]


def _frame(sse: bool, event: str, data: bytes) -> bytes:
    if sse:
        return b"event: " + event.encode() + b"\r\ndata: " + data + b"\r\n\r\n"
    return b'{"event": "' + event.encode() + b'", "data": ' + data + b"}\n\n"


def _broken(body: bytes) -> list[tuple[str, bytes, Fault]]:
    """The streams broken on purpose made from one recorded body."""
    parts, sse = frames(body), is_sse(body)
    first = parts[0]
    head = body.rstrip(b"\r\n")
    last_line = head.rsplit(b"\n", 1)[-1]
    return [
        ("cut line", head[: len(head) - max(1, len(last_line) // 2)], "none"),
        ("cut mid-event", body, "cut"),
        ("bad JSON", _frame(sse, "values", b"{oops") if sse else b'{"event": "token", "data": {oops}\n\n',
         "none"),
        ("unknown event", first + _frame(sse, "ck_fuzz_unknown", b"{}") + b"".join(parts[1:]), "none"),
        ("missing end", first, "none"),
        ("error event", first + _frame(sse, "error", b'{"error": "ValueError", "message": "boom"}'),
         "none"),
        ("stall between events", body, "stall"),
        ("empty", b"", "none"),
    ]


#: Broken on the wire, yet not always an error: LangGraph's SSE has no end marker, so a stream
#: cut at a frame boundary reads like a shorter run (in ``messages-tuple`` mode, a run with no
#: model output). Such a case must only end in a ConnectorError or valid events.
_AMBIGUOUS = frozenset({"missing end"})


def stream_sweep(bases: Sequence[bytes], limit: int) -> list[StreamCase]:
    """The first recorded stream intact and broken every way (an oversized line too: past the
    connector's line bound), then the other recordings broken the same ways and intact, sync
    and async in turn (so a small budget tries every kind once). At most ``limit`` cases."""
    cases: list[StreamCase] = []
    for index, body in enumerate(bases):
        cases.append(StreamCase(index, body, "recorded", False))
        cases += [StreamCase(index, broken, label, label not in _AMBIGUOUS, fault)
                  for label, broken, fault in _broken(body)]
        if index == 0:
            oversized = frames(body)[0] + b"data: " + b"x" * (MAX_LINE + 1) + b"\r\n\r\n"
            cases.append(StreamCase(0, oversized, "oversized line", True))
    for position, case in enumerate(cases):
        case.mode = "async" if position % 2 else "sync"
    return cases[:limit]


_NOISE = (b"\n", b"\r\n", b"\r", b"\x00", b"\xff\xfe", b"data: ", b"event: ", b":", b"{", b"}", b'"',
          b"id: 7\r\n", b"retry: 1\r\n", b"\xe2\x80")
_OPS = ("json", "flip", "delete", "insert", "json", "drop", "duplicate", "swap", "truncate", "json")


def stream_cases(bases: Sequence[bytes]) -> SearchStrategy[StreamCase]:
    """Recorded streams changed at 1-3 places: a byte flipped, bytes deleted or inserted (line
    breaks, NUL, invalid UTF-8, field names), a frame dropped, repeated or swapped, the body cut
    anywhere, an event's data replaced by arbitrary JSON."""
    if not bases:
        raise ValueError("stream_cases needs at least one recorded stream")

    @st.composite
    def case(draw: Callable[[SearchStrategy[Any]], Any]) -> StreamCase:
        index = draw(st.integers(0, len(bases) - 1))
        parts, sse = frames(bases[index]), is_sse(bases[index])
        done = []
        for _ in range(draw(st.integers(1, 3))):
            op = draw(st.sampled_from(_OPS))
            done.append(op)
            at = draw(st.integers(0, max(0, len(parts) - 1)))
            frame = parts[at] if parts else b""
            spot = draw(st.integers(0, max(0, len(frame) - 1)))
            if op == "flip" and frame:
                parts[at] = frame[:spot] + bytes([frame[spot] ^ draw(st.integers(1, 255))]) + frame[spot + 1:]
            elif op == "delete" and frame:
                parts[at] = frame[:spot] + frame[spot + draw(st.integers(1, 8)):]
            elif op == "insert":
                parts[at:at + 1] = [frame[:spot] + draw(st.sampled_from(_NOISE)) + frame[spot:]]
            elif op == "drop" and len(parts) > 1:
                del parts[at]
            elif op == "duplicate" and parts:
                parts.insert(at, frame)
            elif op == "swap" and len(parts) > 1:
                other = draw(st.integers(0, len(parts) - 1))
                parts[at], parts[other] = parts[other], parts[at]
            elif op == "truncate":
                body = b"".join(parts)
                parts = [body[: draw(st.integers(0, len(body)))]]
            elif op == "json":
                data = json.dumps(draw(json_values(6))).encode("utf-8", "surrogatepass")
                name = frame.split(b"\n", 1)[0].removeprefix(b"event: ").strip().decode(
                    "utf-8", "replace") if sse else "token"
                parts[at:at + 1] = [_frame(sse, name or "values", data)]
        return StreamCase(index, b"".join(parts), "mutated: " + ", ".join(done), False,
                          mode=draw(st.sampled_from(["sync", "async"])))

    result: SearchStrategy[StreamCase] = case()
    return result


def check_stream(harness: FaultHarness, case: Any) -> None:
    """Serve ``case`` as the harness's streamed answer; raise on a broken promise (the
    connector's own exception, re-raised, when it is not a ConnectorError)."""
    if isinstance(case, dict):
        case = StreamCase.from_json(case)
    assert isinstance(case, StreamCase)
    cls = harness.cls
    step = harness.exchange.steps[harness.step]
    reply = case.reply(step.content_type)
    seen = harness.observe(lambda clock: [reply, reply], config=STREAM_CONFIG, mode=case.mode,
                           limit=DEADLINE_S + SLACK_S)
    where = defined_at(cls, "stream")
    if seen.hung:
        raise PropertyViolation("hang", f"{cls.__name__}.stream() on a stream with {case.label} was "
                                f"still running {seen.elapsed:.1f} s in (deadline {DEADLINE_S:g} s)", where)
    if seen.error is not None and not isinstance(seen.error, ConnectorError):
        raise seen.error
    if seen.attempts > 1:
        raise PropertyViolation("resent", f"{cls.__name__}.stream() sent the stream {seen.attempts} "
                                f"times after {case.label}: a second run of the same work", where)
    if seen.elapsed > DEADLINE_S + SLACK_S:
        raise PropertyViolation("past-deadline", f"{cls.__name__}.stream() took {seen.elapsed:.1f} s "
                                f"on {case.label}, past the {DEADLINE_S:g} s deadline", where)
    if seen.error is not None:
        return
    if case.broken:
        raise PropertyViolation("broken-as-success", f"{cls.__name__}.stream() ended as a success "
                                f"({len(seen.events)} events) on a stream with {case.label}: a "
                                "ConnectorError was due", where)
    odd = [e for e in seen.events if not isinstance(e, StreamEvent) or not isinstance(e.event, str)]
    if odd or not isinstance(seen.result, dict):
        raise PropertyViolation("stream-type", f"{cls.__name__}.stream() yielded {odd[:1]!r:.80} or "
                                f"folded into {type(seen.result).__name__}; expected StreamEvents "
                                "and a dict", where)
