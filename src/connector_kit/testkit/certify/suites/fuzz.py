"""The ``fuzz`` certification suite: one check per fuzz property (see :mod:`connector_kit.testkit.fuzz`).

Settings in certify.yaml under ``fuzz:`` (or ``--fuzz-examples``): ``examples`` (default 50),
``http_examples``, ``stream_examples``, ``seed`` (default 0: CI runs are reproducible),
``shape``, ``max_failures``. The response properties share one run of inputs; failures are
saved to the corpus beside the cassettes and replayed first next time. The ``stream`` property
needs a recorded stream: a declared stream scenario with no recording makes it "not run".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ....connectors.agent.base import BaseAgentConnector
from ...faults.exchange import can_stream
from ...fuzz.corpus import corpus_dir_for
from ...fuzz.engine import Fuzzer, default_http_examples, default_stream_examples
from ...fuzz.environment import private_hypothesis_home
from ...fuzz.properties import DESCRIPTIONS, PROPERTIES, RESPONSE_PROPERTIES
from ...fuzz.streams import stream_exchanges
from .. import Check, CheckFailed, CheckSkipped, Plan, not_run, register_suite
from ..plan import missing_stream_reason


@register_suite("fuzz")
def fuzz_suite(plan: Plan) -> list[Check]:
    """One check per property; the response properties share one run of inputs."""
    cls = plan.connector_class
    if not issubclass(cls, BaseAgentConnector):
        reason = f"{cls.__name__} is not an agent connector: the fuzz suite targets extractors"
        return [Check("fuzz", "*", _raise_skip(reason), reason)]
    private_hypothesis_home()
    examples = int(plan.setting("fuzz", "examples", 50))
    http_examples = int(plan.setting("fuzz", "http_examples", default_http_examples(examples)))
    stream_examples = int(plan.setting("fuzz", "stream_examples", default_stream_examples(examples)))
    seed = plan.setting("fuzz", "seed", 0)
    corpus = corpus_dir_for(plan.kit.cassettes) if plan.kit is not None else None
    holder: dict[str, Fuzzer] = {}

    def fuzzer() -> Fuzzer:
        if "f" not in holder:
            holder["f"] = Fuzzer(cls, cassettes=plan.cassettes(), corpus_dir=corpus,
                                 seed=None if seed is None else int(seed),
                                 shape=plan.setting("fuzz", "shape", None),
                                 max_failures=int(plan.setting("fuzz", "max_failures", 3)))
        return holder["f"]

    def check(prop: str) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            active = fuzzer()
            if prop == "http_client":
                active.run(["http_client"], examples=examples, http_examples=http_examples)
            elif prop == "stream":
                active.run(["stream"], examples=examples, stream_examples=stream_examples)
            else:
                active.run(RESPONSE_PROPERTIES, examples=examples)
            figures, failures = active.property_result(prop)
            if figures.skipped:
                raise CheckSkipped(figures.skipped)
            numbers: dict[str, Any] = {**figures.to_dict(), "seed": active.seed,
                                       "shape": active.shape, "real_responses": len(active.bases)}
            numbers.pop("status")
            if failures:
                head = (f"{len(failures)} failure(s) in {figures.examples} example(s) + "
                        f"{figures.corpus} corpus entr(ies), seed {active.seed}")
                raise CheckFailed(head + "\n" + "\n".join(f.describe() for f in failures), numbers)
            numbers["detail"] = (f"{figures.examples} examples + {figures.corpus} corpus, "
                                 f"0 failures, {figures.time_ms:.0f} ms")
            # zero inputs tried is "not run", never a pass (see certify.Check.execute)
            numbers["exercised"] = {"examples": figures.examples, "corpus entries": figures.corpus}
            if prop == "stream":
                numbers["exercised"] = {"streams": figures.examples, "broken on purpose": figures.sweep,
                                        "corpus entries": figures.corpus}
            return numbers

        return run

    # The stream property joins when there is a recorded stream to break; when the catalogue
    # declares a stream scenario that was not recorded it is "not run" (saying which); else no
    # row: a connector without streams would otherwise never certify strictly.
    has_streams = can_stream(cls) and bool(stream_exchanges(plan.cassettes()))
    checks = [Check("fuzz", prop, check(prop), DESCRIPTIONS[prop]) for prop in PROPERTIES
              if prop != "stream" or has_streams]
    missing = plan.unrecorded_streams() if can_stream(cls) and not has_streams else []
    if missing:
        checks.append(not_run("fuzz", missing_stream_reason(missing, plan), name="stream",
                              description=DESCRIPTIONS["stream"]))
    return checks


def _raise_skip(reason: str) -> Callable[[], None]:
    def run() -> None:
        raise CheckSkipped(reason)

    return run
