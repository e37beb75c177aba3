"""docs/contributing-a-connector.md, end to end: record against a loopback server, certify."""

from __future__ import annotations

from pathlib import Path

import pytest
from examples.my_framework.server import serve

from connector_kit.cli import main
from connector_kit.testkit.recording.cassettes import Cassette

REPO = Path(__file__).resolve().parents[1]
CATALOGUE = REPO / "examples" / "my_framework" / "cassettes"
SPEC = "examples.my_framework.connector:MyFrameworkConnector"
FIXED = "examples.my_framework.connector_fixed:FixedMyFrameworkConnector"
KEY = "my-framework-test-key-0001"


pytestmark = pytest.mark.usefixtures("wide_console")  # conftest.py: one line per message


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MYFRAMEWORK_API_KEY", KEY)
    out = tmp_path / "cassettes"
    server = serve(KEY)
    try:
        code = main(["record", "my_framework", "--connector", SPEC, "--catalogue", str(CATALOGUE),
                     "--url", server.url, "--api-key-env", "MYFRAMEWORK_API_KEY",
                     "--out", str(out)])
    finally:
        server.stop()
    assert code == 0
    return out


def test_record_writes_scrubbed_cassettes(recorded: Path) -> None:
    names = sorted(p.stem for p in recorded.glob("*.yaml"))
    assert names == ["multi_turn", "plain_chat", "wrong_key"]
    for path in recorded.glob("*.yaml"):
        assert KEY not in path.read_text()
    plain = Cassette.load(recorded / "plain_chat.yaml")
    assert plain.outcome is not None and plain.outcome.text == "echo (1 message(s)): hello there"
    assert plain.interactions[0].request.headers["authorization"] == ["<SECRET>"]
    wrong = Cassette.load(recorded / "wrong_key.yaml")
    assert wrong.outcome is not None and wrong.outcome.error_type == "ConnectorAuthError"


def test_spec_example_fails_certification_on_a_real_bug(recorded: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["certify", SPEC, "--cassettes", str(recorded), "--report-dir",
                 str(tmp_path / "reports")])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "contract.registration" in out and "replay.plain_chat" in out
    assert "AttributeError" in out  # found by the fuzz suite: .get on a non-dict 'reply'


def test_fixed_example_is_certified_strictly(recorded: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["certify", FIXED, "--cassettes", str(recorded), "--strict", "--report-dir",
                 str(tmp_path / "reports")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "CERTIFIED" in out
    assert (tmp_path / "reports" / "certification.junit.xml").exists()


def test_diff_between_the_two_versions_is_clean_on_well_formed_recordings(
        recorded: Path) -> None:
    assert main(["diff", "--control", SPEC, "--target", FIXED, "--cassettes", str(recorded)]) == 0


