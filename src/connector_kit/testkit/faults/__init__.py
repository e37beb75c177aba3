"""Fault injection: a scripted HTTP server on 127.0.0.1 with real sockets, and the faults it plays.

:mod:`.server` (the FaultServer), :mod:`.exchange` (the recorded success a fault breaks) with
:mod:`.samples` (built-in bodies), :mod:`.harness` (one send against one fault, observed) and
:mod:`.scripts` (the faults and their outcomes), :mod:`.streams` (stream bodies and how to
break them: cut mid-event, stall between events). The ``faults`` certification suite that judges
them is ``connector_kit.testkit.certify.suites.faults``.
"""

from .exchange import (
    Step,
    SuccessExchange,
    builtin_exchange,
    exchange_from_cassette,
    stream_exchange_from_cassette,
)
from .harness import FaultHarness, Observation, SkippingClock
from .scripts import FAULTS, STREAM_FAULTS, Fault, FaultOutcome
from .server import FaultServer, ReceivedRequest, Reply, json_reply
from .streams import cut_mid_event, frames, ndjson, sse, stall_between_events, stream_reply

__all__ = [
    "FAULTS",
    "STREAM_FAULTS",
    "Fault",
    "FaultHarness",
    "FaultOutcome",
    "FaultServer",
    "Observation",
    "ReceivedRequest",
    "Reply",
    "SkippingClock",
    "Step",
    "SuccessExchange",
    "builtin_exchange",
    "cut_mid_event",
    "exchange_from_cassette",
    "frames",
    "json_reply",
    "ndjson",
    "sse",
    "stall_between_events",
    "stream_exchange_from_cassette",
    "stream_reply",
]
