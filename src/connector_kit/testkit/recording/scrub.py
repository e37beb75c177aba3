"""Secrets never reach a file: scrub before writing, scan after writing, fail on a hit."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from ..._safe_yaml import MAX_BYTES, UnsafeFileError, parse_yaml, read_bytes
from ...connectors._secrets import AUTH_HEADERS, MIN_SECRET, secret_forms
from ...connectors.exceptions import ConnectorKitError

#: What a leaked credential usually looks like, even when its value is not known here.
#: At the start of a token any body counts; glued to the text before it ("xsk-..."), the
#: body must look random (a digit or a capital), so "task-manager-..." is not a key.
_ANCHORED = (r"(?<![A-Za-z0-9])(?:sk-[A-Za-z0-9_-]{16,}|lsv2_[A-Za-z0-9_]{16,}|"
             r"Bearer [A-Za-z0-9._-]{20,}|ghp_[A-Za-z0-9]{30,}|AKIA[0-9A-Z]{16})")
_GLUED = (r"(?:sk-(?=[A-Za-z0-9_-]*[A-Z0-9])[A-Za-z0-9_-]{16,}|"
          r"lsv2_(?=[A-Za-z0-9_]*[A-Z0-9])[A-Za-z0-9_]{16,}|ghp_[A-Za-z0-9]{30,}|"
          r"AKIA[0-9A-Z]{16}(?![0-9A-Z]))")
KEY_SHAPES = re.compile(f"({_ANCHORED}|{_GLUED})")
PLACEHOLDER = "<SECRET>"
#: Files larger than this are not read by the scan; it reports them instead.
SCAN_MAX_BYTES = MAX_BYTES


class SecretLeakError(ConnectorKitError):
    """A secret value, or something shaped like a live key, was found in a written file."""


def is_auth_header(name: str) -> bool:
    return name.lower() in AUTH_HEADERS


def _forms(secrets: Iterable[str]) -> list[str]:
    """Every form of every secret the recorder removes and the scan looks for (plain,
    URL-encoded, base64 at any alignment, hex): ``connectors._secrets.secret_forms``."""
    return secret_forms(secrets)


def _labelled(secrets: Iterable[str]) -> list[tuple[str, str]]:
    """(form, label) pairs, longest form first; the label never holds the secret."""
    labelled: dict[str, str] = {}
    for index, secret in enumerate(s for s in secrets if s and len(s) >= MIN_SECRET):
        url = {quote(secret, safe=""), quote_plus(secret)}
        hexed = {secret.encode().hex(), secret.encode().hex().upper()}
        for form in secret_forms([secret]):
            kind = ("" if form == secret else " (URL-encoded)" if form in url
                    else " (hex)" if form in hexed else " (base64)")
            labelled.setdefault(form, f"configured secret #{index + 1} present{kind}")
    return sorted(labelled.items(), key=lambda item: len(item[0]), reverse=True)


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    return _replace_forms(text, _forms(secrets))


def _replace_forms(text: str, forms: Iterable[str]) -> str:
    for secret in forms:
        text = text.replace(secret, PLACEHOLDER)
    return KEY_SHAPES.sub(PLACEHOLDER, text)


class Scrubber:
    """``scrub_text`` for one fixed set of secrets, their forms worked out once: the record
    and replay hooks scrub every header and body of every request with the same secrets."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.forms = tuple(_forms(secrets))

    def __call__(self, text: str) -> str:
        return _replace_forms(text, self.forms)


def scrub_value(value: Any, secrets: Iterable[str]) -> Any:
    """Every string inside ``value`` with the secrets and key-shaped strings replaced."""
    secrets = list(secrets)
    if isinstance(value, dict):
        return {scrub_text(str(k), secrets) if isinstance(k, str) else k: scrub_value(v, secrets)
                for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(item, secrets) for item in value]
    if isinstance(value, str):
        return scrub_text(value, secrets)
    return value


@dataclass
class Leak:
    """A finding of the scan: a secret at a line, or (``unscanned``) a file it could not read."""

    path: Path
    line: int
    what: str  # never the secret itself
    #: The file could not be read or decoded: no secret was seen in it, but it is not clean
    #: either (the gate does not pass what it could not look at).
    unscanned: bool = False

    def __str__(self) -> str:
        return f"{self.path}: {self.what}" if self.unscanned else f"{self.path}:{self.line}: {self.what}"


@dataclass
class ScanResult:
    """What a scan looked at and found: the file count shows the scan did work."""

    files: int
    findings: list[Leak]

    @property
    def leaks(self) -> list[Leak]:
        """Secrets (or key-shaped values) found."""
        return [f for f in self.findings if not f.unscanned]

    @property
    def unscanned(self) -> list[Leak]:
        """Files that could not be read or decoded."""
        return [f for f in self.findings if f.unscanned]


def scan_text(text: str, secrets: Iterable[str] = ()) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    values = _labelled(secrets)
    for number, line in enumerate(text.splitlines(), 1):
        for form, label in values:
            if form in line:
                found.append((number, label))
        for match in KEY_SHAPES.finditer(line):
            found.append((number, f"key-shaped value ('{match.group(0)[:3]}…')"))
    return found


def _scan_decoded(value: Any, secrets: list[str]) -> list[str]:
    """Findings in every string (and ``!!binary`` value) of a decoded YAML/JSON document:
    escapes, folded lines and binary tags cannot hide a key from this."""
    found: list[str] = []
    values = _labelled(secrets)
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                stack.append((key, f"{where} (a key)"))
                stack.append((child, f"{where}.{key}" if where else str(key)))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, (str, bytes)):
            text = item if isinstance(item, str) else item.decode("latin-1")
            place = where or "the document"
            found += [f"{label} in the decoded value at {place}" for form, label in values
                      if form in text]
            found += [f"key-shaped value ('{m.group(0)[:3]}…') in the decoded value at {place}"
                      for m in KEY_SHAPES.finditer(text)]
    return found


def _decode(text: str, source: str) -> Any:
    try:
        return parse_yaml(text, source)
    except UnsafeFileError:
        pass
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def scan_file(file: Path, secrets: Iterable[str] = (), *, root: Path | None = None) -> list[Leak]:
    """Leaks in one file: its raw text, and every value once decoded as YAML or JSON.

    A file that cannot be read safely (a FIFO, a device, a symlink out of ``root``, too
    large) is itself a finding: the gate does not pass what it could not look at.
    """
    secrets = list(secrets)
    try:
        raw = read_bytes(file, root=root or file.parent, max_bytes=SCAN_MAX_BYTES)
    except (UnsafeFileError, OSError) as exc:
        return [Leak(file, 0, f"not scanned: {str(exc).removeprefix(f'{file}: ')}", unscanned=True)]
    text = raw.decode("utf-8", errors="replace")
    leaks = [Leak(file, line, what) for line, what in scan_text(text, secrets)]
    if not leaks:
        decoded = _decode(text, str(file))
        if decoded is None and _looks_like_yaml(file) and text.strip():
            return [Leak(file, 0, "not scanned: could not be decoded as YAML or JSON",
                         unscanned=True)]
        if decoded is not None:
            leaks = [Leak(file, 0, what) for what in _scan_decoded(decoded, secrets)]
    return leaks


def _looks_like_yaml(file: Path) -> bool:
    name = file.name.lower()
    return any(f".{kind}" in name for kind in ("yaml", "yml", "json"))


def scan(paths: Iterable[Path], secrets: Iterable[str] = ()) -> ScanResult:
    """Scan the given files; folders are walked and every file in them is scanned, whatever
    its name (``x.YAML``, ``x.yaml.orig`` and ``notes.txt`` included)."""
    secrets = list(secrets)
    files = 0
    findings: list[Leak] = []
    for path in paths:
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_symlink() or not p.is_dir()):
                files += 1
                findings.extend(scan_file(file, secrets, root=path))
        else:
            files += 1
            findings.extend(scan_file(path, secrets, root=path.parent))
    return ScanResult(files, findings)


def scan_files(paths: Iterable[Path], secrets: Iterable[str] = ()) -> list[Leak]:
    """Every finding of :func:`scan` (secrets and files that could not be scanned)."""
    return scan(paths, secrets).findings


def assert_no_leaks(paths: Iterable[Path], secrets: Iterable[str] = ()) -> None:
    """Raise :class:`SecretLeakError` on a secret found or a file that could not be scanned."""
    result = scan(paths, secrets)
    parts = []
    if result.leaks:
        parts.append(f"{len(result.leaks)} secret(s) found in written files:\n  "
                     + "\n  ".join(str(leak) for leak in result.leaks[:20])
                     + "\nScrub them (re-record after fixing the scrubber); never commit these files.")
    if result.unscanned:
        parts.append(f"{len(result.unscanned)} file(s) could not be scanned, so they are not "
                     "known to be clean:\n  "
                     + "\n  ".join(str(leak) for leak in result.unscanned[:20])
                     + "\nReplace or remove them (the scan reads regular files of at most "
                     f"{SCAN_MAX_BYTES:,} bytes), then scan again.")
    if parts:
        raise SecretLeakError("\n".join(parts))
