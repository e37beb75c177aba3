"""The plugin is pytest-recording underneath: several calls per test, every record mode,
--block-network, xdist, errors raised as live, failed recordings that write nothing.

Driven through pytester against a FaultServer on 127.0.0.1 answering like LangGraph.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpcore  # noqa: F401  (see below)
import pytest
import yaml

from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply
from connector_kit.testkit.kit import ConnectorTestKit

pytest_plugins = ["pytester"]
# httpcore is imported here, before any inner pytester run: an inner run's new modules are
# dropped after it, and an httpcore imported anew would no longer be the one httpx maps its
# errors from (a raw httpcore.ConnectError instead of httpx's).

FAST = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider")


def langgraph_like(request: ReceivedRequest) -> Reply:
    if request.path == "/threads":
        return json_reply({"thread_id": str(uuid.uuid4()), "metadata": request.json()["metadata"]})
    if re.fullmatch(r"/threads/[0-9a-f-]{36}/runs/wait", request.path):
        sent = request.json()["input"]["messages"]
        if sent[-1]["content"] == "boom":
            return json_reply({"detail": "the graph exploded"}, status=404)
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


SEVERAL_CALLS = """
import pytest
from connector_kit.connectors import ConnectorHTTPError

URL = {url!r}

@pytest.mark.connector_kit("langgraph", url=URL, max_retries=0)
def test_conversation(connector_kit):
    assert connector_kit.run("hello").text == "You said: hello"
    assert connector_kit.run({second!r}, session_id="s-2").text == "You said: " + {second!r}
    with pytest.raises(ConnectorHTTPError) as caught:  # raised as it is live
        connector_kit.run("boom")
    assert caught.value.status_code == 404
{extra}
"""


def write_calls(pytester: pytest.Pytester, url: str, second: str = "how are you?",
                extra: str = "") -> Path:
    return pytester.makepyfile(test_calls=SEVERAL_CALLS.format(url=url, second=second, extra=extra))


def cassette_of(pytester: pytest.Pytester) -> Path:
    return pytester.path / "cassettes" / "test_calls" / "test_conversation.yaml"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_several_calls_record_then_replay_with_the_network_blocked(
        pytester: pytest.Pytester, live: FaultServer) -> None:
    write_calls(pytester, live.url)
    pytester.runpytest(*FAST, "--record-mode=once").assert_outcomes(passed=1)
    data = yaml.safe_load(cassette_of(pytester).read_text(encoding="utf-8"))
    assert len(data["interactions"]) == 6  # three calls, two requests each
    calls = data["connector_kit"]["calls"]
    assert [c["messages"][-1]["content"] for c in calls] == ["hello", "how are you?", "boom"]
    assert calls[1]["session_id"] == "s-2"
    assert calls[2]["outcome"]["error_type"] == "ConnectorHTTPError"
    assert data["interactions"][0]["response"]["headers"]["content-type"] == ["application/json"]
    recorded = cassette_of(pytester).read_bytes()

    live.stop()
    result = pytester.runpytest(*FAST, "--block-network")  # record mode none: replay only
    result.assert_outcomes(passed=1)
    assert cassette_of(pytester).read_bytes() == recorded


def test_replay_with_other_inputs_fails_naming_the_difference(
        pytester: pytest.Pytester, live: FaultServer) -> None:
    write_calls(pytester, live.url)
    pytester.runpytest(*FAST, "--record-mode=once").assert_outcomes(passed=1)
    live.stop()
    write_calls(pytester, live.url, second="how old are you?")
    result = pytester.runpytest(*FAST, "--block-network")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*ReplayMismatchError: No recorded interaction matches POST /threads/*/runs/wait*",
        "*body.input.messages?0?.content: 'how are you?' -> 'how old are you?'*"])


def test_new_episodes_appends_a_new_call(pytester: pytest.Pytester, live: FaultServer) -> None:
    write_calls(pytester, live.url)
    pytester.runpytest(*FAST, "--record-mode=once").assert_outcomes(passed=1)
    before = yaml.safe_load(cassette_of(pytester).read_text(encoding="utf-8"))
    write_calls(pytester, live.url, extra='    assert connector_kit.run("bye").text == "You said: bye"\n')
    # once: the cassette exists, the new call cannot be recorded
    pytester.runpytest(*FAST, "--record-mode=once").assert_outcomes(failed=1)
    hits = len(live.requests)
    pytester.runpytest(*FAST, "--record-mode=new_episodes").assert_outcomes(passed=1)
    assert len(live.requests) == hits + 2  # only the new call went to the server
    after = yaml.safe_load(cassette_of(pytester).read_text(encoding="utf-8"))
    assert after["interactions"][:6] == before["interactions"]
    assert len(after["interactions"]) == 8
    assert [c["messages"][-1]["content"] for c in after["connector_kit"]["calls"]] == [
        "hello", "how are you?", "boom", "bye"]
    live.stop()
    pytester.runpytest(*FAST, "--block-network").assert_outcomes(passed=1)


def test_record_and_replay_under_xdist(pytester: pytest.Pytester, live: FaultServer) -> None:
    pytester.makepyfile(test_many=f"""
        import pytest

        @pytest.mark.connector_kit("langgraph", url={live.url!r}, max_retries=0)
        @pytest.mark.parametrize("n", range(6))
        def test_n(connector_kit, n):
            assert connector_kit.run(f"one {{n}}").text == f"You said: one {{n}}"
            assert connector_kit.run(f"two {{n}}").text == f"You said: two {{n}}"
    """)
    pytester.runpytest(*FAST, "-p", "xdist", "-n", "2", "--record-mode=once").assert_outcomes(passed=6)
    folder = pytester.path / "cassettes" / "test_many"
    assert len(list(folder.glob("*.yaml"))) == 6
    assert not [p for p in folder.iterdir() if not p.name.endswith(".yaml")]  # no lock files
    live.stop()
    pytester.runpytest(*FAST, "-p", "xdist", "-n", "2", "--block-network").assert_outcomes(passed=6)


def test_all_modes_against_a_dead_server_leave_the_folder_byte_for_byte_unchanged(
        pytester: pytest.Pytester, live: FaultServer) -> None:
    write_calls(pytester, live.url)
    pytester.runpytest(*FAST, "--record-mode=once").assert_outcomes(passed=1)
    live.stop()  # the server is down from now on
    pytester.makepyfile(test_new=f"""
        import pytest

        @pytest.mark.connector_kit("langgraph", url={live.url!r}, max_retries=0)
        def test_fresh(connector_kit):
            connector_kit.run("hello")
    """)
    folder = pytester.path / "cassettes"
    before = snapshot(folder)
    for mode in ("once", "new_episodes", "all"):
        result = pytester.runpytest(*FAST, f"--record-mode={mode}", "test_new.py")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*ConnectorConnectionError*"])
        assert snapshot(folder) == before, mode
    # re-recording the good cassette against the dead server fails at its first call
    pytester.runpytest(*FAST, "--record-mode=all", "test_calls.py").assert_outcomes(failed=1)
    assert snapshot(folder) == before
    # rewrite deletes the cassette first (pytest-recording): the failed test puts it back
    result = pytester.runpytest(*FAST, "--record-mode=rewrite", "test_calls.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*was put back as it was before the run*"])
    assert snapshot(folder) == before
    assert not (folder / "test_new").exists()


def test_a_failing_test_saves_nothing_and_says_where_its_recording_was_kept(
        pytester: pytest.Pytester, live: FaultServer) -> None:
    pytester.makepyfile(test_fails=f"""
        import pytest

        @pytest.mark.connector_kit("langgraph", url={live.url!r}, max_retries=0)
        def test_wrong(connector_kit):
            assert connector_kit.run("hello").text == "something else"
    """)
    result = pytester.runpytest(*FAST, "--record-mode=once")
    result.assert_outcomes(failed=1)
    assert len(live.requests) == 2  # it did record...
    assert not (pytester.path / "cassettes" / "test_fails" / "test_wrong.yaml").exists()  # ...not here
    kept = re.search(r"what it recorded is kept at (\S+\.yaml)", result.stdout.str())
    assert kept, result.stdout.str()
    assert len(yaml.safe_load(Path(kept.group(1)).read_text(encoding="utf-8"))["interactions"]) == 2


def test_the_plugin_imports_without_fcntl() -> None:
    code = ("import sys; sys.modules['fcntl'] = None\n"  # as on Windows: no fcntl module
            "import connector_kit.pytest_plugin as plugin\n"
            "assert plugin.connector_kit and plugin.certification_tests\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONWARNINGS": "error::ImportWarning"})
    assert done.returncode == 0, done.stderr


# -- both directions: a cassette recorded by pytest-recording, used by the kit -------------------

PLAIN_VCR_TEST = """
import pytest
from connector_kit.connectors import ConnectorConfig, LangGraphConnector

@pytest.mark.vcr
def test_tool_call():
    connector = LangGraphConnector(config=ConnectorConfig(url={url!r}, max_retries=0))
    with connector:
        response = connector.send([{{"role": "user", "content": "what is 2+3?"}}], "plain-session")
    assert LangGraphConnector.extract_text(response) == "You said: what is 2+3?"
"""


def test_the_kit_replays_certifies_and_diffs_a_pytest_recording_cassette(
        pytester: pytest.Pytester, live: FaultServer) -> None:
    pytester.makepyfile(test_plain=PLAIN_VCR_TEST.format(url=live.url))
    pytester.runpytest(*FAST, "--record-mode=once").assert_outcomes(passed=1)
    folder = pytester.path / "cassettes" / "test_plain"
    cassette = folder / "test_tool_call.yaml"
    data = yaml.safe_load(cassette.read_text(encoding="utf-8"))
    assert "connector_kit" not in data and len(data["interactions"]) == 2  # plain pytest-recording
    live.stop()

    # scenarios.yaml names the cassette's messages and session id (url: the recorded origin)
    (folder / "scenarios.yaml").write_text(
        "framework: langgraph\nconnector: langgraph\nscenarios:\n"
        "  - name: test_tool_call\n    messages: \"what is 2+3?\"\n    session_id: plain-session\n"
        "    config: {max_retries: 0}\n", encoding="utf-8")
    kit = ConnectorTestKit("langgraph", folder)
    result = kit.replay("test_tool_call")
    assert result.reproduced, result.explain()
    assert result.outcome_source == "first replay"
    assert "not recorded but taken from a first replay" in result.explain()
    assert result.outcome is not None and result.outcome.text == "You said: what is 2+3?"

    report = kit.certify(suites=["replay"])
    assert [r.status for r in report.results] == ["passed"]
    assert "first replay" in report.results[0].detail

    from connector_kit.testkit.diff.connectors import diff_connectors

    compared = diff_connectors("langgraph", "langgraph", folder)
    assert compared.ok and [s.request_count for s in compared.scenarios] == [(2, 2)]


# -- pytest-recording's own knobs ------------------------------------------------------------------

def test_vcr_cassette_dir_default_cassette_and_vcr_config_apply(
        pytester: pytest.Pytester, live: FaultServer) -> None:
    pytester.makeconftest("""
        import pytest

        @pytest.fixture
        def vcr_cassette_dir(request):
            return str(request.config.rootpath / "recordings")

        @pytest.fixture
        def vcr_config():
            return {"filter_headers": [("user-agent", "test-suite")]}
    """)
    pytester.makepyfile(test_knobs=f"""
        import pytest

        @pytest.mark.default_cassette("shared-name")
        @pytest.mark.connector_kit("langgraph", url={live.url!r}, max_retries=0)
        def test_one(connector_kit):
            assert connector_kit.run("hello").text == "You said: hello"
    """)
    pytester.runpytest(*FAST, "--record-mode=once").assert_outcomes(passed=1)
    cassette = pytester.path / "recordings" / "shared-name.yaml"
    data = yaml.safe_load(cassette.read_text(encoding="utf-8"))
    assert {tuple(i["request"]["headers"]["user-agent"]) for i in data["interactions"]} == {("test-suite",)}
    live.stop()
    pytester.runpytest(*FAST, "--block-network").assert_outcomes(passed=1)


def test_own_before_record_hooks_are_refused(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        import pytest

        @pytest.fixture
        def vcr_config():
            return {"before_record_response": lambda response: response}
    """)
    pytester.makepyfile(test_hook="""
        import pytest

        @pytest.mark.connector_kit("langgraph", url="http://127.0.0.1:9")
        def test_x(connector_kit):
            pass
    """)
    result = pytester.runpytest(*FAST)
    result.stdout.fnmatch_lines(["*before_record_response*replace the kit's scrubbing*"])
    assert result.ret != 0


def test_disable_recording_calls_live_and_writes_nothing(
        pytester: pytest.Pytester, live: FaultServer) -> None:
    write_calls(pytester, live.url)
    pytester.runpytest(*FAST, "--disable-recording").assert_outcomes(passed=1)
    assert len(live.requests) == 6
    assert not (pytester.path / "cassettes").exists()


def test_rewrite_records_the_cassette_anew(pytester: pytest.Pytester, live: FaultServer) -> None:
    write_calls(pytester, live.url)
    pytester.runpytest(*FAST, "--record-mode=once").assert_outcomes(passed=1)
    first = yaml.safe_load(cassette_of(pytester).read_text(encoding="utf-8"))
    write_calls(pytester, live.url, second="something new")
    pytester.runpytest(*FAST, "--record-mode=rewrite").assert_outcomes(passed=1)
    again = yaml.safe_load(cassette_of(pytester).read_text(encoding="utf-8"))
    assert len(again["interactions"]) == len(first["interactions"]) == 6
    assert [c["messages"][-1]["content"] for c in again["connector_kit"]["calls"]] == [
        "hello", "something new", "boom"]


def test_allowed_hosts_lets_a_blocked_replay_reach_an_allowed_host(
        pytester: pytest.Pytester, live: FaultServer) -> None:
    pytester.makepyfile(test_hosts=f"""
        import socket
        import pytest

        @pytest.mark.connector_kit("langgraph", url={live.url!r}, max_retries=0)
        def test_side_call(connector_kit):
            assert connector_kit.run("hello").text == "You said: hello"
            socket.create_connection(("127.0.0.1", {live.port}), timeout=2).close()
    """)
    pytester.runpytest(*FAST, "--record-mode=once").assert_outcomes(passed=1)
    blocked = pytester.runpytest(*FAST, "--block-network")
    blocked.assert_outcomes(failed=1)
    pytester.runpytest(*FAST, "--block-network", "--allowed-hosts=127.0.0.1").assert_outcomes(passed=1)
