"""The response properties every agent connector class must hold, and how a break is named.

``extract_text`` / ``extract_session_id``
    return ``str`` or ``None`` and never raise; ``extract_text`` never hands back the Python
    repr of a non-string value (``"None"``, ``"[{'type': 'text', ...}]"``) as if it were text.
``extract_tool_trace``
    returns a list of dicts or ``None`` and never raises.
``deterministic``
    each extractor gives equal results on two copies of the same input and leaves its input
    unchanged.
``parse_response``
    returns a dict or raises a :class:`ConnectorError` subclass, nothing else.

A failure is known by its :func:`signature` (the exception type and the line it came from, or
the kind of violation), so the search looks for new ways to break a property, not the same one.
"""

from __future__ import annotations

import contextlib
import json
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...connectors.agent.base import BaseAgentConnector
from ...connectors.exceptions import ConnectorError
from .jsonpaths import json_copy, slots

EXTRACTORS = ("extract_text", "extract_session_id", "extract_tool_trace")
RESPONSE_PROPERTIES = (*EXTRACTORS, "deterministic", "parse_response")
PROPERTIES = (*RESPONSE_PROPERTIES, "http_client", "stream")
DESCRIPTIONS = {
    "extract_text": "extract_text returns str or None on any response, never raises, never a repr",
    "extract_session_id": "extract_session_id returns str or None on any response, never raises",
    "extract_tool_trace": "extract_tool_trace returns a list of dicts or None, never raises",
    "deterministic": "the extractors give equal results twice and leave their input unchanged",
    "parse_response": "parse_response returns a dict or raises a ConnectorError subclass only",
    "http_client": "any status/headers/body from a real server: a dict or a ConnectorError",
    "stream": "broken and mutated recorded streams through stream()/astream(): a ConnectorError "
              "or valid events, never another exception, never a second run, never past the deadline",
}


class PropertyViolation(AssertionError):
    """A property broken without an exception from the connector (wrong type, repr, ...)."""

    def __init__(self, kind: str, message: str, where: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.where = where  # the definition of the method at fault


Signature = tuple[str, str]


def signature(exc: BaseException) -> Signature:
    if isinstance(exc, PropertyViolation):
        return ("violation", exc.kind)
    return (type(exc).__name__, location(exc, full=True))


def location(exc: BaseException, *, full: bool = False) -> str:
    if isinstance(exc, PropertyViolation):
        return exc.where
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    name = last.filename if full else short_path(last.filename)
    return f"{name}:{last.lineno}"


def short_path(filename: str) -> str:
    parts = Path(filename).parts
    for anchor in ("site-packages", "src", "tests"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) + 1:])
    return "/".join(parts[-2:])


def message_of(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not break the report
        text = ""
    return text[:500]


def canon(value: Any) -> str:
    """Comparable text of a result (objects by type name: their repr holds a memory address)."""
    try:
        return json.dumps(value, ensure_ascii=True, default=lambda o: f"<{type(o).__name__}>")
    except (TypeError, ValueError, RecursionError):
        return f"<{type(value).__name__}>"


def _strings(value: Any) -> set[str]:
    found: set[str] = set()
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            found.add(node)
        elif isinstance(node, dict):
            found.update(k for k in node if isinstance(k, str))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _is_python_repr(text: str, value: Any) -> bool:
    """Is ``text`` the ``str()`` of a None or a non-empty container found in ``value`` (and not
    text the input holds, nor that value's JSON)?"""
    if not text or len(text) > 200_000 or text in _strings(value):
        return False
    if text == "None":
        return any(node is None for node in _nodes(value))
    if text[0] not in "[{":
        return False
    for node in _nodes(value):
        if isinstance(node, (dict, list)) and node:
            try:
                if str(node) == text and text not in _json_forms(node):
                    return True
            except RecursionError:
                continue
    return False


def _nodes(value: Any, limit: int = 2000) -> Iterator[Any]:
    yield value
    for path in slots(value, limit):
        node = value
        for step in path:
            node = node[step]
        yield node


def _json_forms(node: Any) -> set[str]:
    forms = set()
    for ascii_ in (True, False):
        for sort in (True, False):
            with contextlib.suppress(ValueError, RecursionError):
                forms.add(json.dumps(node, ensure_ascii=ascii_, sort_keys=sort))
    return forms


def defined_at(cls: type[Any], name: str) -> str:
    """``file:line (Class.method)`` where ``cls`` defines ``name``, for violation reports."""
    method = getattr(cls, name, None)
    function = getattr(method, "__func__", method)
    code = getattr(function, "__code__", None)
    if code is None:
        return ""
    owner = getattr(function, "__qualname__", name)
    return f"{short_path(code.co_filename)}:{code.co_firstlineno} ({owner})"


def _check_str_or_none(cls: type[Any], name: str, out: Any) -> None:
    if out is not None and not isinstance(out, str):
        raise PropertyViolation(
            "type", f"{name} returned {type(out).__name__} {canon(out)[:120]}; expected str or None",
            defined_at(cls, name))



# -- the checks: each raises on a broken property ---------------------------------------------

def check_text(cls: type[BaseAgentConnector], value: Any) -> None:
    out = cls.extract_text(json_copy(value))
    _check_str_or_none(cls, "extract_text", out)
    if out is not None and _is_python_repr(out, value):
        raise PropertyViolation(
            "repr", f"extract_text returned {out[:120]!r}: the Python repr of a non-string "
                    "value, not text (data lost)", defined_at(cls, "extract_text"))


def check_session_id(cls: type[BaseAgentConnector], value: Any) -> None:
    out = cls.extract_session_id(json_copy(value))
    _check_str_or_none(cls, "extract_session_id", out)


def check_tool_trace(cls: type[BaseAgentConnector], value: Any) -> None:
    out = cls.extract_tool_trace(json_copy(value))
    if out is None:
        return
    if not isinstance(out, list):
        raise PropertyViolation(
            "type", f"extract_tool_trace returned {type(out).__name__} {canon(out)[:120]}; "
                    "expected a list of dicts or None", defined_at(cls, "extract_tool_trace"))
    bad = [item for item in out if not isinstance(item, dict)]
    if bad:
        raise PropertyViolation(
            "item", f"extract_tool_trace returned a list holding {type(bad[0]).__name__} "
                    f"{canon(bad[0])[:80]}; every entry must be a dict",
            defined_at(cls, "extract_tool_trace"))


def check_deterministic(cls: type[BaseAgentConnector], value: Any) -> None:
    original = canon(value)
    for name in EXTRACTORS:
        method = getattr(cls, name)
        first, second = json_copy(value), json_copy(value)
        results = []
        for copy in (first, second):
            try:
                results.append(("returned", canon(method(copy))))
            except Exception as exc:
                results.append(("raised", type(exc).__name__))
        if results[0] != results[1]:
            raise PropertyViolation(
                "nondeterministic", f"{name} gave different results on two copies of the same "
                                    f"input: {results[0][1][:80]} then {results[1][1][:80]}",
                defined_at(cls, name))
        if canon(first) != original:
            raise PropertyViolation(
                "mutates", f"{name} changed its input (now {canon(first)[:120]}); extractors "
                           "must not modify the response", defined_at(cls, name))


def check_parse(connector: BaseAgentConnector, value: Any) -> None:
    try:
        out = connector.parse_response(json_copy(value))
    except ConnectorError:
        return
    if not isinstance(out, dict):
        raise PropertyViolation(
            "type", f"parse_response returned {type(out).__name__}; expected the response dict "
                    "(or a ConnectorError)", defined_at(type(connector), "parse_response"))
