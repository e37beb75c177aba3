"""The fuzzer: it finds the published package's kind of crash, our connectors survive it, failures
are shrunk to a minimal JSON and kept in a corpus that later runs try first."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Verbosity, find, settings
from hypothesis.errors import NoSuchExample

from connector_kit.connectors import (
    BaseConnector,
    ConnectorConfig,
    LangflowConnector,
    LangGraphConnector,
)
from connector_kit.testkit.certify import certify
from connector_kit.testkit.fuzz import (
    PROPERTIES,
    RESPONSE_PROPERTIES,
    HttpCase,
    corpus_dir_for,
    fuzz_connector,
    guess_shape,
    http_sweep,
    load_cassettes,
    main,
    mutated_responses,
    mutation_sweep,
    reduce_json,
    response_bases,
    shaped_responses,
    slots,
)
from connector_kit.testkit.recording.cassettes import Cassette
from fixtures.fragile_connector import FragileLangflowConnector, FragileLangGraphConnector

REPO = Path(__file__).resolve().parents[1]
LANGGRAPH_CASSETTES = REPO / "cassettes" / "langgraph"
LANGFLOW_CASSETTES = REPO / "cassettes" / "langflow"


# -- real recordings to seed from ------------------------------------------------------------------

@pytest.fixture(scope="module")
def langgraph_cassettes() -> list[Cassette]:
    loaded = load_cassettes(LANGGRAPH_CASSETTES) if LANGGRAPH_CASSETTES.is_dir() else []
    if not loaded:
        pytest.skip(f"no recorded LangGraph cassettes in {LANGGRAPH_CASSETTES}")
    return loaded


@pytest.fixture(scope="module")
def langflow_cassettes() -> list[Cassette]:
    """Real Langflow responses: the repo's recordings from the project's Langflow rig."""
    loaded = load_cassettes(LANGFLOW_CASSETTES) if LANGFLOW_CASSETTES.is_dir() else []
    if not response_bases(loaded):
        pytest.skip(f"no recorded Langflow cassettes in {LANGFLOW_CASSETTES}")
    return loaded


def _draw(strategy: Any, count: int, seed: int = 0) -> list[Any]:
    """``count`` values of a strategy, reproducibly (find() with a condition that never holds)."""
    import random

    seen: list[Any] = []

    def keep(value: Any) -> bool:
        seen.append(value)
        return False

    with pytest.raises(NoSuchExample):
        find(strategy, keep, settings=settings(max_examples=count, database=None, deadline=None,
                                               verbosity=Verbosity.quiet),
             random=random.Random(seed))
    return seen


def _changed_nodes(old: Any, new: Any) -> int:
    """How many places differ between two JSON values (a replaced subtree counts once)."""
    if isinstance(old, dict) and isinstance(new, dict) and old.keys() == new.keys():
        return sum(_changed_nodes(old[k], new[k]) for k in old)
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return sum(_changed_nodes(a, b) for a, b in zip(old, new, strict=True))
    return 0 if type(old) is type(new) and old == new else 1


# -- it finds the published package's crashes -------------------------------------------------------

def test_fragile_langflow_connector_crash_is_found_and_shrunk_to_a_minimal_json() -> None:
    report = fuzz_connector(FragileLangflowConnector, examples=60, seed=1,
                            properties=RESPONSE_PROPERTIES, max_failures=1)

    assert not report.ok
    text_failures = report.failures_for("extract_text")
    assert text_failures, report.to_dict()
    first = text_failures[0]
    assert first.exception_type in ("KeyError", "IndexError", "TypeError", "AttributeError")
    assert "fragile_connector.py" in first.location
    # Minimal: the shrunk input is tiny and reproduces the same exception.
    assert len(first.input_json) < 40, first.input_json
    with pytest.raises(Exception) as raised:
        FragileLangflowConnector.extract_text(json.loads(first.input_json))
    assert type(raised.value).__name__ == first.exception_type
    assert first.input_json in first.describe() and first.exception_type in first.describe()
    # .get(...) handing back whatever was there: a non-str session id is a failure too.
    session = report.failures_for("extract_session_id")
    assert session and session[0].exception_type == "PropertyViolation"
    assert "expected str or None" in session[0].message
    assert report.failures_for("extract_tool_trace")
    figures = report.properties["extract_session_id"]
    assert figures.examples > 0 and figures.failures == 1 and figures.time_ms >= 0
    assert report.properties["extract_text"].shrink_calls > 0


def test_fragile_langgraph_connector_seeded_from_real_recordings(
        langgraph_cassettes: list[Cassette]) -> None:
    report = fuzz_connector(FragileLangGraphConnector, examples=150, seed=1,
                            cassettes=langgraph_cassettes, shape="langgraph",
                            properties=RESPONSE_PROPERTIES, max_failures=1)

    assert report.real_responses >= 3
    failing = {f.property for f in report.failures}
    assert {"extract_text", "extract_tool_trace", "parse_response"} <= failing, report.to_dict()
    parse = report.failures_for("parse_response")[0]
    assert parse.exception_type != "ConnectorError"  # raw KeyError/TypeError/RuntimeError escape
    assert len(parse.input_json) < 60, parse.input_json
    assert all(len(f.input_json) < 200 for f in report.failures), [f.input_json for f in report.failures]


def test_a_python_repr_returned_as_text_is_a_failure(tmp_path: Path) -> None:
    """str(content) on a list of parts: no exception, but the text is a Python repr (data lost)."""
    corpus = tmp_path / "fuzz-corpus"
    corpus.mkdir()
    parts = {"messages": [{"type": "ai", "content": [{"type": "text", "text": "hi"}]}]}
    (corpus / "extract_text-manual.json").write_text(json.dumps(
        {"property": "extract_text", "input": parts}), encoding="utf-8")

    fragile = fuzz_connector(FragileLangGraphConnector, examples=1, seed=0, corpus_dir=corpus,
                             properties=["extract_text"], max_failures=1)
    ours = fuzz_connector(LangGraphConnector, examples=1, seed=0, corpus_dir=corpus,
                          properties=["extract_text"], max_failures=1)

    [failure] = fragile.failures
    assert failure.source == "corpus" and failure.exception_type == "PropertyViolation"
    assert "repr" in failure.message
    assert ours.ok and ours.properties["extract_text"].corpus == 1


# -- our connectors survive -------------------------------------------------------------------------

def test_langgraph_connector_passes_every_response_property(
        langgraph_cassettes: list[Cassette]) -> None:
    report = fuzz_connector(LangGraphConnector, examples=300, seed=7, cassettes=langgraph_cassettes,
                            properties=RESPONSE_PROPERTIES)

    assert report.ok, "\n".join(f.describe() for f in report.failures)
    assert report.shape == "langgraph" and report.real_responses >= 3
    assert all(report.properties[p].examples == 300 for p in RESPONSE_PROPERTIES)


def test_langflow_connector_passes_every_response_property(
        langflow_cassettes: list[Cassette]) -> None:
    report = fuzz_connector(LangflowConnector, examples=300, seed=7, cassettes=langflow_cassettes,
                            properties=RESPONSE_PROPERTIES)

    assert report.ok, "\n".join(f.describe() for f in report.failures)
    assert report.shape == "langflow" and report.real_responses >= 2
    assert all(report.properties[p].examples == 300 for p in RESPONSE_PROPERTIES)


@pytest.mark.parametrize("cls", [LangflowConnector, LangGraphConnector])
def test_our_connectors_and_http_client_against_a_real_fault_server(
        cls: type[BaseConnector]) -> None:
    report = fuzz_connector(cls, examples=40, seed=11, properties=["http_client"])

    assert report.ok, "\n".join(f.describe() for f in report.failures)
    figures = report.properties["http_client"]
    assert figures.examples == 40 and figures.sweep == 20  # half known-nasty answers, half random


def test_the_http_sweep_tries_known_nasty_answers_first() -> None:
    cases = http_sweep(12)

    assert len(cases) == 12
    assert cases[0].status == 429 and cases[0].headers == {"Retry-After": "1e308"}
    assert {c.status for c in cases} >= {100, 200, 429, 503}
    assert {(c.mode, c.expect) for c in cases} == {("sync", "object"), ("async", "object"),
                                                    ("sync", "json"), ("async", "json")}
    assert any("Content-Encoding" in c.headers for c in http_sweep(40))


# -- the corpus ----------------------------------------------------------------------------------------

def test_a_failure_is_saved_to_the_corpus_and_tried_first_next_time(tmp_path: Path) -> None:
    corpus = tmp_path / "fuzz-corpus"

    first = fuzz_connector(FragileLangflowConnector, examples=50, seed=3, corpus_dir=corpus,
                           properties=["extract_text"], max_failures=1)

    [found] = first.failures
    assert found.source == "search" and found.corpus_file is not None
    assert found.corpus_file.parent == corpus
    assert found.corpus_file.name.startswith("extract_text-")
    assert len(found.corpus_file.stem.split("-")[1]) == 8
    saved = json.loads(found.corpus_file.read_text(encoding="utf-8"))
    assert saved["input"] == json.loads(found.input_json)
    assert saved["exception"].startswith(found.exception_type)

    second = fuzz_connector(FragileLangflowConnector, examples=50, seed=4, corpus_dir=corpus,
                            properties=["extract_text"], max_failures=1)

    [again] = second.failures
    assert again.source == "corpus" and again.corpus_file == found.corpus_file
    assert again.examples_before == 0 and again.input_json == found.input_json
    figures = second.properties["extract_text"]
    # Found straight from the corpus: no random example was needed.
    assert figures.corpus == 1 and figures.examples == 0 and figures.failures == 1
    assert sorted(p.name for p in corpus.iterdir()) == [found.corpus_file.name]

    fixed = fuzz_connector(LangflowConnector, examples=5, seed=4, corpus_dir=corpus,
                           properties=RESPONSE_PROPERTIES)
    assert fixed.ok and all(fixed.properties[p].corpus == 1 for p in RESPONSE_PROPERTIES)


def test_no_corpus_is_written_without_a_corpus_dir(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    report = fuzz_connector(FragileLangflowConnector, examples=10, seed=3,
                            properties=["extract_text"], max_failures=1)
    assert report.failures and report.failures[0].corpus_file is None
    assert not (tmp_path / "fuzz-corpus").exists()


def test_an_http_corpus_entry_replays_against_the_real_server(tmp_path: Path) -> None:
    """A 200 whose body parse_response chokes on (RuntimeError, not a ConnectorError)."""
    corpus = tmp_path / "fuzz-corpus"
    corpus.mkdir()
    case = HttpCase(status=200, headers={"Content-Type": "text/plain"}, body=b'{"detail": "nope"}')
    (corpus / "http_client-manual.json").write_text(json.dumps(
        {"property": "http_client", "input": case.to_json()}), encoding="utf-8")

    fragile = fuzz_connector(FragileLangflowConnector, examples=1, seed=0, corpus_dir=corpus,
                             properties=["http_client"], max_failures=1)
    # The regression entry of a bug this fuzzer found in HttpClient (fixed: Retry-After clamped).
    overflow = HttpCase(status=429, headers={"Retry-After": "1e308"}, body=b"{}")
    (corpus / "http_client-overflow.json").write_text(json.dumps(
        {"property": "http_client", "input": overflow.to_json()}), encoding="utf-8")
    ours = fuzz_connector(LangflowConnector, examples=1, seed=0, corpus_dir=corpus,
                          properties=["http_client"], max_failures=1)

    [failure] = fragile.failures
    assert failure.source == "corpus" and failure.exception_type == "RuntimeError"
    assert "fragile_connector.py" in failure.location
    assert fragile.properties["http_client"].corpus == 1
    assert ours.properties["http_client"].corpus == 2
    assert ours.ok, "\n".join(f.describe() for f in ours.failures)


# -- the strategies --------------------------------------------------------------------------------

def test_mutations_of_real_responses_differ_but_keep_most_structure(
        langgraph_cassettes: list[Cassette]) -> None:
    base = max(response_bases(langgraph_cassettes), key=lambda b: len(json.dumps(b)))
    base_paths = set(slots(base))
    samples = _draw(mutated_responses([base]), 60)

    assert len(samples) >= 50
    changed = [s for s in samples if s != base]
    assert len(changed) >= 0.8 * len(samples)
    kept = [len(base_paths & set(slots(s))) / len(base_paths) for s in changed]
    assert sorted(kept)[len(kept) // 2] >= 0.7  # the median sample keeps 70% of the paths
    assert all(isinstance(s, dict) for s in samples)
    assert base == max(response_bases(langgraph_cassettes), key=lambda b: len(json.dumps(b)))


def test_the_mutation_sweep_changes_one_node_of_a_real_response_at_a_time(
        langgraph_cassettes: list[Cassette]) -> None:
    bases = response_bases(langgraph_cassettes)
    sweep = mutation_sweep(bases, 120)

    assert len(sweep) == 120 and all(isinstance(s, dict) for s in sweep)
    assert len({json.dumps(s, sort_keys=True) for s in sweep}) == 120  # no duplicates
    # The published package's LangGraph crashes, straight from the real run responses:
    assert {"messages": None} in sweep and {"messages": "text"} in sweep
    for mutated in sweep:
        assert any(_changed_nodes(base, mutated) == 1 for base in bases), mutated
    assert mutation_sweep(bases, 5) == sweep[:5]  # deterministic


def test_the_sweep_takes_the_responses_in_turn() -> None:
    # HAND-MADE bases: a thread state with many keys is bigger than a run result, yet the
    # run result's first node is swept within the first few mutations, not after the state's
    state = {f"key{i}": {"deep": i} for i in range(12)}
    run = {"messages": [{"type": "ai", "content": "hi"}]}
    first = mutation_sweep([state, run], 2)
    assert first == [{**state, "key0": None}, {"messages": None}]  # one node of each in turn


def test_shaped_responses_follow_the_framework_skeleton() -> None:
    langflow = _draw(shaped_responses("langflow"), 40)
    langgraph = _draw(shaped_responses("langgraph"), 40)

    assert sum(isinstance(LangflowConnector.extract_text(r), str) for r in langflow) >= 3
    assert sum(isinstance(r.get("messages"), list) and any(
        isinstance(m, dict) and isinstance(m.get("content"), list) for m in r["messages"])
        for r in langgraph) >= 1


def test_reduce_json_cuts_an_input_down_to_what_fails() -> None:
    value = {"a": {"b": [1, 2, {"x": ["keep", "me"], "y": "z" * 1000}]}, "c": None, "d": "e"}

    def fails(candidate: Any) -> bool:
        return "x" in json.dumps(candidate) and '"x": [' in json.dumps(candidate)

    assert reduce_json(value, fails) == {"x": []}


def test_guess_shape_and_non_agent_connectors() -> None:
    assert guess_shape(LangflowConnector) == "langflow"
    assert guess_shape(LangGraphConnector) == "langgraph"
    assert guess_shape(FragileLangflowConnector) == "generic"

    class NotAnAgent(BaseConnector):
        def execute(self, request: Any) -> Any:
            return request

    with pytest.raises(TypeError, match="BaseAgentConnector"):
        fuzz_connector(NotAnAgent, examples=1)
    with pytest.raises(ValueError, match="unknown fuzz properties"):
        fuzz_connector(LangflowConnector, examples=1, properties=["nope"])


# -- certification and the command ---------------------------------------------------------------------

def test_certification_fuzz_suite_figures_and_failures(tmp_path: Path) -> None:
    folder = tmp_path / "langgraph"
    if LANGGRAPH_CASSETTES.is_dir():
        shutil.copytree(LANGGRAPH_CASSETTES, folder)
    else:
        folder.mkdir()

    good = certify("langgraph", folder, suites=["fuzz"], options={"fuzz": {"examples": 20}})
    bad = certify(FragileLangGraphConnector, folder, suites=["fuzz"],
                  options={"fuzz": {"examples": 20, "http_examples": 5, "max_failures": 1}})

    assert [r.id for r in good.results] == [f"fuzz.{p}" for p in PROPERTIES]
    for result in good.results:
        assert result.status == "passed", result.detail
        assert result.figures["examples"] == 20
        assert {"corpus", "failures", "time_ms", "seed"} <= set(result.figures)
    text = next(r for r in bad.results if r.name == "extract_text")
    assert text.status == "failed"
    assert "minimal input: {" in text.detail and "fragile_connector.py" in text.detail
    assert text.figures["failures"] >= 1
    assert list(corpus_dir_for(folder).glob("extract_text-*.json"))
    assert not list(corpus_dir_for(folder).glob("*.tmp"))


def test_main_prints_the_figures_and_each_failure(tmp_path: Path, capsys: Any) -> None:
    folder = tmp_path / "cassettes"
    folder.mkdir()

    code = main("fixtures.fragile_connector:FragileLangflowConnector", folder, 10, 5)

    out = capsys.readouterr().out
    assert code == 1
    for prop in PROPERTIES:
        assert prop[:12] in out
    assert "minimal input: {" in out and "KeyError" in out
    assert list((folder / "fuzz-corpus").glob("extract_text-*.json"))
    assert main("no_such_module_here:Nope", None, 10, 1) == 2
    assert main("langflow", None, 0, 1) == 2


def test_a_connector_that_cannot_be_built_skips_parse_response() -> None:
    class NeedsSomething(LangGraphConnector):
        def __init__(self, *, config: ConnectorConfig, something: str) -> None:
            super().__init__(config=config)

    report = fuzz_connector(NeedsSomething, examples=3, seed=0, properties=["parse_response"])
    assert report.properties["parse_response"].status == "skipped"
    assert report.ok
