"""Hypothesis strategies for fuzzing connectors: JSON, framework shapes, mutations of real responses.

Three families of responses:

- :func:`json_values` / :func:`json_objects`: arbitrary JSON (bounded size) with nasty leaves:
  NUL, lone surrogates, NaN/inf, huge integers, keys that agent responses really use.
- :func:`shaped_responses`: the skeleton of a framework's response (``langflow``,
  ``langgraph``, ``openai``-style or ``generic``) with random leaves, and now and then a level
  of the skeleton replaced by junk.
- :func:`mutated_responses`: the REAL responses recorded in cassettes, each changed at one to
  three random places (delete a key, change a type, None, wrap in a list, deep nesting, huge
  strings, lone surrogates and NUL, NaN/inf, duplicated or empty content blocks, parts content,
  a renamed key, a JSON value sent as a string).

Plus :func:`http_cases` (status, headers, body bytes for the HTTP client) and
:func:`reduce_json`, which cuts a failing JSON input down to a minimal one.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ..recording.cassettes import Cassette

Path_ = tuple[str | int, ...]

#: Shapes :func:`shaped_responses` knows; "generic" mixes all of them.
SHAPES = ("langflow", "langgraph", "openai", "generic")

#: Keys agent responses really use: arbitrary JSON draws from them half of the time.
AGENT_KEYS = (
    "text", "content", "output", "outputs", "message", "messages", "response", "result", "results",
    "answer", "data", "choices", "session_id", "thread_id", "id", "tool_calls", "tool_call_id",
    "content_blocks", "contents", "type", "role", "name", "args", "status", "error", "__error__",
    "delta", "parts", "steps", "metadata", "detail", "reply", "conversation_id", "chat_id",
    "completion", "generated_text", "usage",
)

NASTY_STRINGS = (
    "", " ", "\x00", "a\x00b", "\ud800", "\udfff", "x\udc80y", "\ufeff", "\u202e", "\U0001f600",
    "null", "None", "true", "{}", "[]", "NaN", "0", "-1", "\r\n", "'", '"', "\\", "\t",
    "\u0085", "\u2028", "ﬁ", "<html>", "{\"text\": \"x\"}",
)
NASTY_NUMBERS = (math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324, 2**53 + 1, 2**63, 2**64,
                 -(2**63), 10**30)
HUGE_SIZES = (10_000, 300_000)
DEEP_LEVELS = (3, 30, 400)  # json.loads itself refuses beyond ~990 levels


# -- scalars and arbitrary JSON ---------------------------------------------------------------

def texts(max_size: int = 16) -> SearchStrategy[str]:
    """Short strings of any code point (lone surrogates and NUL included), or a known nasty one
    (NUL, lone surrogates, BOM, RTL override, emoji, "null", "None", ...)."""
    return st.one_of(st.text(st.characters(exclude_categories=()), max_size=max_size),
                     st.sampled_from(NASTY_STRINGS))


def huge_texts() -> SearchStrategy[str]:
    return st.sampled_from(HUGE_SIZES).map(lambda n: "x" * n)


def integers() -> SearchStrategy[int]:
    return st.one_of(st.integers(-1000, 1000), st.sampled_from([n for n in NASTY_NUMBERS
                                                                if isinstance(n, int)]))


def floats() -> SearchStrategy[float]:
    return st.one_of(st.floats(), st.sampled_from([n for n in NASTY_NUMBERS if isinstance(n, float)]))


def scalars() -> SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), integers(), floats(), texts())


def keys() -> SearchStrategy[str]:
    return st.one_of(st.sampled_from(AGENT_KEYS), texts(8))


def json_values(max_leaves: int = 12) -> SearchStrategy[Any]:
    """Any JSON value: scalars, lists and objects nested at random (at most ``max_leaves`` leaves)."""
    return st.recursive(
        scalars(),
        lambda children: st.one_of(st.lists(children, max_size=4),
                                   st.dictionaries(keys(), children, max_size=4)),
        max_leaves=max_leaves,
    )


def json_objects(max_leaves: int = 12) -> SearchStrategy[dict[str, Any]]:
    """A JSON object at the top (what an HTTP client hands a parser) with anything inside."""
    return st.dictionaries(keys(), json_values(max_leaves), max_size=6)


def _junk() -> SearchStrategy[Any]:
    """Any small JSON value; one time in 16 a huge string."""
    small, huge = json_values(4), huge_texts()

    @st.composite
    def junk(draw: Callable[[SearchStrategy[Any]], Any]) -> Any:
        return draw(huge if draw(st.integers(0, 15)) == 15 else small)

    result: SearchStrategy[Any] = junk()
    return result


def _w(good: SearchStrategy[Any], ratio: int = 4) -> SearchStrategy[Any]:
    """``good`` most of the time (about ratio:1), junk otherwise; shrinks towards ``good``."""
    junk = _junk()

    @st.composite
    def weighted(draw: Callable[[SearchStrategy[Any]], Any]) -> Any:
        return draw(junk if draw(st.integers(0, ratio)) == ratio else good)

    result: SearchStrategy[Any] = weighted()
    return result


def _skel(good: SearchStrategy[Any]) -> SearchStrategy[Any]:
    """A level of a framework skeleton: right most of the time (6:1), junk otherwise."""
    return _w(good, ratio=6)


def _some(item: SearchStrategy[Any], max_size: int) -> SearchStrategy[list[Any]]:
    """A non-empty list (empty lists come from the junk branch and from the mutations)."""
    return st.lists(item, min_size=1, max_size=max_size)


def _mostly(required: dict[str, SearchStrategy[Any]],
            optional: dict[str, SearchStrategy[Any]]) -> SearchStrategy[dict[str, Any]]:
    """An object with its ``required`` keys 3 times out of 4; with any subset of keys otherwise."""
    full = st.fixed_dictionaries(required, optional=optional)
    sparse = st.fixed_dictionaries({}, optional={**required, **optional})

    @st.composite
    def weighted(draw: Callable[[SearchStrategy[Any]], Any]) -> dict[str, Any]:
        chosen: dict[str, Any] = draw(sparse if draw(st.integers(0, 3)) == 3 else full)
        return chosen

    result: SearchStrategy[dict[str, Any]] = weighted()
    return result


def _ids() -> SearchStrategy[Any]:
    return st.one_of(st.uuids().map(str), texts(), integers(), st.none(), _junk())


# -- framework shapes ---------------------------------------------------------------------------

def _langflow() -> SearchStrategy[dict[str, Any]]:
    item = _mostly(
        {"type": _w(st.sampled_from(["tool_use", "text", "code", "error", "json", "media"])),
         "name": _w(texts())},
        {"tool_input": _w(st.dictionaries(keys(), scalars(), max_size=3)), "output": _junk(),
         "text": _w(texts())},
    )
    block = st.fixed_dictionaries(
        {"title": _w(st.one_of(st.just("Agent Steps"), texts())), "contents": _skel(_some(_skel(item), 3))},
        optional={"allow_markdown": _junk()},
    )
    blocks = _skel(_some(_skel(block), 2))
    data = _mostly({"text": _w(texts())}, {"content_blocks": blocks, "session_id": _ids(),
                                          "sender": texts()})
    message = _mostly({"text": _w(texts())}, {"data": _skel(data), "content_blocks": blocks,
                                              "text_key": _w(st.just("text")), "session_id": _ids()})
    inner = st.fixed_dictionaries({"results": _skel(st.fixed_dictionaries({"message": _skel(message)}))},
                                  optional={"artifacts": _junk()})
    outer = st.fixed_dictionaries({"outputs": _skel(_some(_skel(inner), 2))})
    return _mostly({"outputs": _skel(_some(_skel(outer), 2))}, {"session_id": _ids()})


_MESSAGE_KINDS = ["ai", "human", "tool", "system", "assistant", "user", "AIMessageChunk"]


def parts_contents() -> SearchStrategy[list[Any]]:
    """Message content as a list of parts, as Anthropic models return it."""
    part = st.one_of(
        st.fixed_dictionaries(
            {"type": _w(st.sampled_from(["text", "output_text", "tool_use", "image_url", "thinking"]))},
            optional={"text": _w(texts()), "id": _ids(), "name": texts(), "input": _junk(),
                      "image_url": _junk()}),
        texts(), _junk())
    return st.lists(part, max_size=4)


def _langgraph_message() -> SearchStrategy[dict[str, Any]]:
    kinds = _w(st.sampled_from(_MESSAGE_KINDS))
    call = st.fixed_dictionaries({"name": _w(texts()), "args": _w(st.dictionaries(keys(), scalars(),
                                                                                  max_size=3)),
                                  "id": _ids()}, optional={"type": _w(st.just("tool_call"))})
    return _mostly({"type": kinds, "content": st.one_of(texts(), parts_contents(), st.none(), _junk())},
                   {"role": kinds, "tool_calls": _skel(_some(_skel(call), 3)),
                    "tool_call_id": _ids(), "name": _w(texts()),
                    "status": _w(st.sampled_from(["success", "error"])), "id": _ids()})


def _langgraph() -> SearchStrategy[dict[str, Any]]:
    error = _w(st.fixed_dictionaries({}, optional={"error": _w(texts()), "message": _w(texts())}))
    return _mostly({"messages": _skel(_some(_skel(_langgraph_message()), 5))},
                   {"__error__": error, "thread_id": _ids(), "values": _junk()})


def _openai() -> SearchStrategy[dict[str, Any]]:
    message = st.fixed_dictionaries({}, optional={
        "role": _w(st.sampled_from(["assistant", "user", "tool"])),
        "content": st.one_of(texts(), parts_contents(), st.none(), _junk()),
        "tool_calls": _w(st.lists(_junk(), max_size=2))})
    choice = st.fixed_dictionaries({"message": _skel(message)},
                                   optional={"finish_reason": _junk(), "index": integers()})
    return _mostly({"choices": _skel(_some(_skel(choice), 2))}, {"id": _ids(), "object": texts()})


def _generic() -> SearchStrategy[dict[str, Any]]:
    values = st.recursive(st.one_of(scalars(), parts_contents()),
                          lambda c: st.one_of(st.lists(c, max_size=3),
                                              st.dictionaries(st.sampled_from(AGENT_KEYS), c, max_size=4)),
                          max_leaves=12)
    return st.dictionaries(st.sampled_from(AGENT_KEYS), values, min_size=1, max_size=6)


def shaped_responses(shape: str = "generic") -> SearchStrategy[dict[str, Any]]:
    """Responses with a framework's skeleton and random leaves ("generic": every known shape)."""
    builders: dict[str, Callable[[], SearchStrategy[dict[str, Any]]]] = {
        "langflow": _langflow, "langgraph": _langgraph, "openai": _openai}
    if shape in builders:
        return builders[shape]()
    return st.one_of(_generic(), _langflow(), _langgraph(), _openai())


# -- mutations of real responses ----------------------------------------------------------------

# "none" first: it is what the simplest draws (and shrinking) pick.
MUTATIONS = ("none", "retype", "delete", "wrap_list", "wrap_dict", "deep", "huge", "nasty",
             "number", "duplicate", "empty", "parts", "junk_item", "random", "rename", "stringify")
#: What the systematic sweep puts in place of each node of a real response, in this order.
SWEEP_VALUES: tuple[Any, ...] = (None, "text", [], {}, 0)


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON value (NaN, lone surrogates and ~900 levels of nesting survive)."""
    return json.loads(json.dumps(value))


def slots(value: Any, limit: int = 5000) -> list[Path_]:
    """Paths to every node below the root, shallowest first (iterative: deep nesting is fine)."""
    found: list[Path_] = []
    queue: list[tuple[Path_, Any]] = [((), value)]
    index = 0
    while index < len(queue) and len(found) < limit:
        path, node = queue[index]
        index += 1
        children: Iterator[tuple[str | int, Any]]
        if isinstance(node, dict):
            children = iter(node.items())
        elif isinstance(node, list):
            children = iter(enumerate(node))
        else:
            continue
        for key, child in children:
            found.append((*path, key))
            queue.append(((*path, key), child))
    return found


def get_at(value: Any, path: Path_) -> Any:
    for step in path:
        value = value[step]
    return value


def _retypes(old: Any) -> list[Any]:
    if isinstance(old, str):
        return [0, 1.5, True, [old], {"text": old}, [], {}]
    if isinstance(old, bool):
        return ["true", 1, [old]]
    if isinstance(old, (int, float)):
        return [str(old), [old], {}, True]
    if isinstance(old, list):
        return ["str", {}, 0, True, {str(i): v for i, v in enumerate(old)}]
    if isinstance(old, dict):
        return [[old], "str", 0, [], list(old.values())]
    return ["", 0, [], {}, False]


def _parts(old: Any) -> list[Any]:
    text = old if isinstance(old, str) else "x"
    return [
        [{"type": "text", "text": text}],
        [{"type": "text", "text": text}, {"type": "text", "text": text}],
        [text],
        [{"type": "image_url", "image_url": {"url": "data:,"}}, {"type": "text", "text": text}],
        [{"type": "tool_use", "id": "t1", "name": "calc", "input": {}}],
        [{"text": text}],
        [{"type": "text"}],
        [None],
        [],
    ]


@dataclass
class _Mutator:
    draw: Callable[[SearchStrategy[Any]], Any]

    def apply(self, value: Any, path: Path_, op: str) -> None:
        parent = get_at(value, path[:-1])
        key = path[-1]
        old = parent[key]
        if op == "delete":
            del parent[key]
        elif op == "none":
            parent[key] = None
        elif op == "retype":
            parent[key] = self.draw(st.sampled_from(_retypes(old)))
        elif op == "wrap_list":
            parent[key] = [old]
        elif op == "wrap_dict":
            parent[key] = {self.draw(st.sampled_from(["value", "text", "content", str(key)])): old}
        elif op == "deep":
            depth = self.draw(st.sampled_from(DEEP_LEVELS))
            as_list = self.draw(st.booleans())
            for _ in range(depth):
                old = [old] if as_list else {"a": old}
            parent[key] = old
        elif op == "huge":
            filler = self.draw(huge_texts())
            parent[key] = (old + filler) if isinstance(old, str) else filler
        elif op == "nasty":
            nasty = self.draw(st.sampled_from(NASTY_STRINGS))
            parent[key] = old[: len(old) // 2] + nasty + old[len(old) // 2:] if isinstance(
                old, str) else nasty
        elif op == "number":
            parent[key] = self.draw(st.sampled_from(NASTY_NUMBERS))
        elif op == "duplicate":
            if isinstance(parent, list):
                assert isinstance(key, int)
                parent.insert(key, json_copy(old))
            elif isinstance(old, list) and old:
                parent[key] = old + [json_copy(item) for item in old]
            else:
                parent[key] = [old, json_copy(old)]
        elif op == "empty":
            parent[key] = type(old)() if isinstance(old, (list, dict, str)) else []
        elif op == "parts":
            parent[key] = self.draw(st.sampled_from(_parts(old)))
        elif op == "junk_item":
            junk = self.draw(st.sampled_from([None, "str", 1, [], {}, True]))
            if isinstance(old, list):
                old.insert(self.draw(st.integers(0, len(old))), junk)
            elif isinstance(parent, list):
                assert isinstance(key, int)
                parent.insert(key, junk)
            else:
                parent[key] = [old, junk]
        elif op == "random":
            parent[key] = self.draw(json_values(8))
        elif op == "rename":
            if isinstance(parent, dict):
                assert isinstance(key, str)
                new = self.draw(st.sampled_from([key + "_", key.upper(), "", " " + key, key[:-1]]))
                del parent[key]
                parent[new] = old
            else:
                parent[key] = {"key": old}
        elif op == "stringify":
            parent[key] = json.dumps(old)
        else:  # pragma: no cover - MUTATIONS and this switch are kept in step
            raise ValueError(op)


def mutate(draw: Callable[[SearchStrategy[Any]], Any], base: Any, count: int) -> Any:
    """``base`` (copied) changed at ``count`` random places; the top stays a JSON object."""
    value = json_copy(base)
    mutator = _Mutator(draw)
    for _ in range(count):
        places = slots(value)
        if not places:
            value[draw(keys())] = draw(json_values(6))
            continue
        path = draw(st.sampled_from(places))
        mutator.apply(value, path, draw(st.sampled_from(MUTATIONS)))
    return value


def mutated_responses(bases: Sequence[dict[str, Any]], max_mutations: int = 3) -> SearchStrategy[Any]:
    """Real recorded responses, each changed at 1..``max_mutations`` random paths."""
    if not bases:
        raise ValueError("mutated_responses needs at least one real response to mutate")
    chosen = list(bases)

    @st.composite
    def strategy(draw: Callable[[SearchStrategy[Any]], Any]) -> Any:
        base = draw(st.sampled_from(chosen))
        return mutate(draw, base, draw(st.integers(1, max_mutations)))

    result: SearchStrategy[Any] = strategy()
    return result


def response_bases(cassettes: Sequence[Cassette]) -> list[dict[str, Any]]:
    """Every distinct JSON-object response body recorded in ``cassettes`` (parsed)."""
    bases: list[dict[str, Any]] = []
    seen: set[str] = set()
    for cassette in cassettes:
        for interaction in cassette.interactions:
            body = interaction.response.body
            if not body or body in seen:
                continue
            seen.add(body)
            try:
                value = json.loads(body)
            except ValueError:
                continue
            if isinstance(value, dict) and value:
                bases.append(value)
    return bases


def responses(shape: str = "generic", bases: Sequence[dict[str, Any]] = ()) -> SearchStrategy[Any]:
    """What the response properties are fuzzed with: mutated real responses (when there are
    any: half of the draws), framework-shaped responses and arbitrary JSON objects."""
    shaped, anything = shaped_responses(shape), json_objects()
    mutated = mutated_responses(bases) if bases else shaped

    @st.composite
    def mixed(draw: Callable[[SearchStrategy[Any]], Any]) -> Any:
        pick = draw(st.integers(0, 9))  # 0-4 mutated (shaped without recordings), 5-8 shaped
        return draw(mutated if pick < 5 else shaped if pick < 9 else anything)

    result: SearchStrategy[Any] = mixed()
    return result


def _shape_key(value: Any) -> frozenset[tuple[tuple[str, ...], str]]:
    return frozenset((tuple("#" if isinstance(step, int) else step for step in path),
                      type(get_at(value, path)).__name__) for path in slots(value, 500))


def mutation_sweep(bases: Sequence[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """First-order mutations of the real responses, systematically: each node replaced by
    each of :data:`SWEEP_VALUES` (None, a string, [], {}, 0) and by itself wrapped in a list,
    shallow nodes first, every distinct response shape in turn (biggest first), one
    replacement across all of a depth's nodes before the next, at most ``limit`` of them.

    This is how the published package's parsers break (one field of a real response with the
    wrong type), so these are tried before random search; duplicates are skipped.
    """
    distinct: list[dict[str, Any]] = []
    seen_shapes: set[frozenset[tuple[tuple[str, ...], str]]] = set()
    # Biggest first: the run results matter more than the small bookkeeping answers.
    for base in sorted(bases, key=lambda b: -len(json.dumps(b))):
        key = _shape_key(base)
        if key not in seen_shapes:
            seen_shapes.add(key)
            distinct.append(base)
    # In turn: at each depth, one slot of each response, then the next slot of each; and
    # each replacement across those slots before the next replacement, so one response with
    # many keys (a thread state) cannot spend the whole budget on its own.
    per_base: dict[int, list[list[tuple[dict[str, Any], Path_]]]] = {}
    for base in distinct:
        mine: dict[int, list[tuple[dict[str, Any], Path_]]] = {}
        for path in slots(base, 500):
            mine.setdefault(len(path), []).append((base, path))
        for depth, found in mine.items():
            per_base.setdefault(depth, []).append(found)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for depth in sorted(per_base):
        turns = [slot for turn in itertools.zip_longest(*per_base[depth]) for slot in turn
                 if slot is not None]
        for which in range(len(SWEEP_VALUES) + 1):
            for base, path in turns:
                old = get_at(base, path)
                replacement = SWEEP_VALUES[which] if which < len(SWEEP_VALUES) else [old]
                if len(out) >= limit:
                    return out
                if type(replacement) is type(old) and replacement == old:
                    continue
                candidate = _replace(base, path, json_copy(replacement))
                text = json.dumps(candidate, sort_keys=True)
                if text not in seen:
                    seen.add(text)
                    out.append(candidate)
    return out


# -- HTTP replies ------------------------------------------------------------------------------

ODD_STATUSES = (100, 101, 102, 103, 199, 200, 201, 202, 203, 204, 205, 206, 226, 299, 300, 301,
                302, 304, 307, 308, 399, 400, 401, 402, 403, 404, 405, 408, 409, 410, 413, 418,
                422, 425, 426, 429, 451, 499, 500, 501, 502, 503, 504, 505, 507, 511, 599)
# Nastiest first: the HTTP sweep tries them in this order.
RETRY_AFTER_JUNK = ("1e308", "-1", "nan", "abc", "", "Fri, 31 Dec 9999 23:59:59 GMT",
                    "99999999999999", "inf", "1e400", "Mon, 01 Jan 0001 00:00:00 GMT", "0", " ",
                    "1", "0.5", "-inf", "120", "86400", "1e20", "253402300800", "9" * 30, "1_000",
                    "0x10", "5, 6", "Wed, 21 Oct 2015 07:28:00 GMT",
                    "Thu, 01 Jan 1970 00:00:00 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                    "Sun, 06 Nov 1994 08:49:37", "\xff\xfe")
CONTENT_TYPES = ("application/json", "text/html", "text/plain", "application/json; charset=utf-16",
                 "application/json; charset=bogus", "text/event-stream", "application/octet-stream",
                 "", "application/x-ndjson", "application/problem+json", "multipart/form-data")
CONTENT_ENCODINGS = ("gzip", "deflate", "br", "zstd", "identity", "gzip, gzip", "compress", "x-junk", "")
#: Framing headers are the server's business (FaultServer sets them): never drawn.
_FRAMING = {"content-length", "transfer-encoding", "connection"}
_TOKEN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
_HEADER_NAMES = ("Retry-After", "Content-Type", "Content-Encoding", "Location", "Set-Cookie",
                 "WWW-Authenticate", "X-RateLimit-Reset", "X-Request-Id", "Cache-Control")
BODY_SAMPLES = (b"", b" ", b"\n", b"null", b"[]", b"{}", b"0", b'"text"', b"\xef\xbb\xbf{}",
                b'{"a":', b"<html><body>502 Bad Gateway</body></html>", b'{"a": NaN}', b"Infinity",
                '{"a": 1}'.encode("utf-16"), b"[" * 100_000, b'"\\ud800"', b'{"a":"\\u0000"}',
                b'{"a":1}{"b":2}', b"\x00" * 16, b'{"detail": "Not Found"}', b'{"__error__": {}}')


@dataclass
class HttpCase:
    """One HTTP answer to throw at the client, and how the client asks for it."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    close: bool = False
    method: Literal["GET", "POST"] = "POST"
    expect: Literal["object", "json"] = "object"
    mode: Literal["sync", "async"] = "sync"

    def must_close(self) -> bool:
        """1xx, 204 and 304 carry no body: close so no left-over bytes poison the next call."""
        return self.close or self.status < 200 or self.status in (204, 304)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status, "headers": self.headers, "close": self.close,
                                "method": self.method, "expect": self.expect, "mode": self.mode}
        try:
            data["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            data["body_base64"] = base64.b64encode(self.body).decode("ascii")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HttpCase:
        body = (base64.b64decode(data["body_base64"]) if "body_base64" in data
                else str(data.get("body", "")).encode("utf-8"))
        return cls(status=int(data["status"]), headers={str(k): str(v) for k, v in
                                                        dict(data.get("headers") or {}).items()},
                   body=body, close=bool(data.get("close")), method=data.get("method", "POST"),
                   expect=data.get("expect", "object"), mode=data.get("mode", "sync"))


def _header_value() -> SearchStrategy[str]:
    # Latin-1 without CR/LF: anything a server could put on the wire without breaking the framing.
    char = st.one_of(st.integers(0x20, 0x7E), st.integers(0, 0xFF)).filter(
        lambda c: c not in (10, 13)).map(chr)
    return st.lists(char, max_size=24).map("".join)


def _retry_after() -> SearchStrategy[str]:
    return st.one_of(st.sampled_from(RETRY_AFTER_JUNK), _header_value())


def _headers() -> SearchStrategy[dict[str, str]]:
    named = st.one_of(
        st.tuples(st.just("Retry-After"), _retry_after()),
        st.tuples(st.just("Content-Type"), st.sampled_from(CONTENT_TYPES)),
        st.tuples(st.just("Content-Encoding"), st.sampled_from(CONTENT_ENCODINGS)),
        st.tuples(st.one_of(st.sampled_from(_HEADER_NAMES),
                            st.lists(st.sampled_from(_TOKEN), min_size=1, max_size=12).map("".join))
                  .filter(lambda n: n.lower() not in _FRAMING),
                  _header_value()),
    )
    return st.lists(named, max_size=4).map(dict)


def http_bodies(shape: str = "generic") -> SearchStrategy[bytes]:
    def encode(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")

    def truncated(body: bytes) -> SearchStrategy[bytes]:
        return st.integers(0, max(0, len(body) - 1)).map(lambda n: body[:n])

    return st.one_of(
        shaped_responses(shape).map(encode),
        json_values(10).map(encode),
        st.sampled_from(BODY_SAMPLES),
        st.binary(max_size=64),
        json_objects(6).map(encode).flatmap(truncated),
        st.sampled_from(HUGE_SIZES).map(lambda n: b'{"text": "' + b"x" * n + b'"}'),
    )


def http_cases(shape: str = "generic") -> SearchStrategy[HttpCase]:
    """Any status (100..599, odd ones included), junk headers, and any body; a third of the
    cases are retry-worthy statuses (429, 502-504) carrying a Retry-After of any kind."""
    common = {"body": http_bodies(shape), "close": st.booleans(),
              "method": st.sampled_from(["POST", "GET"]),
              "expect": st.sampled_from(["object", "json"]), "mode": st.sampled_from(["sync", "async"])}
    anything = st.builds(
        HttpCase,
        status=st.one_of(st.sampled_from([200, 429, 503, 500, 401, 404, 204, 100, 302]),
                         st.sampled_from(ODD_STATUSES), st.integers(100, 599)),
        headers=_headers(), **common)
    retrying = st.builds(
        HttpCase,
        status=st.sampled_from([429, 503, 429, 502, 429, 504]),
        headers=st.tuples(st.one_of(*[st.sampled_from(RETRY_AFTER_JUNK)] * 3, _header_value()),
                          _headers()).map(lambda t: {**t[1], "Retry-After": t[0]}),
        **common)
    return st.one_of(anything, anything, retrying)


def http_sweep(limit: int) -> list[HttpCase]:
    """Known-nasty HTTP answers, tried before random ones: every odd status with an empty
    body, every junk Retry-After on a 429 and a 503, every odd body on a 200, every lying
    Content-Type and Content-Encoding; taken round-robin across those groups (so a small budget
    samples each), alternating sync/async and expect object/json. At most ``limit`` cases."""
    modes: list[tuple[Literal["sync", "async"], Literal["object", "json"]]] = [
        ("sync", "object"), ("async", "object"), ("sync", "json"), ("async", "json")]
    groups: list[list[tuple[int, dict[str, str], bytes]]] = [
        [(429, {"Retry-After": v}, b"{}") for v in RETRY_AFTER_JUNK],
        [(status, {}, b"") for status in ODD_STATUSES],
        [(200, {}, body) for body in BODY_SAMPLES],
        [(503, {"Retry-After": v}, b"") for v in RETRY_AFTER_JUNK],
        [(200, {"Content-Encoding": v}, b'{"a": 1}') for v in CONTENT_ENCODINGS]
        + [(200, {"Content-Type": v}, b'{"a": 1}') for v in CONTENT_TYPES],
    ]
    cases: list[HttpCase] = []
    for index in range(max(len(g) for g in groups)):
        for group in groups:
            if index < len(group) and len(cases) < limit:
                status, headers, body = group[index]
                mode, expect = modes[len(cases) % len(modes)]
                cases.append(HttpCase(status, dict(headers), body, mode=mode, expect=expect))
    return cases


# -- shrinking JSON further ---------------------------------------------------------------------

def _size(value: Any) -> int:
    try:
        return len(json.dumps(value))
    except (ValueError, RecursionError):
        return 1 << 60


def _replace(value: Any, path: Path_, new: Any, *, delete: bool = False) -> Any:
    """A copy of ``value`` with the node at ``path`` replaced (or deleted); spine-only copying."""
    if not path:
        return new
    spine = [value]
    for step in path[:-1]:
        spine.append(spine[-1][step])
    node: Any = None
    for depth in range(len(path) - 1, -1, -1):
        container = spine[depth]
        step = path[depth]
        copied: Any = dict(container) if isinstance(container, dict) else list(container)
        if depth == len(path) - 1:
            if delete:
                del copied[step]
            else:
                copied[step] = new
        else:
            copied[step] = node
        node = copied
    return node


def _candidates(value: Any, path: Path_, keep_object: bool) -> Iterator[Any]:
    node = get_at(value, path)
    if path:
        yield _replace(value, path, None, delete=True)
    if isinstance(node, (dict, list)) and node:
        for child in (node.values() if isinstance(node, dict) else node):
            if not (keep_object and not path and not isinstance(child, dict)):
                yield _replace(value, path, child)
        yield _replace(value, path, type(node)())
    if path:
        if isinstance(node, str) and node:
            yield _replace(value, path, "")
            half = len(node) // 2
            if half:
                yield _replace(value, path, node[:half])
                yield _replace(value, path, node[half:])
        elif isinstance(node, (int, float)) and not isinstance(node, bool) and math.isfinite(node):
            yield _replace(value, path, 0)
        yield _replace(value, path, None)


def reduce_json(value: Any, still_fails: Callable[[Any], bool], *, budget: int = 3000,
                keep_object: bool = True) -> Any:
    """Greedily cut ``value`` down while ``still_fails`` holds: delete keys and items, hoist
    children, empty containers, halve strings. Each accepted step makes the JSON text strictly
    shorter, so it ends; ``budget`` bounds the number of ``still_fails`` calls."""
    current = value
    current_size = _size(current)
    index = 0
    improved_in_pass = False
    while budget > 0:
        places = [(), *slots(current)]
        if index >= len(places):
            if not improved_in_pass:
                break
            index, improved_in_pass = 0, False  # another pass: earlier cuts may now work
            continue
        improved = False
        for candidate in _candidates(current, places[index], keep_object):
            size = _size(candidate)
            if size >= current_size:
                continue
            budget -= 1
            if still_fails(candidate):
                current, current_size, improved = candidate, size, True
                break
            if budget <= 0:
                break
        if improved:
            improved_in_pass = True
        else:
            index += 1
    return current
