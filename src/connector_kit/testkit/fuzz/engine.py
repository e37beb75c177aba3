"""Fuzzing agent connectors with Hypothesis, seeded by real recordings.

Properties checked for ANY agent connector class (ours or a contributor's):

``extract_text`` / ``extract_session_id``
    return ``str`` or ``None`` and never raise; ``extract_text`` never hands back the Python
    repr of a non-string value (``"None"``, ``"[{'type': 'text', ...}]"``) as if it were text.
``extract_tool_trace``
    returns a list of dicts or ``None`` and never raises.
``deterministic``
    each extractor gives equal results on two copies of the same input and leaves its input
    unchanged.
``parse_response``
    returns a dict or raises a :class:`ConnectorError` subclass, nothing else.
``http_client``
    against a real loopback :class:`~connector_kit.testkit.faults.server.FaultServer` answering any
    status (100..599), junk headers (Retry-After, Content-Type and Content-Encoding lies) and
    any body bytes, ``HttpClient.request``/``arequest`` and the connector's own ``send``/``asend``
    return a dict (JSON value for ``expect="json"``) or raise a ConnectorError subclass, and an
    error status is never returned as data. A :class:`FakeClock` skips every wait.

The five response properties share one stream of inputs, each checked against every property
(a budget of N examples means N inputs for each property): after the corpus, up to half of the
budget goes to a systematic sweep of first-order mutations of the real responses recorded in
the cassettes (each node in turn replaced by None, a string, [], {}, 0 or wrapped in a list:
how the published package's parsers break), the rest to Hypothesis drawing mutated real
responses (1-3 random mutations), framework-shaped responses and arbitrary JSON objects.

A failure is shrunk by Hypothesis, then cut down further by :func:`reduce_json`, reported as a
minimal JSON with its exception and, when a corpus folder is given, saved as
``<corpus>/<property>-<sha8>.json``. Later runs try every corpus entry first.

API: :func:`fuzz_connector` -> :class:`FuzzReport`; the ``fuzz`` certification suite (one check
per property; settings in certify.yaml under ``fuzz:`` or ``--fuzz-examples``: ``examples``
(default 50), ``http_examples``, ``seed`` (default 0: CI runs are reproducible), ``shape``,
``max_failures``); and :func:`main` behind ``connector-kit fuzz TARGET``.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import logging
import os
import random
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from hypothesis import Phase, Verbosity, find, settings
from hypothesis.errors import Flaky, HypothesisWarning, NoSuchExample
from hypothesis.strategies import SearchStrategy

from ..._safe_yaml import load_json
from ...connectors.agent.base import BaseAgentConnector
from ...connectors.base import BaseConnector, ConnectorConfig
from ...connectors.batch import run_blocking
from ...connectors.exceptions import ConnectorError, ConnectorKitError
from ...connectors.http import FakeClock, HttpClient, RetryPolicy
from ..certify import Check, CheckFailed, CheckSkipped, Plan, register_suite
from ..faults.server import FaultServer, ReceivedRequest, Reply
from ..recording.cassettes import Cassette, CassetteError
from ..recording.targets import class_path, load_connector, registry_names
from .strategies import (
    SHAPES,
    HttpCase,
    http_cases,
    http_sweep,
    json_copy,
    mutation_sweep,
    reduce_json,
    response_bases,
    responses,
    slots,
)

EXTRACTORS = ("extract_text", "extract_session_id", "extract_tool_trace")
RESPONSE_PROPERTIES = (*EXTRACTORS, "deterministic", "parse_response")
PROPERTIES = (*RESPONSE_PROPERTIES, "http_client")
DESCRIPTIONS = {
    "extract_text": "extract_text returns str or None on any response, never raises, never a repr",
    "extract_session_id": "extract_session_id returns str or None on any response, never raises",
    "extract_tool_trace": "extract_tool_trace returns a list of dicts or None, never raises",
    "deterministic": "the extractors give equal results twice and leave their input unchanged",
    "parse_response": "parse_response returns a dict or raises a ConnectorError subclass only",
    "http_client": "any status/headers/body from a real server: a dict or a ConnectorError",
}
CORPUS_FOLDER = "fuzz-corpus"
CORPUS_MAX_BYTES = 1024 * 1024  # an entry is one shrunk input: small
#: Real seconds an HTTP attempt may take before the client's own timeout ends it (a safety net:
#: the FakeClock skips the waits between attempts, nothing should ever get near this).
HTTP_TIMEOUT = 3.0
_SHOWN = 1500  # characters of a minimal input shown in messages (the corpus file has it all)


# -- results ------------------------------------------------------------------------------------

@dataclass
class PropertyFigures:
    """What one property cost and found."""

    name: str
    examples: int = 0  # generated inputs it was checked on (the sweep's included)
    sweep: int = 0  # of which systematic first-order mutations of the real responses
    corpus: int = 0  # corpus entries tried first
    failures: int = 0
    shrink_calls: int = 0  # checks spent shrinking and reducing failures
    time_ms: float = 0.0  # time inside this property's checks
    skipped: str | None = None

    @property
    def status(self) -> Literal["passed", "failed", "skipped"]:
        if self.skipped:
            return "skipped"
        return "failed" if self.failures else "passed"

    def to_dict(self) -> dict[str, Any]:
        return {"examples": self.examples, "sweep": self.sweep, "corpus": self.corpus,
                "failures": self.failures,
                "shrink_calls": self.shrink_calls, "time_ms": round(self.time_ms, 1),
                "status": self.status, **({"skipped": self.skipped} if self.skipped else {})}


@dataclass
class FuzzFailure:
    """A property broken by a (minimal) input."""

    property: str
    input: Any
    exception_type: str
    message: str
    location: str = ""
    source: Literal["corpus", "sweep", "search"] = "search"
    examples_before: int = 0  # generated inputs tried before it was found (0 for the corpus)
    corpus_file: Path | None = None

    @builtins.property
    def input_json(self) -> str:
        return dump_json(self.input)

    @builtins.property
    def exception(self) -> str:
        return f"{self.exception_type}: {self.message}" if self.message else self.exception_type

    def describe(self, limit: int = _SHOWN) -> str:
        shown = self.input_json
        if len(shown) > limit:
            shown = shown[:limit] + f"... ({len(shown)} chars in all)"
        where = f" at {self.location}" if self.location else ""
        origin = (f"corpus entry {self.corpus_file.name}" if self.source == "corpus" and
                  self.corpus_file else f"found after {self.examples_before} example(s)"
                  + (" by the systematic sweep" if self.source == "sweep" else ""))
        lines = [f"{self.property}: {self.exception}{where} ({origin})", f"  minimal input: {shown}"]
        if self.source != "corpus" and self.corpus_file is not None:
            lines.append(f"  saved to {self.corpus_file}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"property": self.property, "input": self.input_json, "exception": self.exception,
                "location": self.location, "source": self.source,
                "examples_before": self.examples_before,
                "corpus_file": str(self.corpus_file) if self.corpus_file else None}


@dataclass
class FuzzReport:
    connector: str
    seed: int
    shape: str
    real_responses: int  # recorded responses the mutations start from
    properties: dict[str, PropertyFigures]
    failures: list[FuzzFailure] = field(default_factory=list)
    corpus_dir: Path | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def failures_for(self, prop: str) -> list[FuzzFailure]:
        return [f for f in self.failures if f.property == prop]

    def to_dict(self) -> dict[str, Any]:
        return {"connector": self.connector, "seed": self.seed, "shape": self.shape,
                "real_responses": self.real_responses, "ok": self.ok,
                "corpus_dir": str(self.corpus_dir) if self.corpus_dir else None,
                "duration_ms": round(self.duration_ms, 1),
                "properties": {n: p.to_dict() for n, p in self.properties.items()},
                "failures": [f.to_dict() for f in self.failures]}


def dump_json(value: Any) -> str:
    """JSON text of a fuzz input: ASCII-escaped, so NUL and lone surrogates survive a round trip
    (NaN/Infinity are written as Python's json module reads them back)."""
    return json.dumps(value, ensure_ascii=True)


# -- checking one input ---------------------------------------------------------------------------

class PropertyViolation(AssertionError):
    """A property broken without an exception from the connector (wrong type, repr, ...)."""

    def __init__(self, kind: str, message: str, where: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.where = where  # the definition of the method at fault


Signature = tuple[str, str]


def _signature(exc: BaseException) -> Signature:
    if isinstance(exc, PropertyViolation):
        return ("violation", exc.kind)
    return (type(exc).__name__, _location(exc, full=True))


def _location(exc: BaseException, *, full: bool = False) -> str:
    if isinstance(exc, PropertyViolation):
        return exc.where
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    name = last.filename if full else _short_path(last.filename)
    return f"{name}:{last.lineno}"


def _short_path(filename: str) -> str:
    parts = Path(filename).parts
    for anchor in ("site-packages", "src", "tests"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) + 1:])
    return "/".join(parts[-2:])


def _message(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not break the report
        text = ""
    return text[:500]


def _canon(value: Any) -> str:
    """Comparable text of a result (objects by type name: their repr holds a memory address)."""
    try:
        return json.dumps(value, ensure_ascii=True, default=lambda o: f"<{type(o).__name__}>")
    except (TypeError, ValueError, RecursionError):
        return f"<{type(value).__name__}>"


def _strings(value: Any) -> set[str]:
    found: set[str] = set()
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            found.add(node)
        elif isinstance(node, dict):
            found.update(k for k in node if isinstance(k, str))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _is_python_repr(text: str, value: Any) -> bool:
    """Is ``text`` the ``str()`` of a None or a non-empty container found in ``value`` (and not
    text the input holds, nor that value's JSON)?"""
    if not text or len(text) > 200_000 or text in _strings(value):
        return False
    if text == "None":
        return any(node is None for node in _nodes(value))
    if text[0] not in "[{":
        return False
    for node in _nodes(value):
        if isinstance(node, (dict, list)) and node:
            try:
                if str(node) == text and text not in _json_forms(node):
                    return True
            except RecursionError:
                continue
    return False


def _nodes(value: Any, limit: int = 2000) -> Iterator[Any]:
    yield value
    for path in slots(value, limit):
        node = value
        for step in path:
            node = node[step]
        yield node


def _json_forms(node: Any) -> set[str]:
    forms = set()
    for ascii_ in (True, False):
        for sort in (True, False):
            with contextlib.suppress(ValueError, RecursionError):
                forms.add(json.dumps(node, ensure_ascii=ascii_, sort_keys=sort))
    return forms


def _defined_at(cls: type[Any], name: str) -> str:
    """``file:line (Class.method)`` where ``cls`` defines ``name``, for violation reports."""
    method = getattr(cls, name, None)
    function = getattr(method, "__func__", method)
    code = getattr(function, "__code__", None)
    if code is None:
        return ""
    owner = getattr(function, "__qualname__", name)
    return f"{_short_path(code.co_filename)}:{code.co_firstlineno} ({owner})"


def _check_str_or_none(cls: type[Any], name: str, out: Any) -> None:
    if out is not None and not isinstance(out, str):
        raise PropertyViolation(
            "type", f"{name} returned {type(out).__name__} {_canon(out)[:120]}; expected str or None",
            _defined_at(cls, name))


# -- the fuzzer ---------------------------------------------------------------------------------

@dataclass
class _Entry:
    property: str
    input: Any
    path: Path


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
        _private_hypothesis_home()
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
        self._instance: BaseAgentConnector | None = None
        self._server: FaultServer | None = None
        self._round = 0

    # -- public ------------------------------------------------------------------------------
    def run(self, properties: Sequence[str] = PROPERTIES, *, examples: int = 100,
            http_examples: int | None = None) -> FuzzReport:
        """Run ``properties``: corpus entries first, then ``examples`` generated inputs for the
        response properties and ``http_examples`` HTTP cases (default: up to 50, then a quarter
        of ``examples``)."""
        unknown = [p for p in properties if p not in PROPERTIES]
        if unknown:
            raise ValueError(f"unknown fuzz properties {unknown}; known: {', '.join(PROPERTIES)}")
        started = time.perf_counter()
        wanted = [p for p in RESPONSE_PROPERTIES if p in properties and p not in self.figures]
        with _quiet_logs():
            if wanted:
                self._run_responses(wanted, examples)
            if "http_client" in properties and "http_client" not in self.figures:
                self._run_http(http_examples if http_examples is not None
                               else default_http_examples(examples))
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
        return {"extract_text": self._check_text, "extract_session_id": self._check_session_id,
                "extract_tool_trace": self._check_tool_trace,
                "deterministic": self._check_deterministic, "parse_response": self._check_parse}

    def _run_responses(self, wanted: list[str], examples: int) -> None:
        checkers = {p: fn for p, fn in self._checkers().items() if p in wanted}
        for prop in wanted:
            self.figures[prop] = PropertyFigures(prop)
        if "parse_response" in checkers:
            reason = self._instance_problem()
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
                if exc is not None and _signature(exc) not in found[prop]:
                    self._harvest(value, {prop: check}, found, reduce, index + 1, "sweep")
        return len(inputs)

    def _check_text(self, value: Any) -> None:
        out = self.cls.extract_text(json_copy(value))
        _check_str_or_none(self.cls, "extract_text", out)
        if out is not None and _is_python_repr(out, value):
            raise PropertyViolation(
                "repr", f"extract_text returned {out[:120]!r}: the Python repr of a non-string "
                        "value, not text (data lost)", _defined_at(self.cls, "extract_text"))

    def _check_session_id(self, value: Any) -> None:
        out = self.cls.extract_session_id(json_copy(value))
        _check_str_or_none(self.cls, "extract_session_id", out)

    def _check_tool_trace(self, value: Any) -> None:
        out = self.cls.extract_tool_trace(json_copy(value))
        if out is None:
            return
        if not isinstance(out, list):
            raise PropertyViolation(
                "type", f"extract_tool_trace returned {type(out).__name__} {_canon(out)[:120]}; "
                        "expected a list of dicts or None", _defined_at(self.cls, "extract_tool_trace"))
        bad = [item for item in out if not isinstance(item, dict)]
        if bad:
            raise PropertyViolation(
                "item", f"extract_tool_trace returned a list holding {type(bad[0]).__name__} "
                        f"{_canon(bad[0])[:80]}; every entry must be a dict",
                _defined_at(self.cls, "extract_tool_trace"))

    def _check_deterministic(self, value: Any) -> None:
        original = _canon(value)
        for name in EXTRACTORS:
            method = getattr(self.cls, name)
            first, second = json_copy(value), json_copy(value)
            results = []
            for copy in (first, second):
                try:
                    results.append(("returned", _canon(method(copy))))
                except Exception as exc:
                    results.append(("raised", type(exc).__name__))
            if results[0] != results[1]:
                raise PropertyViolation(
                    "nondeterministic", f"{name} gave different results on two copies of the same "
                                        f"input: {results[0][1][:80]} then {results[1][1][:80]}",
                    _defined_at(self.cls, name))
            if _canon(first) != original:
                raise PropertyViolation(
                    "mutates", f"{name} changed its input (now {_canon(first)[:120]}); extractors "
                               "must not modify the response", _defined_at(self.cls, name))

    def _check_parse(self, value: Any) -> None:
        instance = self._get_instance()
        try:
            out = instance.parse_response(json_copy(value))
        except ConnectorError:
            return
        if not isinstance(out, dict):
            raise PropertyViolation(
                "type", f"parse_response returned {type(out).__name__}; expected the response dict "
                        "(or a ConnectorError)", _defined_at(self.cls, "parse_response"))

    # -- the HTTP property ------------------------------------------------------------------------
    def _run_http(self, examples: int) -> None:
        self.figures["http_client"] = PropertyFigures("http_client")
        reason = self._instance_problem()
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
        if isinstance(case, dict):
            case = HttpCase.from_json(case)
        assert isinstance(case, HttpCase) and self._server is not None
        reply = Reply(status=case.status, body=case.body, headers=dict(case.headers),
                      close=case.must_close())

        def answer(request: ReceivedRequest) -> Reply:
            return reply

        self._server.set_default(answer)
        url = f"{self._server.url}/fuzz"
        client = HttpClient(timeout=HTTP_TIMEOUT, policy=RetryPolicy(max_retries=1, jitter=0.0),
                            clock=FakeClock())
        payload = {"input": "fuzz"} if case.method == "POST" else None

        async def arequest() -> Any:
            try:
                return await client.arequest(case.method, url, json=payload, expect=case.expect)
            finally:
                await client.aclose()

        try:
            if case.mode == "async":
                result = run_blocking(arequest)
            else:
                try:
                    result = client.request(case.method, url, json=payload, expect=case.expect)
                finally:
                    client.close()
        except ConnectorError:
            pass
        else:
            if case.expect == "object" and not isinstance(result, dict):
                raise PropertyViolation(
                    "type", f"HttpClient returned {type(result).__name__} for expect='object'; "
                            "expected a dict or a ConnectorError", _defined_at(HttpClient, "request"))
            if case.status >= 400:
                raise PropertyViolation(
                    "error-as-data", f"HttpClient returned HTTP {case.status} as data instead of "
                                     "raising a ConnectorError", _defined_at(HttpClient, "request"))
        self._check_send(case, url)

    def _check_send(self, case: HttpCase, url: str) -> None:
        """The connector's own send path, on the same answer."""
        connector = self._make_instance(url)
        with contextlib.suppress(Exception):  # a connector with its own transport keeps its clock
            connector._get_http_client().clock = FakeClock()
        messages, session_id = self._messages()

        async def asend() -> Any:
            try:
                return await connector.asend(messages, session_id)
            finally:
                await connector.aclose()

        try:
            if case.mode == "async":
                result = run_blocking(asend)
            else:
                try:
                    result = connector.send(messages, session_id)
                finally:
                    connector.close()
        except ConnectorError:
            return
        if not isinstance(result, dict):
            raise PropertyViolation(
                "send-type", f"{self.cls.__name__}.send returned {type(result).__name__}; expected "
                             "a dict", _defined_at(self.cls, "send"))
        if case.status >= 400:
            raise PropertyViolation(
                "send-error-as-data", f"{self.cls.__name__}.send returned data although every "
                                      f"answer was HTTP {case.status}", _defined_at(self.cls, "send"))

    # -- the connector instance -------------------------------------------------------------------
    def _options(self) -> tuple[dict[str, Any], dict[str, Any]]:
        for cassette in self.cassettes:
            section = cassette.scenario
            if section:
                config = {k: v for k, v in dict(section.get("config") or {}).items()
                          if k not in ("api_key", "url", "timeout", "max_retries")}
                return config, dict(section.get("options") or {})
        return {}, {}

    def _make_instance(self, url: str) -> BaseAgentConnector:
        config, options = self._options()
        return self.cls(config=ConnectorConfig(url=url, timeout=HTTP_TIMEOUT, max_retries=1,
                                               **config), **options)

    def _instance_problem(self) -> str | None:
        try:
            self._get_instance()
        except Exception as exc:
            return (f"cannot construct {self.cls.__name__} with ConnectorConfig(url=...) and the "
                    f"recorded options: {type(exc).__name__}: {_message(exc)}")
        return None

    def _get_instance(self) -> BaseAgentConnector:
        if self._instance is None:
            self._instance = self._make_instance("http://127.0.0.1:9/fuzz")
        return self._instance

    def _messages(self) -> tuple[Any, str]:
        for cassette in self.cassettes:
            messages = cassette.scenario.get("messages")
            if messages:
                return messages, "ck-fuzz"
        return [{"role": "user", "content": "hello"}], "ck-fuzz"

    # -- corpus ---------------------------------------------------------------------------------
    def load_corpus(self) -> list[_Entry]:
        if self.corpus_dir is None or not self.corpus_dir.is_dir():
            return []
        entries = []
        for path in sorted(self.corpus_dir.glob("*.json")):
            # Bounded and validated like every file the kit reads; a broken entry is an error
            # naming the file (skipping it would silently drop a regression case).
            data = load_json(path, max_bytes=CORPUS_MAX_BYTES)
            if isinstance(data, dict) and data.get("property") in PROPERTIES and "input" in data:
                entries.append(_Entry(str(data["property"]), data["input"], path))
        return entries

    def _replay_corpus(self, checkers: Mapping[str, Callable[[Any], None]], *,
                       response: bool) -> dict[str, set[Signature]]:
        """Try the corpus entries before anything random: a property's own entries first, then
        (for response properties) the entries saved by the other response properties."""
        found: dict[str, set[Signature]] = {p: set() for p in checkers}
        entries = self.load_corpus()
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
                signature = _signature(exc)
                if signature in found[prop]:
                    continue
                found[prop].add(signature)
                self._record(FuzzFailure(prop, entry.input, type(exc).__name__, _message(exc),
                                         _location(exc), "corpus", 0, entry.path))
        return found

    def _save(self, failure: FuzzFailure) -> Path | None:
        if self.corpus_dir is None:
            return None
        canonical = json.dumps(failure.input, ensure_ascii=True, sort_keys=True)
        digest = hashlib.sha256(canonical.encode("ascii")).hexdigest()[:8]
        path = self.corpus_dir / f"{failure.property}-{digest}.json"
        if path.exists():
            return path
        with contextlib.suppress(OSError):
            self.corpus_dir.mkdir(parents=True, exist_ok=True)
        entry = {"property": failure.property, "connector": class_path(self.cls),
                 "exception": failure.exception, "location": failure.location,
                 "found": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "seed": self.seed,
                 "input": failure.input}
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            tmp.write_text(json.dumps(entry, ensure_ascii=True, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        except OSError:  # a read-only cassette folder: the failure is still reported
            tmp.unlink(missing_ok=True)
            return None
        return path

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
                found[prop].add(_signature(exc))
                self._record(FuzzFailure(prop, _as_json(minimal), type(exc).__name__,
                                         "(flaky: not reproduced on a second run) " + _message(exc),
                                         _location(exc), "search", budget - left))

    def _harvest(self, value: Any, active: Mapping[str, Callable[[Any], None]],
                 found: dict[str, set[Signature]], reduce: bool, examples_before: int,
                 source: Literal["sweep", "search"] = "search") -> bool:
        """Record every new failure ``value`` shows (reduced to a minimal input first)."""
        new = False
        for prop, check in active.items():
            exc = self._timed(prop, check, value)
            if exc is None or _signature(exc) in found[prop]:
                continue
            signature = _signature(exc)
            minimal = value
            if reduce:
                def still_fails(candidate: Any, prop: str = prop, check: Callable[[Any], None] = check,
                                signature: Signature = signature) -> bool:
                    self.figures[prop].shrink_calls += 1
                    failed = self._timed(prop, check, candidate)
                    return failed is not None and _signature(failed) == signature

                minimal = reduce_json(value, still_fails)
                exc = self._timed(prop, check, minimal) or exc
            found[prop].add(signature)
            failure = FuzzFailure(prop, json_copy(minimal) if reduce else _as_json(minimal),
                                  type(exc).__name__, _message(exc), _location(exc), source,
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
            if exc is not None and _signature(exc) not in self.found[prop]:
                self.last, self.failed = value, (prop, exc)
                return True
        return False


def _as_json(value: Any) -> Any:
    return value.to_json() if isinstance(value, HttpCase) else value


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """Connectors log warnings on odd responses (thousands of fuzz inputs would flood the log),
    and Hypothesis warns about the repr of a huge input it will never print."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HypothesisWarning)
            yield
    finally:
        logging.disable(previous)


def guess_shape(cls: type[BaseConnector], cassettes: Sequence[Cassette] = ()) -> str:
    """The response skeleton to fuzz ``cls`` with: from its base class, registry name or the
    framework its cassettes were recorded from; "generic" (every shape) otherwise."""
    from ...connectors.agent.langflow import LangflowConnector
    from ...connectors.agent.langgraph import LangGraphConnector

    if issubclass(cls, LangflowConnector):
        return "langflow"
    if issubclass(cls, LangGraphConnector):
        return "langgraph"
    names = registry_names(cls)
    for cassette in cassettes:
        names.append(str(cassette.metadata.get("framework") or cassette.scenario.get("framework")))
    for name in names:
        if name in SHAPES:
            return name
    return "generic"


def default_http_examples(examples: int) -> int:
    """Each HTTP example is a few real loopback calls: up to 50, then a quarter of the budget."""
    return max(min(examples, 50), examples // 4)


def corpus_dir_for(cassettes: Path) -> Path:
    """The regression corpus beside a cassette folder: ``<cassettes>/fuzz-corpus``."""
    return cassettes / CORPUS_FOLDER


def load_cassettes(folder: Path) -> list[Cassette]:
    """Every readable cassette in ``folder`` (``scenarios.yaml`` and dot files excluded)."""
    found = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "scenarios.yaml" or path.name.startswith("."):
            continue
        with contextlib.suppress(CassetteError):
            found.append(Cassette.load(path))
    return found


def fuzz_connector(cls: type[BaseConnector], *, examples: int = 100,
                   cassettes: Sequence[Cassette] | None = None, corpus_dir: Path | None = None,
                   seed: int | None = None, properties: Sequence[str] = PROPERTIES,
                   http_examples: int | None = None, shape: str | None = None,
                   max_failures: int = 3, shrink: bool = True) -> FuzzReport:
    """Fuzz ``cls`` and report per-property figures and minimal failing inputs.

    ``examples`` generated inputs are checked against each response property (after the corpus
    entries); the HTTP property gets ``http_examples`` cases, each a few real loopback calls
    (default :func:`default_http_examples`). Failures are saved to ``corpus_dir`` when given.
    """
    fuzzer = Fuzzer(cls, cassettes=cassettes, corpus_dir=corpus_dir, seed=seed, shape=shape,
                    max_failures=max_failures, shrink=shrink)
    return fuzzer.run(properties, examples=examples, http_examples=http_examples)


# -- the certification suite ---------------------------------------------------------------------

@register_suite("fuzz")
def fuzz_suite(plan: Plan) -> list[Check]:
    """One check per property; the response properties share one run of inputs."""
    cls = plan.connector_class
    if not issubclass(cls, BaseAgentConnector):
        reason = f"{cls.__name__} is not an agent connector: the fuzz suite targets extractors"
        return [Check("fuzz", "*", _raise_skip(reason), reason)]
    _private_hypothesis_home()
    examples = int(plan.setting("fuzz", "examples", 50))
    http_examples = int(plan.setting("fuzz", "http_examples", default_http_examples(examples)))
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
            return numbers

        return run

    return [Check("fuzz", prop, check(prop), DESCRIPTIONS[prop]) for prop in PROPERTIES]


def _raise_skip(reason: str) -> Callable[[], None]:
    def run() -> None:
        raise CheckSkipped(reason)

    return run


def _private_hypothesis_home() -> None:
    """Outside pytest, keep Hypothesis' caches in a user cache folder, not the current one."""
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY") or "pytest" in sys.modules:
        return
    from hypothesis.configuration import set_hypothesis_home_dir

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    set_hypothesis_home_dir(base / "connector-kit" / "hypothesis")


# -- the command ----------------------------------------------------------------------------------

def render(report: FuzzReport, console: Any = None) -> None:
    """A table of figures per property, then each failure with its minimal input."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"fuzz {report.connector}  (shape {report.shape}, seed {report.seed}, "
                        f"{report.real_responses} real responses)", title_justify="left")
    for column in ("property", "examples", "corpus", "failures", "shrink calls", "ms", "status"):
        table.add_column(column, justify="left" if column in ("property", "status") else "right")
    style = {"passed": "green", "failed": "bold red", "skipped": "yellow"}
    for name, figures in report.properties.items():
        status = figures.status + (f": {figures.skipped}" if figures.skipped else "")
        table.add_row(name, str(figures.examples), str(figures.corpus), str(figures.failures),
                      str(figures.shrink_calls), f"{figures.time_ms:.0f}",
                      f"[{style[figures.status]}]{escape(status)}[/]")
    console.print(table)
    for failure in report.failures:
        console.print(escape(failure.describe()), soft_wrap=True)
    verdict = "[green]no failures[/]" if report.ok else f"[bold red]{len(report.failures)} failure(s)[/]"
    where = f"; corpus {report.corpus_dir}" if report.corpus_dir else ""
    console.print(f"{verdict} in {report.duration_ms / 1000:.1f} s{escape(where)}")


def main(target: str, cassettes: Path | None, examples: int, seed: int | None) -> int:
    """``connector-kit fuzz TARGET``: 0 when every property holds, 1 on failures, 2 on bad use."""
    from rich.console import Console

    console = Console()
    try:
        cls = load_connector(target)
    except ConnectorKitError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    except Exception as exc:  # a contributor module that fails to import
        console.print(f"[red]Cannot load {target}: {type(exc).__name__}: {exc}[/]")
        return 2
    if not issubclass(cls, BaseAgentConnector):
        console.print(f"[red]{target} is not an agent connector; fuzzing targets extractors.[/]")
        return 2
    if examples < 1:
        console.print("[red]--examples must be at least 1.[/]")
        return 2
    _private_hypothesis_home()
    loaded = load_cassettes(cassettes) if cassettes is not None else []
    report = fuzz_connector(cls, examples=examples, cassettes=loaded,
                            corpus_dir=corpus_dir_for(cassettes) if cassettes is not None else None,
                            seed=seed)
    render(report, console)
    return 0 if report.ok else 1


__all__ = [
    "CORPUS_FOLDER",
    "PROPERTIES",
    "RESPONSE_PROPERTIES",
    "FuzzFailure",
    "FuzzReport",
    "Fuzzer",
    "PropertyFigures",
    "PropertyViolation",
    "corpus_dir_for",
    "default_http_examples",
    "dump_json",
    "fuzz_connector",
    "fuzz_suite",
    "guess_shape",
    "load_cassettes",
    "main",
    "render",
]
