"""The regression corpus: failures saved as small JSON files, replayed before anything random.

An entry is ``<corpus>/<property>-<sha8>.json`` holding one minimal input, the exception it
raised and the seed of the run that found it. The corpus sits beside the cassettes
(``<cassettes>/fuzz-corpus``), so a failure found once is tried first by every later run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..._safe_yaml import load_json
from .report import FuzzFailure

CORPUS_FOLDER = "fuzz-corpus"
CORPUS_MAX_BYTES = 1024 * 1024  # an entry is one shrunk input: small


@dataclass
class CorpusEntry:
    """One saved failure: the property it broke and its (minimal) input."""

    property: str
    input: Any
    path: Path


def corpus_dir_for(cassettes: Path) -> Path:
    """The regression corpus beside a cassette folder: ``<cassettes>/fuzz-corpus``."""
    return cassettes / CORPUS_FOLDER


def load_corpus(folder: Path | None, properties: Collection[str]) -> list[CorpusEntry]:
    """Every entry in ``folder`` for one of ``properties`` (none when there is no folder)."""
    if folder is None or not folder.is_dir():
        return []
    entries = []
    for path in sorted(folder.glob("*.json")):
        # Bounded and validated like every file the kit reads; a broken entry is an error
        # naming the file (skipping it would silently drop a regression case).
        data = load_json(path, max_bytes=CORPUS_MAX_BYTES)
        if isinstance(data, dict) and data.get("property") in properties and "input" in data:
            entries.append(CorpusEntry(str(data["property"]), data["input"], path))
    return entries


def save_failure(folder: Path | None, failure: FuzzFailure, connector: str, seed: int) -> Path | None:
    """Save ``failure`` as a corpus entry (atomically); its path, or None when it cannot be saved."""
    if folder is None:
        return None
    canonical = json.dumps(failure.input, ensure_ascii=True, sort_keys=True)
    digest = hashlib.sha256(canonical.encode("ascii")).hexdigest()[:8]
    path = folder / f"{failure.property}-{digest}.json"
    if path.exists():
        return path
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
    entry = {"property": failure.property, "connector": connector,
             "exception": failure.exception, "location": failure.location,
             "found": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "seed": seed,
             "input": failure.input}
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(entry, ensure_ascii=True, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:  # a read-only cassette folder: the failure is still reported
        tmp.unlink(missing_ok=True)
        return None
    return path


__all__ = ["CORPUS_FOLDER", "CORPUS_MAX_BYTES", "CorpusEntry", "corpus_dir_for", "load_corpus",
           "save_failure"]
