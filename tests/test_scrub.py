"""Scrubbing and scanning secrets (unit level). Key-shaped values are built at runtime: no
credential-looking literal lives in this file."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from connector_kit.testkit.recording.scrub import (
    KEY_SHAPES,
    PLACEHOLDER,
    SecretLeakError,
    assert_no_leaks,
    is_auth_header,
    scan_files,
    scan_text,
    scrub_text,
    scrub_value,
)


def shaped(prefix: str, length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    """``prefix`` + ``length`` characters: something shaped like a live credential."""
    return prefix + (alphabet * (length // len(alphabet) + 1))[:length]


SHAPES = {
    "openai": shaped("sk" + "-", 20),
    "openai-project": shaped("sk" + "-proj-", 40),
    "anthropic": shaped("sk" + "-ant-api03-", 40),
    "langsmith": shaped("lsv2" + "_pt_", 32, string.ascii_lowercase + string.digits),
    "bearer": "Bearer " + shaped("eyJ", 30),
    "github": shaped("ghp" + "_", 36),
    "aws": shaped("AK" + "IA", 16, string.ascii_uppercase + string.digits),
}


@pytest.mark.parametrize("value", SHAPES.values(), ids=SHAPES.keys())
def test_key_shapes_catch_the_usual_credentials(value: str) -> None:
    assert KEY_SHAPES.search(f"header: {value}\n")
    assert scrub_text(f"x {value} y", []) == f"x {PLACEHOLDER} y"
    assert scan_text(f"a\nkey={value}\n") == [(2, f"key-shaped value ('{value[:3]}…')")]


@pytest.mark.parametrize("value", [
    "sk-short", "ta" + "sk-" + "manager-for-the-whole-team", "Bearer None", f"Bearer {PLACEHOLDER}",
    "ghp_tooshort", "AKIAlowercaseletters1234", "risk-assessment", "de" + "sk-" + "lamp-with-a-long-name",
    "00000000-0000-4000-8000-000000000001",
], ids=lambda v: v[:20])
def test_key_shapes_leave_ordinary_text_alone(value: str) -> None:
    assert not KEY_SHAPES.search(value)
    assert scrub_text(value, []) == value
    assert scan_text(value) == []


def test_scrub_text_replaces_configured_secrets_longest_first() -> None:
    short, long = "k3y-part", "k3y-part-and-more"
    text = f"a={long}; b={short}; c={long}"
    assert scrub_text(text, [short, long]) == f"a={PLACEHOLDER}; b={PLACEHOLDER}; c={PLACEHOLDER}"


def test_scrub_text_ignores_empty_and_tiny_secrets_and_regex_characters() -> None:
    assert scrub_text("a bc abc", ["", "a", "bc"]) == "a bc abc"  # < 4 chars would shred text
    tricky = "p.a$s+w(o)rd*"
    assert scrub_text(f"[{tricky}] passwordd", [tricky]) == f"[{PLACEHOLDER}] passwordd"


def test_scrub_is_idempotent() -> None:
    secret = "my-own-secret-value"
    once = scrub_text(f"{secret} {SHAPES['openai']}", [secret])
    assert scrub_text(once, [secret]) == once == f"{PLACEHOLDER} {PLACEHOLDER}"


def test_scrub_value_walks_nested_structures() -> None:
    secret = "tenant-key-0042"
    value = {
        "headers": {"x-api-key": secret, "count": 3, "flag": True, "none": None},
        "messages": [{"content": f"my key is {secret}"}, {"content": SHAPES["anthropic"]}],
        secret: "a secret used as a key",
        7: ["plain", 1.5],
    }
    assert scrub_value(value, [secret]) == {
        "headers": {"x-api-key": PLACEHOLDER, "count": 3, "flag": True, "none": None},
        "messages": [{"content": f"my key is {PLACEHOLDER}"}, {"content": PLACEHOLDER}],
        PLACEHOLDER: "a secret used as a key",
        7: ["plain", 1.5],
    }
    # a generator of secrets is consumed once but used for every item
    assert scrub_value([secret, secret], (s for s in [secret])) == [PLACEHOLDER, PLACEHOLDER]


def test_scan_text_reports_line_numbers_never_the_secret() -> None:
    secret = "configured-secret-value"
    found = scan_text(f"ok\n{secret} here\nok\nagain {secret}", [secret, "", "abc"])
    assert found == [(2, "configured secret #1 present"), (4, "configured secret #1 present")]
    assert all(secret not in what for _, what in found)


def test_scan_files_walks_folders_and_scans_every_file(tmp_path: Path) -> None:
    secret = "another-secret-value"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.yaml").write_text(f"x: 1\ny: {secret}\n", encoding="utf-8")
    (tmp_path / "b.json").write_text(f'{{"k": "{SHAPES["github"]}"}}', encoding="utf-8")
    (tmp_path / "c.yml").write_text("clean: true\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text(secret, encoding="utf-8")  # every file is scanned
    leaks = scan_files([tmp_path], [secret])
    assert sorted((leak.path.name, leak.line) for leak in leaks) == [
        ("a.yaml", 2), ("b.json", 1), ("notes.txt", 1)]
    assert all(secret not in str(leak) and SHAPES["github"] not in str(leak) for leak in leaks)
    # a file given directly is scanned whatever its suffix
    assert [leak.path.name for leak in scan_files([tmp_path / "notes.txt"], [secret])] == ["notes.txt"]


def test_assert_no_leaks_raises_with_the_locations(tmp_path: Path) -> None:
    secret = "yet-another-secret"
    clean, dirty = tmp_path / "clean.yaml", tmp_path / "dirty.yaml"
    clean.write_text("body: hello\n", encoding="utf-8")
    dirty.write_text(f"body: hello\necho: {secret}\n", encoding="utf-8")
    assert_no_leaks([clean], [secret])
    with pytest.raises(SecretLeakError, match=r"1 secret\(s\) found in written files:\n  .*dirty.yaml:2: "
                                              r"configured secret #1 present") as caught:
        assert_no_leaks([clean, dirty], [secret])
    assert secret not in str(caught.value)


@pytest.mark.parametrize(("name", "auth"), [
    ("Authorization", True), ("x-api-key", True), ("X-API-KEY", True), ("api-key", True),
    ("Cookie", True), ("set-cookie", True), ("Proxy-Authorization", True), ("x-auth-token", True),
    ("content-type", False), ("x-request-id", False), ("accept", False),
])
def test_auth_headers_are_recognised(name: str, auth: bool) -> None:
    assert is_auth_header(name) is auth


def test_url_encoded_secret_is_scrubbed_and_found() -> None:
    from connector_kit.testkit.recording.scrub import scan_text, scrub_text

    secret = "k3y/with+odd=chars&more"
    url = "http://localhost/run?x-api-key=k3y%2Fwith%2Bodd%3Dchars%26more"
    assert "k3y" not in scrub_text(url, [secret])
    assert scan_text(url, [secret]), "the URL-encoded form must be caught by the scan"
