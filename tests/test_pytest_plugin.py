"""The pytest plugin, driven through pytester: record once from a live server, replay offline.

The "live server" is a FaultServer on 127.0.0.1 that answers like LangGraph; each test
starts its own so it can stop it before the replay run (nothing left to answer but the
cassette).
"""

from __future__ import annotations

import re
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
LANGGRAPH_CASSETTES = REPO / "cassettes" / "langgraph"


#: The inner runs need no Hypothesis; its plugin alone costs ~1 s per in-process run.
FAST = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider")


def langgraph_like(request: ReceivedRequest) -> Reply:
    if request.path == "/threads":
        return json_reply({"thread_id": str(uuid.uuid4()), "metadata": request.json()["metadata"]})
    if re.fullmatch(r"/threads/[0-9a-f-]{36}/runs/wait", request.path):
        sent = request.json()["input"]["messages"]
        return json_reply({"messages": [
            *({"type": "human", "content": m["content"], "id": str(uuid.uuid4())} for m in sent),
            {"type": "ai", "content": f"You said: {sent[-1]['content']}", "id": str(uuid.uuid4())}]})
    return json_reply({"detail": "not found"}, status=404)


@pytest.fixture
def live() -> Iterator[FaultServer]:
    server = FaultServer(langgraph_like).start()
    try:
        yield server
    finally:
        server.stop()


CHAT_TEST = """
import pytest

@pytest.mark.connector_kit("langgraph", url={url!r}{extra})
def test_chat(connector_kit):
    outcome = connector_kit.run("hello there")
    assert outcome.ok, outcome
    assert outcome.text == "You said: hello there"
"""


def write_chat_test(pytester: pytest.Pytester, url: str, extra: str = "") -> Path:
    return pytester.makepyfile(test_agent=CHAT_TEST.format(url=url, extra=extra))


def test_record_once_then_replay_offline_with_the_server_stopped(
        pytester: pytest.Pytester, live: FaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "ck-plugin-" + uuid.uuid4().hex
    monkeypatch.setenv("CK_PLUGIN_TEST_KEY", key)
    write_chat_test(pytester, live.url, extra=", api_key_env='CK_PLUGIN_TEST_KEY'")
    cassette = pytester.path / "cassettes" / "test_agent" / "test_chat.yaml"

    pytester.runpytest(*FAST, "--record-mode=once").assert_outcomes(passed=1)
    assert cassette.exists()
    assert [r.path.split("/")[-1] for r in live.requests] == ["threads", "wait"]
    assert live.requests[0].headers["x-api-key"] == key
    assert key not in cassette.read_text(encoding="utf-8")
    data = yaml.safe_load(cassette.read_text(encoding="utf-8"))
    assert data["version"] == 1 and len(data["interactions"]) == 2
    assert data["connector_kit"]["calls"][0]["messages"] == [{"role": "user", "content": "hello there"}]
    assert data["connector_kit"]["metadata"]["framework"] == "langgraph"
    assert data["interactions"][0]["response"]["headers"]["content-type"] == ["application/json"]
    recorded = cassette.read_text(encoding="utf-8")

    live.stop()  # from now on only the cassette can answer
    result = pytester.runpytest(*FAST)  # default mode: none (replay only)
    result.assert_outcomes(passed=1)
    assert cassette.read_text(encoding="utf-8") == recorded  # replay never rewrites
    assert len(live.requests) == 2

    # "once" with an existing cassette replays too
    pytester.runpytest(*FAST, "--record-mode=once").assert_outcomes(passed=1)
    assert cassette.read_text(encoding="utf-8") == recorded


def test_mode_none_without_a_cassette_fails_with_a_clear_message(pytester: pytest.Pytester) -> None:
    write_chat_test(pytester, "http://127.0.0.1:9")
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*CassetteError: No cassette at *test_chat.yaml*"])
    result.stdout.fnmatch_lines(["*--record-mode=once*"])
    assert not (pytester.path / "cassettes" / "test_agent" / "test_chat.yaml").exists()


def test_the_marker_record_mode_beats_the_command_line_as_in_pytest_recording(
        pytester: pytest.Pytester, live: FaultServer) -> None:
    # the marker's record_mode is pytest.mark.vcr(record_mode=...): pytest-recording lets it win
    write_chat_test(pytester, live.url, extra=", record_mode='none'")
    result = pytester.runpytest(*FAST, "--record-mode=once")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*No cassette at *test_chat.yaml*"])
    assert not (pytester.path / "cassettes" / "test_agent" / "test_chat.yaml").exists()


def test_the_marker_record_mode_applies_without_a_command_line_one(
        pytester: pytest.Pytester, live: FaultServer) -> None:
    write_chat_test(pytester, live.url, extra=", record_mode='once'")
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(passed=1)
    assert (pytester.path / "cassettes" / "test_agent" / "test_chat.yaml").exists()


def test_each_test_gets_its_own_cassette(pytester: pytest.Pytester, live: FaultServer) -> None:
    pytester.makepyfile(test_many=f"""
        import pytest

        URL = {live.url!r}

        @pytest.mark.connector_kit("langgraph", url=URL)
        @pytest.mark.parametrize("text", ["hello", "bye", "a b", "a_b", "a/b"])
        def test_param(connector_kit, text):
            assert connector_kit.run(text).text == "You said: " + text
            print("CASSETTE", connector_kit.cassette)

        class TestOne:
            @pytest.mark.connector_kit("langgraph", url=URL)
            def test_same(self, connector_kit):
                assert connector_kit.run("one").text == "You said: one"
                print("CASSETTE", connector_kit.cassette)

        class TestTwo:
            @pytest.mark.connector_kit("langgraph", url=URL)
            def test_same(self, connector_kit):
                assert connector_kit.run("two").text == "You said: two"
                print("CASSETTE", connector_kit.cassette)
    """)
    result = pytester.runpytest(*FAST, "--record-mode=once", "-rP")
    result.assert_outcomes(passed=7)
    used = re.findall(r"^CASSETTE (.+\.yaml)$", result.stdout.str(), flags=re.M)
    assert len(used) == 7
    assert len(set(used)) == 7, used  # no two tests share a cassette (xdist-safe)
    folder = pytester.path / "cassettes" / "test_many"
    assert len(list(folder.glob("*.yaml"))) == 7
    assert not list(folder.glob("*.lock"))

    live.stop()
    pytester.runpytest(*FAST).assert_outcomes(passed=7)  # and each replays its own


CERTIFICATION_TESTS = """
from connector_kit.pytest_plugin import certification_tests

test_langgraph = certification_tests("langgraph", {cassettes!r},
                                     suites=["contract", "replay", "timing"])
"""


def expected_check_ids() -> list[str]:
    scenarios = sorted(p.stem for p in LANGGRAPH_CASSETTES.glob("*.yaml") if p.name != "scenarios.yaml")
    return (["contract.registration", "contract.config_validation", "contract.headers_and_auth",
             "contract.build_request"] + [f"replay.{s}" for s in scenarios] + ["timing.replay_overhead"])


def test_certification_tests_yield_one_passing_test_per_check(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_cert=CERTIFICATION_TESTS.format(cassettes=str(LANGGRAPH_CASSETTES)))
    result = pytester.runpytest(*FAST, "-v")
    expected = expected_check_ids()
    result.assert_outcomes(passed=len(expected))
    for check in expected:
        result.stdout.fnmatch_lines([f"*test_cert.py::test_langgraph?{check}? PASSED*"])


def test_certification_tests_run_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_cert=CERTIFICATION_TESTS.format(cassettes=str(LANGGRAPH_CASSETTES)))
    result = pytester.runpytest(*FAST, "-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=len(expected_check_ids()))
    result.stdout.fnmatch_lines(["*2 workers*"])


def test_a_failing_check_fails_its_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_cert=f"""
        from connector_kit.connectors import LangGraphConnector
        from connector_kit.pytest_plugin import certification_tests

        class Unregistered(LangGraphConnector):
            pass

        test_bad = certification_tests(Unregistered, {str(LANGGRAPH_CASSETTES)!r}, suites=["contract"])
    """)
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*contract.registration: Unregistered is not registered*"])


@pytest.mark.parametrize(("strict", "outcome"), [(False, {"skipped": 1}), (True, {"failed": 1}),
                                                  (None, {"failed": 1})])  # None: the default
def test_a_check_that_did_not_run_is_never_a_passing_test(
        pytester: pytest.Pytester, strict: bool | None, outcome: dict[str, int]) -> None:
    # No cassette folder: the replay suite cannot run, so its one check is "not run". Strict is
    # the default, as for `connector-kit certify`: in CI a check that did no work fails.
    given = "" if strict is None else f", strict={strict}"
    pytester.makepyfile(test_cert=f"""
        from connector_kit.pytest_plugin import certification_tests

        test_bare = certification_tests("langgraph", suites=["replay"]{given})
    """)
    result = pytester.runpytest(*FAST, "-rs")
    result.assert_outcomes(**outcome)
    result.stdout.fnmatch_lines(["*no cassette folder given*"])


def test_the_fixture_needs_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nomark=textwrap.dedent("""
        def test_x(connector_kit):
            pass
    """))
    result = pytester.runpytest(*FAST)
    result.stdout.fnmatch_lines(["*mark it with @pytest.mark.connector_kit*"])
    assert result.ret != 0
