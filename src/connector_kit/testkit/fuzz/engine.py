"""The Fuzzer: one connector class, its properties checked on a stream of generated inputs.

The five response properties (:mod:`.properties`) share one stream of inputs, each checked
against every property (a budget of N examples means N inputs for each property): after the
corpus (:mod:`.corpus`), up to half of the budget goes to a systematic sweep of first-order
mutations of the real responses recorded in the cassettes (:func:`.mutations.mutation_sweep`),
the rest to Hypothesis drawing mutated real responses, framework-shaped responses and
arbitrary JSON. The ``http_client`` property (:mod:`.http_property`) gets its own budget of
HTTP answers, served by a real loopback FaultServer.

A failure is shrunk by Hypothesis, then cut down further by :func:`.reduce.reduce_json`,
reported as a minimal JSON with its exception and, when a corpus folder is given, saved there.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from hypothesis import Phase, Verbosity, find, settings
from hypothesis.errors import Flaky, NoSuchExample
from hypothesis.strategies import SearchStrategy

from ...connectors.agent.base import BaseAgentConnector
from ...connectors.base import BaseConnector
from ..faults.exchange import can_stream
from ..faults.harness import FaultHarness
from ..faults.server import FaultServer
from ..recording.cassettes import Cassette
from ..recording.targets import class_path
from .corpus import load_corpus, save_failure
from .environment import private_hypothesis_home, quiet_logs
from .http_answers import HttpCase, http_cases, http_sweep
from .http_property import check_http
from .jsonpaths import json_copy
from .mutations import mutation_sweep, response_bases, responses
from .properties import (
    PROPERTIES,
    RESPONSE_PROPERTIES,
    Signature,
    check_deterministic,
    check_parse,
    check_session_id,
    check_text,
    check_tool_trace,
    location,
    message_of,
    signature,
)
from .reduce import reduce_json
from .report import FuzzFailure, FuzzReport, PropertyFigures
from .shapes import SHAPES
from .streams import StreamCase, check_stream, stream_cases, stream_exchanges, stream_sweep
from .subject import Subject, guess_shape


class Fuzzer:
    """Fuzzes one connector class. Build once; :meth:`run` properties with an example budget.

    Args:
        cls: the connector class (a BaseAgentConnector subclass).
        cassettes: recordings whose responses are mutated (and whose scenario options are used
            to construct the connector).
        corpus_dir: regression corpus folder: entries there are tried first, failures are
            saved there. None: no corpus.
        seed: makes the run reproducible; None draws one (reported, so any run can be repeated).
        shape: the response skeleton (``langflow``, ``langgraph``, ``openai``, ``generic``);
            None: guessed from the class, its registry name or the cassettes.
        max_failures: distinct failures (exception type and place) looked for per property.
        shrink: let Hypothesis shrink failures (they are always reduced structurally too).
    """

    def __init__(self, cls: type[BaseConnector], *, cassettes: Sequence[Cassette] | None = None,
                 corpus_dir: Path | None = None, seed: int | None = None, shape: str | None = None,
                 max_failures: int = 3, shrink: bool = True) -> None:
        if not (isinstance(cls, type) and issubclass(cls, BaseAgentConnector)):
            raise TypeError(f"fuzzing needs a BaseAgentConnector subclass, got {cls!r}")
        private_hypothesis_home()
        self.cls: type[BaseAgentConnector] = cls
        self.cassettes = list(cassettes or [])
        self.corpus_dir = corpus_dir
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        self.shape = shape or guess_shape(cls, self.cassettes)
        if self.shape not in SHAPES:
            raise ValueError(f"unknown response shape {self.shape!r}; one of {', '.join(SHAPES)}")
        self.max_failures = max_failures
        self.shrink = shrink
        self.bases = response_bases(self.cassettes)
        self.figures: dict[str, PropertyFigures] = {}
        self.failures: list[FuzzFailure] = []
        self.subject = Subject(cls, self.cassettes)
        self._server: FaultServer | None = None
        self._round = 0

    # -- public ------------------------------------------------------------------------------
    def run(self, properties: Sequence[str] = PROPERTIES, *, examples: int = 100,
            http_examples: int | None = None, stream_examples: int | None = None) -> FuzzReport:
        """Run ``properties``: corpus entries first, then ``examples`` generated inputs for the
        response properties and ``http_examples`` HTTP cases (default: up to 50, then a quarter
        of ``examples``)."""
        unknown = [p for p in properties if p not in PROPERTIES]
        if unknown:
            raise ValueError(f"unknown fuzz properties {unknown}; known: {', '.join(PROPERTIES)}")
        started = time.perf_counter()
        wanted = [p for p in RESPONSE_PROPERTIES if p in properties and p not in self.figures]
        with quiet_logs():
            if wanted:
                self._run_responses(wanted, examples)
            if "http_client" in properties and "http_client" not in self.figures:
                self._run_http(http_examples if http_examples is not None
                               else default_http_examples(examples))
            if "stream" in properties and "stream" not in self.figures:
                self._run_stream(stream_examples if stream_examples is not None
                                 else default_stream_examples(examples))
        return FuzzReport(
            connector=class_path(self.cls), seed=self.seed, shape=self.shape,
            real_responses=len(self.bases),
            properties={p: self.figures[p] for p in PROPERTIES if p in self.figures},
            failures=list(self.failures), corpus_dir=self.corpus_dir,
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    def property_result(self, prop: str) -> tuple[PropertyFigures, list[FuzzFailure]]:
        return self.figures[prop], [f for f in self.failures if f.property == prop]

    # -- response properties ----------------------------------------------------------------
    def _checkers(self) -> dict[str, Callable[[Any], None]]:
        cls, subject = self.cls, self.subject
        return {"extract_text": lambda value: check_text(cls, value),
                "extract_session_id": lambda value: check_session_id(cls, value),
                "extract_tool_trace": lambda value: check_tool_trace(cls, value),
                "deterministic": lambda value: check_deterministic(cls, value),
                "parse_response": lambda value: check_parse(subject.instance(), value)}

    def _run_responses(self, wanted: list[str], examples: int) -> None:
        checkers = {p: fn for p, fn in self._checkers().items() if p in wanted}
        for prop in wanted:
            self.figures[prop] = PropertyFigures(prop)
        if "parse_response" in checkers:
            reason = self.subject.problem()
            if reason:
                self.figures["parse_response"].skipped = reason
                del checkers["parse_response"]
        found = self._replay_corpus(checkers, response=True)
        swept = self._sweep(mutation_sweep(self.bases, examples // 2), checkers, found, reduce=True)
        self._search(responses(self.shape, self.bases), checkers, examples - swept, found,
                     reduce=True, before=swept)

    def _sweep(self, inputs: Sequence[Any], checkers: Mapping[str, Callable[[Any], None]],
               found: dict[str, set[Signature]], *, reduce: bool) -> int:
        """Systematic inputs before the random search: first-order mutations of the real
        responses, or known-nasty HTTP answers (half the budget at most)."""
        for index, value in enumerate(inputs):
            for prop, check in checkers.items():
                if len(found[prop]) >= self.max_failures:
                    continue
                figures = self.figures[prop]
                figures.examples += 1
                figures.sweep += 1
                exc = self._timed(prop, check, value)
                if exc is not None and signature(exc) not in found[prop]:
                    self._harvest(value, {prop: check}, found, reduce, index + 1, "sweep")
        return len(inputs)

    # -- the HTTP property ------------------------------------------------------------------------
    def _run_http(self, examples: int) -> None:
        self.figures["http_client"] = PropertyFigures("http_client")
        reason = self.subject.problem()
        if reason:
            self.figures["http_client"].skipped = reason
            return
        server = FaultServer().start()
        self._server = server
        try:
            checkers = {"http_client": self._check_http}
            found = self._replay_corpus(checkers, response=False)
            swept = self._sweep(http_sweep(examples // 2), checkers, found, reduce=False)
            self._search(http_cases(self.shape), checkers, examples - swept, found, reduce=False,
                         before=swept)
        finally:
            self._server = None
            server.stop()

    def _check_http(self, case: Any) -> None:
        assert self._server is not None
        messages, session_id = self.subject.messages()
        check_http(self._server, case, self.subject.make, messages, session_id)

    # -- the stream property ---------------------------------------------------------------------
    def _run_stream(self, examples: int) -> None:
        figures = self.figures["stream"] = PropertyFigures("stream")
        exchanges = stream_exchanges(self.cassettes)
        if not can_stream(self.cls) or not exchanges:
            figures.skipped = "no recorded stream" if can_stream(self.cls) else "does not stream"
            return
        harnesses = [FaultHarness(self.cls, exchange) for exchange in exchanges]
        bodies = [h.exchange.steps[-1].body for h in harnesses]

        def check(case: Any) -> None:
            index = (case.base if isinstance(case, StreamCase) else int(case.get("base", 0)))
            check_stream(harnesses[index % len(harnesses)], case)

        checkers = {"stream": check}
        found = self._replay_corpus(checkers, response=False)
        swept = self._sweep(stream_sweep(bodies, max(1, examples // 2)), checkers, found, reduce=False)
        self._search(stream_cases(bodies), checkers, examples - swept, found, reduce=False,
                     before=swept)

    # -- corpus ---------------------------------------------------------------------------------
    def _replay_corpus(self, checkers: Mapping[str, Callable[[Any], None]], *,
                       response: bool) -> dict[str, set[Signature]]:
        """Try the corpus entries before anything random: a property's own entries first, then
        (for response properties) the entries saved by the other response properties."""
        found: dict[str, set[Signature]] = {p: set() for p in checkers}
        entries = load_corpus(self.corpus_dir, PROPERTIES)
        for prop, check in checkers.items():
            own = [e for e in entries if e.property == prop]
            others = [e for e in entries if e.property != prop and response
                      and e.property in RESPONSE_PROPERTIES]
            for entry in own + others:
                if response and not isinstance(entry.input, dict):
                    continue
                figures = self.figures[prop]
                figures.corpus += 1
                exc = self._timed(prop, check, entry.input)
                if exc is None:
                    continue
                known = signature(exc)
                if known in found[prop]:
                    continue
                found[prop].add(known)
                self._record(FuzzFailure(prop, entry.input, type(exc).__name__, message_of(exc),
                                         location(exc), "corpus", 0, entry.path))
        return found

    def _save(self, failure: FuzzFailure) -> Path | None:
        return save_failure(self.corpus_dir, failure, class_path(self.cls), self.seed)

    def _record(self, failure: FuzzFailure) -> None:
        self.figures[failure.property].failures += 1
        self.failures.append(failure)

    # -- the search ---------------------------------------------------------------------------------
    def _timed(self, prop: str, check: Callable[[Any], None], value: Any) -> Exception | None:
        started = time.perf_counter()
        try:
            check(value)
        except Exception as exc:
            return exc
        finally:
            self.figures[prop].time_ms += (time.perf_counter() - started) * 1000
        return None

    def _search(self, strategy: SearchStrategy[Any], checkers: Mapping[str, Callable[[Any], None]],
                budget: int, found: dict[str, set[Signature]], *, reduce: bool,
                before: int = 0) -> None:
        """Rounds of ``hypothesis.find``: each looks for an input breaking some property in a way
        not seen yet, until the budget is spent or nothing new turns up. ``before``: examples
        already tried (for the "found after N examples" figure)."""
        budget += before
        left = budget - before
        while left > 0:
            active = {p: c for p, c in checkers.items() if len(found[p]) < self.max_failures}
            if not active:
                return
            round_ = _Round(self, active, found)
            minimal: Any = None
            try:
                minimal = find(strategy, round_.condition, settings=self._settings(left),
                               random=random.Random(f"{self.seed}:{self._round}"))
            except NoSuchExample:
                return
            except Flaky:
                minimal = round_.last  # failed once, not on the replay: report what it failed on
            finally:
                self._round += 1
                left -= round_.examples
            if minimal is None:
                return
            if not self._harvest(minimal, active, found, reduce, budget - left):
                if round_.failed is None:
                    return
                # It failed during the search but not when run again: nondeterministic.
                prop, exc = round_.failed
                found[prop].add(signature(exc))
                self._record(FuzzFailure(prop, _as_json(minimal), type(exc).__name__,
                                         "(flaky: not reproduced on a second run) " + message_of(exc),
                                         location(exc), "search", budget - left))

    def _harvest(self, value: Any, active: Mapping[str, Callable[[Any], None]],
                 found: dict[str, set[Signature]], reduce: bool, examples_before: int,
                 source: Literal["sweep", "search"] = "search") -> bool:
        """Record every new failure ``value`` shows (reduced to a minimal input first)."""
        new = False
        for prop, check in active.items():
            exc = self._timed(prop, check, value)
            if exc is None or signature(exc) in found[prop]:
                continue
            known = signature(exc)
            minimal = value
            if reduce:
                def still_fails(candidate: Any, prop: str = prop, check: Callable[[Any], None] = check,
                                known: Signature = known) -> bool:
                    self.figures[prop].shrink_calls += 1
                    failed = self._timed(prop, check, candidate)
                    return failed is not None and signature(failed) == known

                minimal = reduce_json(value, still_fails)
                exc = self._timed(prop, check, minimal) or exc
            found[prop].add(known)
            failure = FuzzFailure(prop, json_copy(minimal) if reduce else _as_json(minimal),
                                  type(exc).__name__, message_of(exc), location(exc), source,
                                  examples_before)
            failure.corpus_file = self._save(failure)
            self._record(failure)
            new = True
        return new

    def _settings(self, budget: int) -> settings:
        phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if self.shrink else [])
        return settings(max_examples=max(1, budget), deadline=None, database=None,
                        verbosity=Verbosity.quiet, phases=phases, derandomize=False)


class _Round:
    """One ``find`` call: the condition checks every active property on each input and counts."""

    def __init__(self, fuzzer: Fuzzer, active: Mapping[str, Callable[[Any], None]],
                 found: dict[str, set[Signature]]) -> None:
        self.fuzzer = fuzzer
        self.active = active
        self.found = found
        self.examples = 0  # generated inputs before the first hit
        self.last: Any = None
        self.failed: tuple[str, Exception] | None = None

    def condition(self, value: Any) -> bool:
        counting = self.failed is None
        if counting:
            self.examples += 1
        for prop, check in self.active.items():
            figures = self.fuzzer.figures[prop]
            if counting:
                figures.examples += 1
            else:
                figures.shrink_calls += 1
            exc = self.fuzzer._timed(prop, check, value)
            if exc is not None and signature(exc) not in self.found[prop]:
                self.last, self.failed = value, (prop, exc)
                return True
        return False


def _as_json(value: Any) -> Any:
    return value.to_json() if isinstance(value, (HttpCase, StreamCase)) else value


def default_http_examples(examples: int) -> int:
    """Each HTTP example is a few real loopback calls: up to 50, then a quarter of the budget."""
    return max(min(examples, 50), examples // 4)


def default_stream_examples(examples: int) -> int:
    """Each stream example is a real loopback stream (a stall waits the stream timeout): up to
    40, then an eighth of the budget."""
    return max(min(examples, 40), examples // 8)


def fuzz_connector(cls: type[BaseConnector], *, examples: int = 100,
                   cassettes: Sequence[Cassette] | None = None, corpus_dir: Path | None = None,
                   seed: int | None = None, properties: Sequence[str] = PROPERTIES,
                   http_examples: int | None = None, shape: str | None = None,
                   max_failures: int = 3, shrink: bool = True,
                   stream_examples: int | None = None) -> FuzzReport:
    """Fuzz ``cls`` and report per-property figures and minimal failing inputs.

    ``examples`` generated inputs are checked against each response property (after the corpus
    entries); the HTTP property gets ``http_examples`` cases, each a few real loopback calls
    (default :func:`default_http_examples`); the stream property ``stream_examples`` recorded
    streams broken or mutated (default :func:`default_stream_examples`). Failures are saved to
    ``corpus_dir`` when given.
    """
    fuzzer = Fuzzer(cls, cassettes=cassettes, corpus_dir=corpus_dir, seed=seed, shape=shape,
                    max_failures=max_failures, shrink=shrink)
    return fuzzer.run(properties, examples=examples, http_examples=http_examples,
                      stream_examples=stream_examples)


__all__ = ["Fuzzer", "default_http_examples", "default_stream_examples", "fuzz_connector"]
