"""Mutations of the REAL responses recorded in cassettes, random and systematic.

:func:`mutated_responses` changes a recorded response at one to three random places (delete a
key, change a type, None, wrap in a list, deep nesting, huge strings, lone surrogates and NUL,
NaN/inf, duplicated or empty content blocks, parts content, a renamed key, a JSON value sent as
a string); :func:`mutation_sweep` replaces each node in turn by None, a string, [], {}, 0 or
itself wrapped in a list (how the published package's parsers break); :func:`responses` mixes
them with framework-shaped responses and arbitrary JSON.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ..recording.cassettes import Cassette
from .jsonpaths import JsonPath, get_at, json_copy, replace_at, slots
from .shapes import shaped_responses
from .values import DEEP_LEVELS, NASTY_NUMBERS, NASTY_STRINGS, huge_texts, json_objects, json_values, keys

# "none" first: it is what the simplest draws (and shrinking) pick.
MUTATIONS = ("none", "retype", "delete", "wrap_list", "wrap_dict", "deep", "huge", "nasty",
             "number", "duplicate", "empty", "parts", "junk_item", "random", "rename", "stringify")
#: What the systematic sweep puts in place of each node of a real response, in this order.
SWEEP_VALUES: tuple[Any, ...] = (None, "text", [], {}, 0)


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

    def apply(self, value: Any, path: JsonPath, op: str) -> None:
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
    per_base: dict[int, list[list[tuple[dict[str, Any], JsonPath]]]] = {}
    for base in distinct:
        mine: dict[int, list[tuple[dict[str, Any], JsonPath]]] = {}
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
                candidate = replace_at(base, path, json_copy(replacement))
                text = json.dumps(candidate, sort_keys=True)
                if text not in seen:
                    seen.add(text)
                    out.append(candidate)
    return out
