"""Offline replay, cassettes, secrets and normalisation of the test kit (issues 5 and 6).

The committed LangGraph cassettes were recorded from a real server by the rig and are only
ever read here. Tests that need a modified cassette copy one into ``tmp_path`` and change
the copy (a hand-made test fixture, said so where it happens), or record a fresh one from a
:class:`FaultServer` (a real HTTP server on 127.0.0.1) into ``tmp_path``.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from connector_kit._safe_yaml import dump_yaml
from connector_kit.connectors import FakeClock, LangGraphConnector
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply
from connector_kit.testkit.kit import ConnectorTestKit
from connector_kit.testkit.recording import episode, interception
from connector_kit.testkit.recording import record as record_module
from connector_kit.testkit.recording.cassettes import Cassette, CassetteError
from connector_kit.testkit.recording.interception import OfflineError
from connector_kit.testkit.recording.normalize import LANGGRAPH
from connector_kit.testkit.recording.replay import ReplayMismatchError, StaleCassetteError, replaying
from connector_kit.testkit.recording.scrub import PLACEHOLDER, SecretLeakError

REPO = Path(__file__).resolve().parents[1]
LANGGRAPH_CASSETTES = REPO / "cassettes" / "langgraph"
LANGFLOW_CASSETTES = REPO / "cassettes" / "langflow"


def recordings(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.yaml") if p.name not in ("scenarios.yaml", "certify.yaml"))


COMMITTED = recordings(LANGGRAPH_CASSETTES)
#: Every committed recording of both frameworks; Langflow's only once they are recorded.
ALL_COMMITTED = [pytest.param(p, id=f"langgraph/{p.stem}") for p in COMMITTED] + (
    [pytest.param(p, id=f"langflow/{p.stem}") for p in recordings(LANGFLOW_CASSETTES)]
    or [pytest.param(None, id="langflow", marks=pytest.mark.skip(
        reason=f"no Langflow recordings in {LANGFLOW_CASSETTES} yet (connector-kit record langflow)"))])


# -- helpers ------------------------------------------------------------------------------------

def fake_langgraph(*, echo_key: bool = False) -> Callable[[ReceivedRequest], Reply]:
    """A LangGraph-shaped server: fresh random ids and timestamps on every call.

    With ``echo_key`` the server repeats the x-api-key header it received in its answers
    (as some misconfigured servers do in debug output).
    """

    def handle(request: ReceivedRequest) -> Reply:
        now = datetime.now(UTC).isoformat()
        key = request.headers.get("x-api-key")
        if request.method == "POST" and request.path == "/threads":
            metadata = dict((request.json() or {}).get("metadata") or {})
            if echo_key:
                metadata["seen_key"] = key
            return json_reply({"thread_id": str(uuid.uuid4()), "created_at": now, "updated_at": now,
                               "metadata": metadata, "status": "idle"})
        if request.method == "POST" and re.fullmatch(r"/threads/[0-9a-f-]{36}/runs/wait", request.path):
            sent = request.json()["input"]["messages"]
            answer = f"You said: {sent[-1]['content']}"
            if echo_key:
                answer += f" (authenticated as {key})"
            history = [{"type": "human", "content": m["content"], "id": str(uuid.uuid4())} for m in sent]
            return json_reply({"messages": [*history, {
                "type": "ai", "content": answer, "id": f"lc_run--{uuid.uuid4()}",
                "response_metadata": {"created_at": now, "run_id": str(uuid.uuid4())},
            }]})
        return json_reply({"detail": f"no route {request.method} {request.path}"}, status=404)

    return handle


def write_catalogue(folder: Path, config: str = "{api_key: \"{api_key}\", max_retries: 0}",
                    scenarios: str = "  - name: plain_chat\n    messages: \"hello there\"\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenarios.yaml").write_text(
        "framework: langgraph\nconnector: langgraph\ndefaults:\n  url: \"{url}\"\n"
        f"  config: {config}\nscenarios:\n{scenarios}", encoding="utf-8")
    return folder


def copy_cassettes(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "langgraph"
    folder.mkdir()
    shutil.copy(LANGGRAPH_CASSETTES / "scenarios.yaml", folder / "scenarios.yaml")
    for name in names:
        shutil.copy(LANGGRAPH_CASSETTES / f"{name}.yaml", folder / f"{name}.yaml")
    return folder


def edit_cassette(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Hand-edit a COPY of a cassette (a test fixture made by hand, never a committed file)."""
    assert LANGGRAPH_CASSETTES not in path.parents
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(dump_yaml(data, sort_keys=False), encoding="utf-8")


class RecordingFakeClock(FakeClock):
    """A FakeClock that remembers every instance, so a test can read the waits of a replay."""

    made: list[RecordingFakeClock] = []

    def __init__(self) -> None:
        super().__init__()
        RecordingFakeClock.made.append(self)


@pytest.fixture
def fake_clocks(monkeypatch: pytest.MonkeyPatch) -> list[RecordingFakeClock]:
    """The FakeClocks the kit creates from now on (replays give every connector one)."""
    made: list[RecordingFakeClock] = []
    monkeypatch.setattr(RecordingFakeClock, "made", made)
    monkeypatch.setattr(episode, "FakeClock", RecordingFakeClock)
    return made


@pytest.fixture
def record_on_fake_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recording waits out retries for real; in these tests it waits on a FakeClock instead."""
    monkeypatch.setattr(record_module, "run_connector",
                        functools.partial(episode.run_connector, fake_clock=True))


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A real listening socket on 127.0.0.1: a connection to it would be visible to accept()."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def assert_never_connected(sock: socket.socket) -> None:
    with pytest.raises(BlockingIOError):  # nothing in the accept queue: nobody connected
        sock.accept()


# -- replay of the committed recordings ---------------------------------------------------------

def test_committed_langgraph_cassettes_exist() -> None:
    assert len(COMMITTED) >= 9, f"expected the rig's LangGraph cassettes in {LANGGRAPH_CASSETTES}"


@pytest.mark.parametrize("path", ALL_COMMITTED)
def test_committed_cassette_replays_and_reproduces(path: Path) -> None:
    kit = ConnectorTestKit(path.parent.name, path.parent)
    cassette = Cassette.load(path)
    result = kit.replay(path.stem)
    assert result.reproduced, result.explain()
    assert result.error is None and result.differences == []
    # every recorded interaction was requested exactly once (strict replay)
    assert len(result.requests) == len(cassette.interactions)
    assert result.outcome is not None and cassette.outcome is not None
    assert result.outcome.compared_fields() == cassette.outcome.compared_fields()
    expected = cassette.scenario["expect"]
    assert (result.outcome.ok if expected == "ok" else result.outcome.error_type == expected)


def test_langgraph_two_step_flow_replays_with_the_recorded_thread_id(listener: socket.socket) -> None:
    kit = ConnectorTestKit("langgraph", LANGGRAPH_CASSETTES)
    result = kit.replay("tool_call")
    assert result.reproduced, result.explain()
    assert [k.path for k in result.requests] == ["/threads", "/threads/<uuid>/runs/wait"]
    assert result.outcome is not None
    assert result.outcome.text == "The answer to 2+3 is 5."
    assert [e["type"] for e in result.outcome.tool_trace or []] == ["tool_use", "tool_result"]
    assert_never_connected(listener)


# -- offline: no socket while replaying ---------------------------------------------------------

# create_connection does not close its socket when connect() raises a non-OSError
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_raw_socket_during_replay_raises_offline_error(listener: socket.socket) -> None:
    port = listener.getsockname()[1]

    class RawSocketConnector(LangGraphConnector):
        def send(self, messages: Any, session_id: str, async_mode: bool = False) -> Any:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return super().send(messages, session_id, async_mode)

    kit = ConnectorTestKit("langgraph", LANGGRAPH_CASSETTES)
    with pytest.raises(OfflineError, match=r"Replay is offline.*127\.0\.0\.1.*connector-kit record"):
        kit.replay("plain_chat", connector_class=RawSocketConnector)
    assert_never_connected(listener)
    # the guard is lifted afterwards: a real connection works again
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    conn, _ = listener.accept()
    conn.close()


def test_an_unrecorded_httpx_call_during_replay_is_a_mismatch(listener: socket.socket) -> None:
    port = listener.getsockname()[1]

    class TelemetryConnector(LangGraphConnector):
        def send(self, messages: Any, session_id: str, async_mode: bool = False) -> Any:
            httpx.get(f"http://127.0.0.1:{port}/telemetry")
            return super().send(messages, session_id, async_mode)

    kit = ConnectorTestKit("langgraph", LANGGRAPH_CASSETTES)
    result = kit.replay("plain_chat", connector_class=TelemetryConnector)
    assert not result.reproduced
    assert isinstance(result.error, ReplayMismatchError)
    message = result.explain()
    assert "No recorded interaction matches GET /telemetry" in message
    assert "Closest recorded request" in message
    assert "method: 'POST' -> 'GET'" in message
    assert_never_connected(listener)


# -- matching ----------------------------------------------------------------------------------

def test_matching_ignores_port_ids_and_timestamps_but_not_a_changed_field() -> None:
    path = LANGGRAPH_CASSETTES / "plain_chat.yaml"
    cassette = Cassette.load(path)
    run_body = json.loads(cassette.interactions[1].request.body or "")

    def send(client: httpx.Client, url_path: str, body: Any) -> httpx.Response:
        # another port, another thread id: both volatile
        return client.post(f"http://127.0.0.1:48123{url_path}", json=body, headers={"x-api-key": "k"})

    with replaying([path], LANGGRAPH), httpx.Client() as client:  # strict: both used
        first = send(client, "/threads", {"metadata": {"session_id": "ck-plain-chat"}})
        assert first.status_code == 200
        second = send(client, f"/threads/{uuid.uuid4()}/runs/wait", run_body)
        assert second.json()["messages"][-1]["type"] == "ai"

    changed = {**run_body, "assistant_id": "other-agent"}
    with pytest.raises(ReplayMismatchError) as caught, replaying([path], LANGGRAPH, strict=False), \
            httpx.Client() as client:
        send(client, "/threads", {"metadata": {"session_id": "ck-plain-chat"}})
        send(client, f"/threads/{uuid.uuid4()}/runs/wait", changed)
    message = str(caught.value)
    assert "Closest recorded request (#2, unused)" in message
    assert "body.assistant_id: 'agent' -> 'other-agent'" in message
    assert [d.path for d in caught.value.differences] == ["body.assistant_id"]


def test_replay_ignores_volatile_fields_a_connector_sends(tmp_path: Path) -> None:
    folder = copy_cassettes(tmp_path, "plain_chat")

    def add_volatile_metadata(data: dict[str, Any]) -> None:
        request = data["interactions"][1]["request"]
        body = json.loads(request["body"])
        body["metadata"] = {"id": "req-7f3a", "request_uuid": "00000000-0000-4000-8000-000000000042",
                            "sent_at": "2000-01-01T00:00:00Z"}
        request["body"] = json.dumps(body)

    # A hand-made fixture: the copy now records a request carrying volatile metadata.
    edit_cassette(folder / "plain_chat.yaml", add_volatile_metadata)

    class StampingConnector(LangGraphConnector):
        def build_request(self, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
            return {**super().build_request(messages, session_id), "metadata": {
                "id": f"req-{uuid.uuid4().hex[:4]}", "request_uuid": str(uuid.uuid4()),
                "sent_at": datetime.now(UTC).isoformat()}}

    result = ConnectorTestKit("langgraph", folder).replay("plain_chat", connector_class=StampingConnector)
    assert result.reproduced, result.explain()


def test_replay_of_a_changed_body_field_shows_closest_request_and_field() -> None:
    class LoudConnector(LangGraphConnector):
        def build_request(self, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
            louder = [{**m, "content": str(m["content"]).upper()} for m in messages]
            return super().build_request(louder, session_id)

    result = ConnectorTestKit("langgraph", LANGGRAPH_CASSETTES).replay(
        "plain_chat", connector_class=LoudConnector)
    assert not result.reproduced
    assert isinstance(result.error, ReplayMismatchError)
    assert [d.path for d in result.error.differences] == ["body.input.messages[0].content"]
    message = result.explain()
    assert "No recorded interaction matches POST /threads/<uuid>/runs/wait" in message
    assert "Closest recorded request (#2, unused)" in message
    assert "body.input.messages[0].content: 'hello there' -> 'HELLO THERE'" in message


def test_a_cassette_with_an_unused_interaction_is_stale(tmp_path: Path) -> None:
    folder = copy_cassettes(tmp_path, "tool_call")
    # A hand-made fixture: the copy holds one more /threads call than the connector makes.
    edit_cassette(folder / "tool_call.yaml",
                  lambda data: data["interactions"].append(data["interactions"][0]))
    kit = ConnectorTestKit("langgraph", folder)

    result = kit.replay("tool_call")
    assert not result.reproduced
    assert isinstance(result.error, StaleCassetteError)
    assert "1 recorded interaction(s) were never requested: #3 POST /threads" in str(result.error)
    # non-strict replay tolerates it (the outcome itself is still reproduced)
    assert kit.replay("tool_call", strict=False).reproduced


# -- retries and rate limits replay in order, on a fake clock ------------------------------------

RETRY_CATALOGUE = ("{api_key: \"{api_key}\", max_retries: 3, jitter: 0, timeout: 120}",
                   "  - name: flaky\n    messages: \"hello\"\n"
                   "  - name: rate_limited\n    messages: \"hello\"\n")


@pytest.mark.parametrize(("scenario", "script", "waits"), [
    ("flaky", [Reply(status=503), Reply(status=503)], [0.5, 1.0]),
    ("rate_limited", [json_reply({"detail": "slow down"}, status=429, headers={"Retry-After": "30"})],
     [30.0]),
])
@pytest.mark.usefixtures("record_on_fake_clock")
def test_retry_sequences_replay_in_order_without_waiting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_clocks: list[RecordingFakeClock],
        scenario: str, script: list[Reply], waits: list[float]) -> None:
    folder = write_catalogue(tmp_path / "langgraph", *RETRY_CATALOGUE)
    kit = ConnectorTestKit("langgraph", folder)
    with FaultServer(fake_langgraph()) as server:
        server.script(*script)
        recorded = kit.record(scenario, url=server.url)
        hits = [r.path for r in server.requests]
    assert recorded.outcome.ok, recorded.outcome
    assert hits[:-1] == ["/threads"] * (len(script) + 1) and hits[-1].endswith("/runs/wait")
    cassette = Cassette.load(recorded.path)
    assert [i.response.status for i in cassette.interactions] == [s.status for s in script] + [200, 200]
    assert cassette.stats[0]["waits"] == waits
    if scenario == "rate_limited":
        assert cassette.interactions[0].response.headers["retry-after"] == ["30"]

    # The server is stopped now: the replay is answered by the cassette alone, in order,
    # and the retry waits are made on the replay's FakeClock, never with time.sleep.
    def refuse(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) during replay")

    monkeypatch.setattr(time, "sleep", refuse)
    fake_clocks.clear()
    result = kit.replay(scenario)
    assert result.reproduced, result.explain()
    assert result.outcome is not None and result.outcome.text == "You said: hello"
    assert len(result.requests) == len(cassette.interactions)
    assert [c.sleeps for c in fake_clocks] == [waits]


# -- cassette format ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ALL_COMMITTED)
def test_cassette_round_trip_is_byte_identical(path: Path, tmp_path: Path) -> None:
    cassette = Cassette.load(path)
    assert cassette.dumps() == path.read_text(encoding="utf-8")
    copy = cassette.save(tmp_path / path.name)
    again = Cassette.load(copy)
    assert again.to_dict() == cassette.to_dict()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind


def test_vcrpy_loads_and_replays_a_kit_cassette(tmp_path: Path) -> None:
    import vcr
    from vcr.persisters.filesystem import FilesystemPersister
    from vcr.serializers import yamlserializer

    path = LANGGRAPH_CASSETTES / "tool_call.yaml"
    requests, responses = FilesystemPersister.load_cassette(str(path), yamlserializer)
    assert [(r.method, r.path) for r in requests] == [
        ("POST", "/threads"), ("POST", "/threads/00000000-0000-4000-8000-000000000001/runs/wait")]
    assert [r["status"]["code"] for r in responses] == [200, 200]

    # pytest-recording layout: <test dir>/cassettes/<module>/<test>.yaml
    layout = tmp_path / "cassettes" / "test_module" / "test_tool_call.yaml"
    layout.parent.mkdir(parents=True)
    shutil.copy(path, layout)
    with vcr.use_cassette(str(layout), record_mode="none", match_on=["method", "path"]) as played:
        thread = httpx.post("http://localhost/threads", json={"metadata": {}}).json()
        run = httpx.post(f"http://localhost/threads/{thread['thread_id']}/runs/wait", json={}).json()
        assert played.all_played
    assert run["messages"][-1]["content"] == "The answer to 2+3 is 5."


def test_a_malicious_yaml_cassette_is_refused_by_the_safe_loader(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.yaml"
    evil.write_text(
        f"version: 1\ninteractions: !!python/object/apply:os.mkdir [{str(marker)!r}]\n",
        encoding="utf-8")
    with pytest.raises(CassetteError, match="invalid YAML"):
        Cassette.load(evil)
    assert not marker.exists()


def test_a_missing_cassette_says_how_to_record_it(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match=r"No cassette at .*connector-kit record"):
        Cassette.load(tmp_path / "nope.yaml")


# -- secrets ------------------------------------------------------------------------------------

def test_recording_scrubs_the_key_from_requests_and_echoing_responses(tmp_path: Path) -> None:
    key = "ck-live-" + uuid.uuid4().hex  # built at runtime, never a literal
    folder = write_catalogue(tmp_path / "langgraph")
    kit = ConnectorTestKit("langgraph", folder)
    with FaultServer(fake_langgraph(echo_key=True)) as server:
        result = kit.record("plain_chat", url=server.url, api_key=key)
        assert server.requests[0].headers["x-api-key"] == key  # the real key was sent...
    text = result.path.read_text(encoding="utf-8")
    assert key not in text  # ...and is nowhere in the file
    cassette = Cassette.load(result.path)
    assert all(i.request.headers["x-api-key"] == [PLACEHOLDER] for i in cassette.interactions)
    assert json.loads(cassette.interactions[0].response.body)["metadata"]["seen_key"] == PLACEHOLDER
    assert cassette.outcome is not None and cassette.outcome.text == (
        f"You said: hello there (authenticated as {PLACEHOLDER})")
    assert cassette.scenario["config"]["api_key"] == PLACEHOLDER
    # the scrubbed cassette still replays
    assert kit.replay("plain_chat").reproduced


def test_a_secret_that_slips_past_the_scrubber_fails_the_recording(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record_module, "scrub_text", lambda text, secrets: text)
    monkeypatch.setattr(record_module, "scrub_value", lambda value, secrets: value)
    monkeypatch.setattr(interception.Scrubber, "__call__", lambda self, text: text)
    unpatched = httpx.HTTPTransport.handle_request
    key = "ck-live-" + uuid.uuid4().hex
    folder = write_catalogue(tmp_path / "langgraph")
    kit = ConnectorTestKit("langgraph", folder)
    with FaultServer(fake_langgraph(echo_key=True)) as server, \
            pytest.raises(SecretLeakError, match="configured secret #") as caught:
        kit.record("plain_chat", url=server.url, api_key=key, out_dir=tmp_path / "out")
    assert key not in str(caught.value)  # the report never repeats the secret
    # the refused save left vcrpy's patches removed (an exception in its __exit__ would not)
    assert httpx.HTTPTransport.handle_request is unpatched
    assert not (tmp_path / "out").exists()  # nothing was written: vcrpy's save was refused


# -- normalisation -------------------------------------------------------------------------------

def test_re_recording_gives_an_identical_cassette_except_recorded_at(tmp_path: Path) -> None:
    folder = write_catalogue(
        tmp_path / "langgraph",
        scenarios="  - name: chat\n    messages: [{role: user, content: hi}, "
                  "{role: assistant, content: 'You said: hi'}, {role: user, content: again}]\n")
    kit = ConnectorTestKit("langgraph", folder)
    paths = []
    for run in ("a", "b"):  # two servers: different ports, ids and timestamps
        with FaultServer(fake_langgraph()) as server:
            paths.append(kit.record("chat", url=server.url, out_dir=tmp_path / run).path)
    first, second = (yaml.safe_load(p.read_text(encoding="utf-8")) for p in paths)
    for data in (first, second):
        assert data["connector_kit"]["metadata"].pop("recorded_at")
    assert first == second
    text = re.sub(r"recorded_at: .*\n", "", paths[0].read_text(encoding="utf-8"))
    assert "127.0.0.1" not in text
    timestamps = re.findall(r"\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:?\d\d)?", text)
    assert timestamps and set(timestamps) == {"2000-01-01T00:00:00Z"}
    # relations survive: the thread id answered by POST /threads is the one in the run's path
    cassette = Cassette.load(paths[0])
    thread_id = json.loads(cassette.interactions[0].response.body)["thread_id"]
    assert cassette.interactions[1].request.uri == f"http://localhost/threads/{thread_id}/runs/wait"
    assert thread_id == "00000000-0000-4000-8000-000000000001"


# -- a failed recording never destroys a good one ------------------------------------------------

def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_recording_against_a_dead_server_leaves_the_folder_byte_for_byte_unchanged(
        tmp_path: Path) -> None:
    folder = copy_cassettes(tmp_path, "plain_chat", "wrong_key")
    before = _snapshot(folder)
    with FaultServer(fake_langgraph()) as server:
        dead = server.url  # a port nobody listens on once the server stopped
    kit = ConnectorTestKit("langgraph", folder)
    result = kit.record("plain_chat", url=dead, api_key="ck-fake-key-for-tests")
    assert not result.committed and not result.expectation_met
    assert result.outcome.error_type == "ConnectorConnectionError"
    assert _snapshot(folder) == before
    assert result.kept_at is not None and folder not in result.kept_at.parents
    assert "left untouched" in result.problem and str(result.kept_at) in result.problem
    kept = Cassette.load(result.kept_at)
    assert kept.interactions == [] and kept.outcome is not None and not kept.outcome.ok


def test_an_outcome_other_than_expected_is_kept_aside_not_committed(tmp_path: Path) -> None:
    folder = copy_cassettes(tmp_path, "wrong_key")
    before = _snapshot(folder)
    kit = ConnectorTestKit("langgraph", folder)
    with FaultServer(fake_langgraph()) as server:  # accepts any key: wrong_key gets "ok"
        result = kit.record("wrong_key", url=server.url)
    assert result.outcome.ok and not result.committed
    assert _snapshot(folder) == before
    assert result.kept_at is not None
    assert len(Cassette.load(result.kept_at).interactions) == 2  # the attempt, for a look
