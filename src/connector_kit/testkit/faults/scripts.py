"""The faults: what the server sends instead of a step's answer, and the documented outcome.

Each :class:`Fault` scripts the replies of the faulted step (one per attempt) and says what
must follow (:class:`FaultOutcome`): success with the same answer, or a specific
ConnectorError subclass, with the attempts the server saw and the waits the client slept.
The last HTTP step of a send is its run: a fault that may follow a processed run (502, 504, a
reset, a cut body) must not make the connector send the run again; only faults that prove the
run never started (503, 429) are retried. Set-up steps start no work and are retried
(:attr:`Fault.setup_expected`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from ...connectors.exceptions import (
    ConnectorConnectionError,
    ConnectorError,
    ConnectorHTTPError,
    ConnectorRateLimitError,
    ConnectorResponseError,
    ConnectorStreamError,
    ConnectorTimeoutError,
)
from .exchange import Step, dumps
from .harness import MAX_RETRIES, SkippingClock
from .server import Reply
from .streams import cut_mid_event, stall_between_events

HUGE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class FaultOutcome:
    """The documented outcome of a fault."""

    error: type[ConnectorError] | None = None  # None: the send succeeds
    status_code: int | None = None  # the error's status_code
    attempts: int | None = None  # exact attempts at the faulted step
    sleeps: int | None = None  # how many waits
    sleep_exact: float | None = None  # each wait equals this (Retry-After in seconds)
    sleep_between: tuple[float, float] | None = None  # each wait in [lo, hi]
    message: str | None = None  # a phrase the error message must hold (case-insensitive)
    within_deadline: bool = False  # the call returns by deadline + tolerance (clock time)


@dataclass(frozen=True)
class Fault:
    """One fault: the replies for the faulted step (one per attempt) and the expected outcome."""

    name: str
    description: str
    replies: Callable[[Step, SkippingClock], list[Reply]]
    expected: FaultOutcome
    config: dict[str, Any] = field(default_factory=dict)
    mode: str = "sync"
    #: The outcome when the fault hits a set-up step (not the run, the last step of a send):
    #: a set-up call starts no paid work, so retrying it is right. None: same as ``expected``.
    setup_expected: FaultOutcome | None = None


def _repeat(reply: Callable[[Step], Reply], times: int) -> Callable[[Step, SkippingClock], list[Reply]]:
    return lambda step, clock: [reply(step) for _ in range(times)]


def _http_date_reply(step: Step, clock: SkippingClock) -> list[Reply]:
    when = formatdate(clock.time() + RETRY_AFTER_DATE_S, usegmt=True)
    return [Reply(429, b'{"detail": "Too Many Requests"}', {"Retry-After": when})]


def _huge(step: Step) -> Reply:
    try:
        value = json.loads(step.body)
    except ValueError:
        value = None
    if isinstance(value, dict):
        padded = {**value, "ck_fault_padding": "x" * HUGE_BYTES}
        return Reply(status=step.status, body=dumps(padded), headers={"Content-Type": step.content_type})
    # Not an object: the same value followed by insignificant whitespace (still valid JSON).
    return step.reply() if not step.body else Reply(
        status=step.status, body=step.body + b" " * HUGE_BYTES, headers={"Content-Type": step.content_type})


def _trickled(pieces: int, gap: float) -> Callable[[Step], Reply]:
    def make(step: Step) -> Reply:
        size = max(1, -(-len(step.body) // pieces))
        return step.reply(trickle=gap, trickle_bytes=size)

    return make


def _status(code: int) -> Callable[[Step], Reply]:
    return lambda step: Reply(code, dumps({"detail": f"injected HTTP {code}"}))


RETRY_AFTER_S = 2.0
RETRY_AFTER_DATE_S = 5
QUOTA_RETRY_AFTER_S = 7200
#: Hang and trickle budgets: small, so the real waits stay a fraction of a second.
HANG = {"timeout": 0.15, "deadline": 0.35, "backoff_initial": 0.1, "jitter": 0.0}
TRICKLE_OK = {"timeout": 1.0, "deadline": 3.0}
TRICKLE_LATE = {"timeout": 0.5, "deadline": 0.3}
ATTEMPTS_ALL = MAX_RETRIES + 1

FAULTS: list[Fault] = [
    Fault("delay", "a 0.15 s pause before the answer, well inside the timeout: success, 1 attempt",
          _repeat(lambda s: s.reply(delay=0.15), 1), FaultOutcome(attempts=1, sleeps=0),
          {"timeout": 2.0}),
    Fault("hang", "the server never answers: ConnectorTimeoutError within the call's deadline",
          _repeat(lambda s: Reply(hang=True), ATTEMPTS_ALL),
          FaultOutcome(ConnectorTimeoutError, within_deadline=True), HANG),
    Fault("hang_async", "the same hang through asend(): ConnectorTimeoutError within the deadline",
          _repeat(lambda s: Reply(hang=True), ATTEMPTS_ALL),
          FaultOutcome(ConnectorTimeoutError, within_deadline=True), HANG, mode="async"),
    Fault("http_500", "HTTP 500 is a bug, not a blip: ConnectorHTTPError at once, 1 attempt",
          _repeat(_status(500), 1), FaultOutcome(ConnectorHTTPError, status_code=500, attempts=1, sleeps=0)),
    Fault("http_503", "two HTTP 503 (not processed) then the answer: retried with backoff, "
          "3 attempts", _repeat(_status(503), 2),
          FaultOutcome(attempts=3, sleeps=2, sleep_between=(1e-9, 60.0))),
    # A gateway error, a reset or a cut body may follow a run the server did: the run is
    # not re-sent (that would pay for it twice, or queue a duplicate behind it).
    *[Fault(f"http_{code}", f"HTTP {code} after the run reached a gateway: ConnectorHTTPError, "
            "not re-sent (1 attempt); a set-up call is retried", _repeat(_status(code), 2),
            FaultOutcome(ConnectorHTTPError, status_code=code, attempts=1, sleeps=0),
            setup_expected=FaultOutcome(attempts=3, sleeps=2))
      for code in (502, 504)],
    Fault("rate_limit_seconds",
          f"429 with Retry-After: {RETRY_AFTER_S:g} (burst): waits exactly that, then the answer",
          _repeat(lambda s: Reply(429, b'{"detail": "Too Many Requests"}',
                                  {"Retry-After": f"{RETRY_AFTER_S:g}"}), 1),
          FaultOutcome(attempts=2, sleeps=1, sleep_exact=RETRY_AFTER_S)),
    Fault("rate_limit_http_date",
          f"429 with Retry-After as an HTTP date {RETRY_AFTER_DATE_S} s ahead: waits that, then the answer",
          _http_date_reply,
          FaultOutcome(attempts=2, sleeps=1,
                       sleep_between=(RETRY_AFTER_DATE_S - 1.01, RETRY_AFTER_DATE_S + 0.01))),
    Fault("rate_limit_quota",
          f"429 with Retry-After: {QUOTA_RETRY_AFTER_S} (quota): ConnectorRateLimitError at once, "
          "saying the quota is exhausted",
          _repeat(lambda s: Reply(429, b'{"detail": "quota"}',
                                  {"Retry-After": str(QUOTA_RETRY_AFTER_S)}), 1),
          FaultOutcome(ConnectorRateLimitError, status_code=429, attempts=1, sleeps=0,
                 message="quota exhausted")),
    Fault("reset_before_body", "TCP reset after the run was sent, before any byte of the answer: "
          "ConnectorConnectionError, not re-sent (1 attempt)",
          _repeat(lambda s: Reply(reset_before=True), 2),
          FaultOutcome(ConnectorConnectionError, attempts=1, sleeps=0),
          setup_expected=FaultOutcome(attempts=3, sleeps=2)),
    Fault("reset_mid_body", "TCP reset halfway through the body: ConnectorConnectionError, not "
          "re-sent (1 attempt)",
          _repeat(lambda s: s.reply(reset_after_bytes=len(s.body) // 2), 2),
          FaultOutcome(ConnectorConnectionError, attempts=1, sleeps=0),
          setup_expected=FaultOutcome(attempts=3, sleeps=2)),
    Fault("truncated_body", "the body stops at half its Content-Length: ConnectorConnectionError, "
          "not re-sent (1 attempt)",
          _repeat(lambda s: s.reply(truncate_to=len(s.body) // 2), 2),
          FaultOutcome(ConnectorConnectionError, attempts=1, sleeps=0),
          setup_expected=FaultOutcome(attempts=3, sleeps=2)),
    Fault("invalid_json", "HTTP 200 with a body that is not JSON: ConnectorResponseError, not retried",
          _repeat(lambda s: Reply(200, b'{"outputs": [{"results": tru', {"Content-Type": "application/json"}),
                  1),
          FaultOutcome(ConnectorResponseError, attempts=1, sleeps=0)),
    Fault("empty_body", "HTTP 200 with an empty body: ConnectorResponseError, not retried",
          _repeat(lambda s: Reply(200, b"", {"Content-Type": "application/json"}), 1),
          FaultOutcome(ConnectorResponseError, attempts=1, sleeps=0)),
    Fault("json_array", "HTTP 200 with a JSON array where an object is due: ConnectorResponseError",
          _repeat(lambda s: Reply(200, b'[{"text": "not an object"}]'), 1),
          FaultOutcome(ConnectorResponseError, attempts=1, sleeps=0)),
    Fault("huge_body", f"a {HUGE_BYTES // 2**20} MB valid JSON answer: success, same text, 1 attempt",
          _repeat(_huge, 1), FaultOutcome(attempts=1, sleeps=0)),
    Fault("trickle", "the body in 8 pieces 20 ms apart, inside the timeout: success, 1 attempt",
          _repeat(_trickled(8, 0.02), 1), FaultOutcome(attempts=1, sleeps=0), TRICKLE_OK),
    Fault("trickle_past_deadline",
          "the body in 20 pieces 40 ms apart (0.8 s), deadline 0.3 s: ConnectorTimeoutError by the deadline",
          _repeat(_trickled(20, 0.04), ATTEMPTS_ALL),
          FaultOutcome(ConnectorTimeoutError, within_deadline=True), TRICKLE_LATE),
]


#: Stream budgets: a gap between events past ``timeout`` ends the stream; the whole call has
#: ``deadline``. A stream must end by then: the check gives up on it (hung) a second later.
STREAM_STALL = {"timeout": 0.3, "deadline": 1.0}

#: Faults of a streamed send (``stream()`` on a recorded stream exchange). The stream's POST
#: starts the run: it is never sent twice, so each expects exactly one attempt.
STREAM_FAULTS: list[Fault] = [
    Fault("stream_cut_mid_event", "the connection drops halfway through the stream's last event: "
          "ConnectorStreamError, the stream not re-sent (1 run)",
          lambda step, clock: [cut_mid_event(step.body, step.content_type)] * 2,
          FaultOutcome(ConnectorStreamError, attempts=1, sleeps=0)),
    Fault("stream_stall_between_events", "the server stalls after the first event, past the "
          f"{STREAM_STALL['timeout']:g} s timeout: ConnectorTimeoutError within the "
          f"{STREAM_STALL['deadline']:g} s deadline, not re-sent (1 run)",
          lambda step, clock: [stall_between_events(step.body, step.content_type)] * 2,
          FaultOutcome(ConnectorTimeoutError, attempts=1, sleeps=0, within_deadline=True),
          STREAM_STALL),
]
