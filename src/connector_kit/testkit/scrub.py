"""Secrets never reach a file: scrub before writing, scan after writing, fail on a hit."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from ..connectors.exceptions import ConnectorKitError

#: What a leaked credential usually looks like, even when its value is not known here.
#: Only at the start of a token: "task-manager-..." holds "sk-" but is not a key.
KEY_SHAPES = re.compile(
    r"(?<![A-Za-z0-9])(sk-[A-Za-z0-9_-]{16,}|lsv2_[A-Za-z0-9_]{16,}|Bearer [A-Za-z0-9._-]{20,}|"
    r"ghp_[A-Za-z0-9]{30,}|AKIA[0-9A-Z]{16})"
)
PLACEHOLDER = "<SECRET>"
_AUTH_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "cookie", "set-cookie",
                           "proxy-authorization", "x-auth-token"})


class SecretLeakError(ConnectorKitError):
    """A secret value, or something shaped like a live key, was found in a written file."""


def is_auth_header(name: str) -> bool:
    return name.lower() in _AUTH_HEADERS


def _forms(secrets: Iterable[str]) -> list[str]:
    """Each secret as written and as it appears URL-encoded (a key in a query string)."""
    forms = set()
    for secret in secrets:
        if secret and len(secret) >= 4:
            forms.update({secret, quote(secret, safe=""), quote_plus(secret)})
    return sorted(forms, key=len, reverse=True)


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    for secret in _forms(secrets):
        text = text.replace(secret, PLACEHOLDER)
    return KEY_SHAPES.sub(PLACEHOLDER, text)


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
    path: Path
    line: int
    what: str  # never the secret itself

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def scan_text(text: str, secrets: Iterable[str] = ()) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    values = _forms(secrets)
    for number, line in enumerate(text.splitlines(), 1):
        for index, secret in enumerate(values):
            if secret in line:
                found.append((number, f"configured secret #{index + 1} present"))
        for match in KEY_SHAPES.finditer(line):
            found.append((number, f"key-shaped value ('{match.group(0)[:3]}…')"))
    return found


def scan_files(paths: Iterable[Path], secrets: Iterable[str] = ()) -> list[Leak]:
    """Every leak in the given files (folders are walked for ``*.yaml``/``*.yml``/``*.json``)."""
    secrets = list(secrets)
    leaks: list[Leak] = []
    for path in paths:
        files = (sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml", ".json"})
                 if path.is_dir() else [path])
        for file in files:
            text = file.read_text(encoding="utf-8", errors="replace")
            leaks.extend(Leak(file, line, what) for line, what in scan_text(text, secrets))
    return leaks


def assert_no_leaks(paths: Iterable[Path], secrets: Iterable[str] = ()) -> None:
    leaks = scan_files(paths, secrets)
    if leaks:
        listing = "\n  ".join(str(leak) for leak in leaks[:20])
        raise SecretLeakError(
            f"{len(leaks)} secret(s) found in written files:\n  {listing}\n"
            "Scrub them (re-record after fixing the scrubber); never commit these files."
        )
