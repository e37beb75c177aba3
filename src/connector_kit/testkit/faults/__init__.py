"""Fault injection: a scripted HTTP server on 127.0.0.1 with real sockets, and the faults it plays.

:mod:`.server` (the FaultServer), :mod:`.exchange` (the recorded success a fault breaks) with
:mod:`.samples` (built-in bodies), :mod:`.harness` (one send against one fault, observed) and
:mod:`.scripts` (the faults and their outcomes). The ``faults`` certification suite that judges
them is ``connector_kit.testkit.certify.suites.faults``.
"""

from .exchange import Step, SuccessExchange, builtin_exchange, exchange_from_cassette
from .harness import FaultHarness, Observation, SkippingClock
from .scripts import FAULTS, Fault, FaultOutcome
from .server import FaultServer, ReceivedRequest, Reply, json_reply

__all__ = [
    "FAULTS",
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
    "exchange_from_cassette",
    "json_reply",
]
