"""The one way the kit reads a file it did not write itself: bounded, checked, then validated.

Cassettes, ``scenarios.yaml``, ``certify.yaml``, flow YAML and the fuzz corpus all come
through here (connectors never read such files, so this sits beside them, not in testkit).
What a hostile or broken file can no longer do:

- **Exhaust memory.** YAML aliases are refused: ``yaml.safe_load`` builds shared references,
  but everything downstream (scrubbing, masking, JSON dumps) walks them expanded, so a 4 KB
  file of nested aliases became gigabytes. Size is capped before parsing, nesting depth and
  event count while parsing. The check runs on libyaml's event stream, which is iterative:
  composing ``[[[[...`` with the C composer recurses in C and crashes the interpreter.
- **Hang or escape the folder.** Only regular files are read (never a FIFO, a device or a
  directory named like a file); a symlink must resolve inside the folder the caller names;
  the file is opened non-blocking and read up to the cap, never to its end.
- **Raise a raw traceback.** Every problem is the caller's error class (``CassetteError``,
  ``FlowConfigError``, ...) with the file, the place and what was expected; a pydantic
  schema turns a wrong shape into "field: expected ..., got ...".

The event pass costs about 40% of a plain C-loader parse (measured on the committed
cassettes, see docs/architecture.md); it is the price of never expanding an alias.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .connectors.exceptions import ConnectorKitError

#: Caps for the files the kit reads. A committed cassette is a few KB; these leave headroom
#: for long recorded bodies while keeping the worst case small.
MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_EVENTS = 1_000_000
#: JSON documents (fuzz corpus entries) may nest deeper: generated inputs do.
MAX_JSON_DEPTH = 200

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
#: A name a file may be given inside a folder: no separator or control character, no leading
#: dot (so neither ".." nor a hidden file), at most 200 characters.
_SAFE_NAME = re.compile(r"^[^./\\\x00-\x1f][^/\\\x00-\x1f]{0,199}$")

ErrorFactory = Callable[[str], Exception]
M = TypeVar("M", bound=BaseModel)


class UnsafeFileError(ConnectorKitError, ValueError):
    """A file the kit was asked to read is not a bounded, regular, well-formed file."""


def read_text(path: Path, *, root: Path | None = None, max_bytes: int = MAX_BYTES,
              error: ErrorFactory = UnsafeFileError) -> str:
    """The UTF-8 text of ``path``: a regular file inside ``root`` (default: its own folder).

    A missing file raises ``FileNotFoundError`` (callers word their own "record it first").
    """
    raw = read_bytes(path, root=root, max_bytes=max_bytes, error=error)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                    f"{exc.start}); save it as UTF-8.") from None


def read_bytes(path: Path, *, root: Path | None = None, max_bytes: int = MAX_BYTES,
               error: ErrorFactory = UnsafeFileError) -> bytes:
    """The bytes of ``path`` under the same rules as :func:`read_text` (no decoding)."""
    path = Path(path)
    folder = Path(root) if root is not None else path.parent
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(Path(os.path.realpath(folder))):
        raise error(f"{path}: refused: it resolves to {real}, outside {folder} (a symlink out "
                    "of the folder is never followed).")
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise error(f"{path}: cannot be read: {exc.strerror or exc}.") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path}: refused: it is a {_kind(info.st_mode)}, not a regular file.")
        if info.st_size > max_bytes:
            raise error(f"{path}: refused: {info.st_size} bytes is over the {max_bytes}-byte cap.")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(raw) > max_bytes:  # grew after the stat
        raise error(f"{path}: refused: over the {max_bytes}-byte cap.")
    return raw


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO (named pipe)"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def parse_yaml(text: str, source: str, *, max_depth: int = MAX_DEPTH, max_events: int = MAX_EVENTS,
               error: ErrorFactory = UnsafeFileError) -> Any:
    """Parse one YAML document with the safe loader, refusing aliases, deep nesting and bulk."""
    try:
        _check_events(text, source, max_depth, max_events, error)
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise error(f"{source}: invalid YAML{_where(exc)}: {_problem(exc)}") from None


_OPEN, _CLOSE, _ALIAS = 1, -1, 0
_KINDS = {yaml.SequenceStartEvent: _OPEN, yaml.MappingStartEvent: _OPEN,
          yaml.SequenceEndEvent: _CLOSE, yaml.MappingEndEvent: _CLOSE, yaml.AliasEvent: _ALIAS}


def _check_events(text: str, source: str, max_depth: int, max_events: int,
                  error: ErrorFactory) -> None:
    depth = 0
    kinds = _KINDS
    for count, event in enumerate(yaml.parse(text, Loader=_Loader)):
        kind = kinds.get(type(event))
        if kind is None:
            continue
        if kind == _ALIAS:
            anchor = getattr(event, "anchor", "")
            raise error(f"{source}: refused: YAML alias '*{anchor}'{_at(event)}; the kit reads no "
                        "aliases (write the value out).")
        depth += kind
        if depth > max_depth:
            raise error(f"{source}: refused: nested deeper than {max_depth} levels{_at(event)}.")
        if count > max_events:
            raise error(f"{source}: refused: more than {max_events} YAML events.")


def _at(event: Any) -> str:
    mark = getattr(event, "start_mark", None)
    return f" at line {mark.line + 1}" if mark is not None else ""


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _problem(exc: yaml.YAMLError) -> str:
    return str(getattr(exc, "problem", None) or type(exc).__name__)


class _NoAliasDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Writes a shared value out each time: the files the kit writes must load under its rules."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(data: Any, **options: Any) -> str:
    """YAML text for ``data`` with the safe dumper and never an alias (``parse_yaml`` refuses them)."""
    return str(yaml.dump(data, Dumper=_NoAliasDumper, **options))


def load_yaml(path: Path, *, root: Path | None = None, max_bytes: int = MAX_BYTES,
              error: ErrorFactory = UnsafeFileError) -> Any:
    """Read (bounded, regular file inside ``root``) and parse (no aliases, bounded) a YAML file."""
    return parse_yaml(read_text(path, root=root, max_bytes=max_bytes, error=error), str(path),
                      error=error)


def load_json(path: Path, *, root: Path | None = None, max_bytes: int = MAX_BYTES,
              max_depth: int = MAX_JSON_DEPTH, error: ErrorFactory = UnsafeFileError) -> Any:
    """Read and decode a JSON file under the same rules (depth capped, NaN/Infinity refused)."""
    text = read_text(path, root=root, max_bytes=max_bytes, error=error)
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise error(f"{path}: invalid JSON: {exc}") from None
    if _depth(data) > max_depth:
        raise error(f"{path}: refused: JSON nested deeper than {max_depth} levels.")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(value: Any) -> int:
    """Nesting depth of decoded JSON, iteratively (the value may be deeper than the stack)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        if children:
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


def validate(model: type[M], data: Any, source: str, *, error: ErrorFactory = UnsafeFileError,
             what: str = "") -> M:
    """``data`` as ``model``; a wrong shape names the file, the field and what was expected."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(describe_validation(exc, source, what)) from None


def describe_validation(exc: ValidationError, source: str, what: str = "") -> str:
    lines = []
    for problem in exc.errors(include_url=False)[:5]:
        field = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        got = _short(problem.get("input"))
        lines.append(f"{field}: {problem['msg']} (got {got})")
    more = exc.error_count() - len(lines)
    tail = f"\n  ... and {more} more" if more > 0 else ""
    label = f" is not a valid {what}" if what else " has the wrong shape"
    return f"{source}{label}:\n  " + "\n  ".join(lines) + tail


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def safe_name(name: str, what: str = "name", *, error: ErrorFactory = UnsafeFileError) -> str:
    """``name`` when it can be a file name inside a folder (so ``../../x`` never leaves it)."""
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name):
        raise error(f"{what} {name!r} cannot name a file inside the folder: no '/' or '\\', no "
                    "control characters, not starting with '.', at most 200 characters.")
    return name


def regular_files(folder: Path, pattern: str = "*") -> list[Path]:
    """The regular files directly in ``folder`` matching ``pattern`` that stay inside it."""
    inside = Path(os.path.realpath(folder))
    found = []
    for path in sorted(folder.glob(pattern)):
        try:
            info = path.stat()  # follows a symlink: its target must be a regular file inside
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and Path(os.path.realpath(path)).is_relative_to(inside):
            found.append(path)
    return found


__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_EVENTS", "UnsafeFileError", "describe_validation", "dump_yaml",
           "load_json", "load_yaml", "parse_yaml", "read_bytes", "read_text", "regular_files", "safe_name",
           "validate"]
