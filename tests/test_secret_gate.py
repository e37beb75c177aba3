"""The secret gate has no holes: every encoding, every file, every logger, every URL.

Fake keys are built at runtime and named as fakes; every hostile file is written by the test.
Before: a key split by a YAML escaped line break, written with ``\\x`` escapes or ``!!binary``,
or in a file named ``*.YAML``/``*.yaml.orig`` passed ``scan``; a key echoed base64- or
hex-encoded was written into cassettes; httpcore's DEBUG log printed raw headers; a key in URL
userinfo or an unknown query parameter stayed in errors, ``exc.url`` and ``check()``.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from connector_kit.connectors import ConnectorConfig, ConnectorError, LangflowConnector
from connector_kit.connectors._secrets import (
    MASK,
    REDACTED_LOGGERS,
    mask_text,
    mask_url,
    redact,
    secret_forms,
)
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply
from connector_kit.testkit.kit import ConnectorTestKit
from connector_kit.testkit.recording.cassettes import Cassette
from connector_kit.testkit.recording.scrub import KEY_SHAPES, PLACEHOLDER, scan_files, scrub_text

SRC = Path(__file__).resolve().parents[1] / "src" / "connector_kit"


def fake_key() -> str:
    return "ck-fake-key-" + uuid.uuid4().hex  # a fake, fresh per test


def shaped_fake() -> str:
    """Shaped like a live OpenAI project key (built at runtime; a fake)."""
    return "sk" + "-proj-" + "Ab3" * 10


def every_form(key: str) -> dict[str, str]:
    raw = key.encode()
    return {"plain": key, "url": quote(key, safe=""), "b64": base64.b64encode(raw).decode(),
            "b64url": base64.urlsafe_b64encode(raw).decode(), "hex": raw.hex(),
            "HEX": raw.hex().upper(),
            "basic": base64.b64encode(b"user:" + raw).decode(),  # inside a longer value
            "basic2": base64.b64encode(b"me:" + raw + b":x").decode()}


# -- forms ------------------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["plain", "url", "b64", "b64url", "hex", "HEX", "basic", "basic2"])
def test_every_form_of_the_secret_is_scrubbed_and_redacted(form: str) -> None:
    key = fake_key() + "/+="  # characters that change under URL and base64 encoding
    encoded = every_form(key)[form]
    assert key not in encoded or form == "plain"
    text = f"echo: {encoded} end"
    assert MASK in redact(text, [key])
    scrubbed = scrub_text(text, [key])
    assert PLACEHOLDER in scrubbed and encoded not in scrubbed


def test_key_shapes_are_found_wherever_they_start() -> None:
    shaped = shaped_fake()
    assert KEY_SHAPES.search("token=x" + shaped)  # glued to the text before it
    assert scrub_text("prefix" + shaped, []) == "prefix" + PLACEHOLDER
    assert not KEY_SHAPES.search("ta" + "sk-" + "manager-for-the-whole-team")  # not random


# -- scan: decoded values and every file ---------------------------------------------------------

def _hidden_files(folder: Path, key: str) -> dict[str, str]:
    """Hand-made YAML files that hide ``key`` from a line-by-line text search."""
    half = len(key) // 2
    escaped = "".join(f"\\x{ord(c):02x}" for c in key)
    files = {
        "escaped-line-break.yaml": f'k: "{key[:half]}\\\n  {key[half:]}"\n',
        "x-escapes.yaml": f'k: "{escaped}"\n',
        "binary.yaml": f"k: !!binary {base64.b64encode(key.encode()).decode()}\n",
        "folded.yaml": f'k: "{key[:half]}\\\n\n  {key[half:]}"\n'.replace("\n\n", "\n"),
        "unicode-escapes.json": '{"k": "' + "".join(f"\\u{ord(c):04x}" for c in key) + '"}',
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return files


def test_scan_decodes_yaml_so_escapes_and_binary_cannot_hide_a_key(tmp_path: Path) -> None:
    key = fake_key()
    files = _hidden_files(tmp_path, key)
    for name in files:
        assert key not in (tmp_path / name).read_text(encoding="utf-8").replace("\n", "")
    found = {leak.path.name for leak in scan_files([tmp_path], [key])}
    assert found == set(files)
    assert all(key not in str(leak) for leak in scan_files([tmp_path], [key]))


def test_scan_decodes_a_key_shape_hidden_by_escapes(tmp_path: Path) -> None:
    shaped = shaped_fake()
    (tmp_path / "a.yaml").write_text('k: "' + "".join(f"\\x{ord(c):02x}" for c in shaped) + '"\n',
                                     encoding="utf-8")
    [leak] = scan_files([tmp_path])
    assert "key-shaped value" in leak.what and "decoded value at k" in leak.what


@pytest.mark.parametrize("name", ["x.YAML", "x.yaml.orig", "notes.txt", "no-suffix", ".hidden.yml"])
def test_scan_looks_at_every_file_whatever_its_name(tmp_path: Path, name: str) -> None:
    key = fake_key()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / name).write_text(f"k: {key}\n", encoding="utf-8")
    assert [leak.path.name for leak in scan_files([tmp_path], [key])] == [name]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_scan_reports_a_fifo_instead_of_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    (tmp_path / "link.yaml").symlink_to("/dev/zero")
    leaks = {leak.path.name: leak.what for leak in scan_files([tmp_path])}
    assert "FIFO" in leaks["pipe.yaml"] and leaks["pipe.yaml"].startswith("not scanned")
    assert "outside" in leaks["link.yaml"]


# -- the recorder scrubs the same forms ----------------------------------------------------------

def _echoing(key_holder: dict[str, str]) -> FaultServer:
    def handle(request: ReceivedRequest) -> Reply:
        key = request.headers.get("x-api-key", "")
        forms = every_form(key)
        return json_reply({"session_id": "s-1", "outputs": [{"outputs": [{"results": {"message": {
            "text": f"b64 {forms['b64']} hex {forms['hex']} basic {forms['basic']}"}}}]}],
            "debug": {"seen": forms}}, headers={"X-Echo": forms["b64url"]})

    return FaultServer(handle)


def test_the_recorder_scrubs_base64_and_hex_echoes(tmp_path: Path) -> None:
    key = fake_key()
    folder = tmp_path / "langflow"
    folder.mkdir()
    (folder / "scenarios.yaml").write_text(
        'framework: langflow\nconnector: langflow\ndefaults:\n  url: "{url}/api/v1/run/f"\n'
        '  config: {api_key: "{api_key}", max_retries: 0}\nscenarios:\n  - name: echo\n'
        '    messages: "hi"\n', encoding="utf-8")
    kit = ConnectorTestKit("langflow", folder)
    with _echoing({}) as server:
        result = kit.record("echo", url=server.url, api_key=key)
    text = result.path.read_text(encoding="utf-8")
    for name, value in every_form(key).items():
        if name == "basic2":
            continue
        assert value not in text, name
    assert scan_files([folder], [key]) == []
    assert PLACEHOLDER in Cassette.load(result.path).interactions[0].response.body


# -- loggers and URLs ----------------------------------------------------------------------------

def test_every_kit_logger_is_redacted() -> None:
    names = set()
    for path in SRC.rglob("*.py"):
        names.update(re.findall(r"getLogger\(\"([^\"]+)\"\)", path.read_text(encoding="utf-8")))
    assert names, "the kit logs somewhere"
    assert names <= set(REDACTED_LOGGERS), names - set(REDACTED_LOGGERS)
    for name in REDACTED_LOGGERS:
        assert logging.getLogger(name).filters, name


def test_httpcore_debug_logs_never_show_the_key(server: FaultServer,
                                                caplog: pytest.LogCaptureFixture) -> None:
    key = fake_key()
    server.script(json_reply({"session_id": "s", "outputs": []},
                             headers={"Location": f"http://x/next?token={key}&other={key}",
                                      "Set-Cookie": "sid=abcdef123456"}))
    caplog.set_level(logging.DEBUG)
    connector = LangflowConnector(config=ConnectorConfig(url=server.url + "/api/v1/run/f",
                                                         api_key=key, max_retries=0))
    try:
        connector.send([{"role": "user", "content": "hi"}], "s")
    finally:
        connector.close()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "httpcore" in {r.name.split(".")[0] for r in caplog.records}
    assert "send_request_headers" in logged and "receive_response_headers" in logged
    for value in every_form(key).values():
        assert value not in logged
    assert "abcdef123456" not in logged  # Set-Cookie value


def test_a_key_in_url_userinfo_or_any_query_parameter_is_masked_everywhere(
        closed_port_url: str, caplog: pytest.LogCaptureFixture) -> None:
    key = fake_key()
    host = closed_port_url.split("://", 1)[1]
    url = f"http://user:{key}@{host}/api/v1/run/f?x={quote(key)}&plain=1"
    caplog.set_level(logging.INFO)
    config = ConnectorConfig(url=url, api_key=None, max_retries=1, jitter=0, timeout=2)
    assert key not in repr(config) and key not in str(config)
    connector = LangflowConnector(config=config)
    try:
        with pytest.raises(ConnectorError) as caught:
            connector.send([{"role": "user", "content": "hi"}], "s")
        health = connector.check()
    finally:
        connector.close()
    shown = [str(caught.value), str(caught.value.url), str(health.error),
             *(r.getMessage() for r in caplog.records)]
    for text in shown:
        assert key not in text and quote(key) not in text, text
    assert f"user:{MASK}@" in str(caught.value.url)
    assert any("retrying" in r.getMessage() for r in caplog.records)


def test_mask_url_and_mask_text_units() -> None:
    key = fake_key()
    assert mask_url(f"https://u:{key}@h/p?api_key=zzz&q=1") == f"https://u:{MASK}@h/p?api_key={MASK}&q=1"
    assert mask_url(f"https://h/p?anything={key}", [key]) == f"https://h/p?anything={MASK}"
    line = f"receive_response_headers.complete return_value=(b'HTTP/1.1', 200, [(b'X-Api-Key', b'{key}')])"
    assert key not in mask_text(line) and MASK in mask_text(line)
    assert len(secret_forms([key])) >= 6 and secret_forms(["abc"]) == []
