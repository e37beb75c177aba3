"""Fuzzing connectors with Hypothesis, seeded by real recordings (imports Hypothesis).

Where things are: :mod:`.values` (arbitrary JSON), :mod:`.shapes` (framework-shaped
responses), :mod:`.mutations` (mutations of the recorded responses), :mod:`.http_answers`
(HTTP answers), :mod:`.properties` (the response properties) and :mod:`.http_property`,
:mod:`.reduce` (minimal failing inputs), :mod:`.corpus` (saved failures, replayed first),
:mod:`.subject` (the connector as recorded), :mod:`.streams` (the stream property),
:mod:`.engine` (the Fuzzer) with :mod:`.environment`, :mod:`.report`
and :mod:`.command` (``connector-kit fuzz``). The certification suite is
``connector_kit.testkit.certify.suites.fuzz``.

API: :func:`fuzz_connector` -> :class:`FuzzReport`.
"""

from .command import main
from .corpus import CORPUS_FOLDER, corpus_dir_for
from .engine import Fuzzer, default_http_examples, fuzz_connector
from .http_answers import HttpCase, http_cases, http_sweep
from .jsonpaths import JsonPath, get_at, json_copy, slots
from .mutations import mutate, mutated_responses, mutation_sweep, response_bases, responses
from .properties import DESCRIPTIONS, PROPERTIES, RESPONSE_PROPERTIES, PropertyViolation
from .reduce import reduce_json
from .report import FuzzFailure, FuzzReport, PropertyFigures, dump_json, render
from .shapes import SHAPES, parts_contents, shaped_responses
from .subject import guess_shape, load_cassettes
from .values import json_objects, json_values

__all__ = [
    "CORPUS_FOLDER",
    "DESCRIPTIONS",
    "PROPERTIES",
    "RESPONSE_PROPERTIES",
    "SHAPES",
    "FuzzFailure",
    "FuzzReport",
    "Fuzzer",
    "HttpCase",
    "JsonPath",
    "PropertyFigures",
    "PropertyViolation",
    "corpus_dir_for",
    "default_http_examples",
    "dump_json",
    "fuzz_connector",
    "get_at",
    "guess_shape",
    "http_cases",
    "http_sweep",
    "json_copy",
    "json_objects",
    "json_values",
    "load_cassettes",
    "main",
    "mutate",
    "mutated_responses",
    "mutation_sweep",
    "parts_contents",
    "reduce_json",
    "render",
    "response_bases",
    "responses",
    "shaped_responses",
    "slots",
]
