"""Operations: every framework endpoint as a typed ``entity.action`` with its own params model.

An operation is a function ``(ctx, params) -> exchange`` registered on an
:class:`OperationCatalogue` with :meth:`OperationCatalogue.operation`. Its params model (a
pydantic :class:`OperationParams`, ``extra="forbid"``) is validated before any request, so a
bad value is an :class:`InvalidParameterError` naming the field and nothing is sent. Its
docstring is what an agent reads in :meth:`to_llm`: the first paragraph says what it does, a
``Next:`` paragraph says what to call next with its results (the chaining hint).

The function is an *exchange*, like the agent connectors' ``_exchange``: it yields
:class:`OpCall` objects and receives each decoded response, so one definition runs both
synchronously (``execute``) and asynchronously (``aexecute``). It returns the result data, or
an :class:`OpOutput` when it also has ``meta`` (run ids, pagination) to report.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .exceptions import (
    ActionNotSupportedError,
    EntityNotFoundError,
    InvalidParameterError,
    MissingParameterError,
)

if TYPE_CHECKING:
    from .base import BaseConnector

ResultType = Literal["json", "table", "text", "events"]
Expect = Literal["object", "json", "empty", "stream", "optional"]

#: What each result type tells an agent about ``result.data`` (shown by ``to_llm``).
RESULT_TYPES: dict[str, str] = {
    "json": "result.data is a JSON object (a dict), not a DataFrame.",
    "table": "result.data is a list of records (dicts); result.to_dataframe() gives a DataFrame.",
    "text": "result.data is text (a str), not a DataFrame.",
    "events": "result.data is the list of streamed events, each {'event': ..., 'data': ...}.",
}


class OperationParams(BaseModel):
    """Base of every operation's params model: unknown parameters are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class NoParams(OperationParams):
    """An operation that takes no parameters."""


@dataclass(frozen=True)
class OpCall:
    """One HTTP request an operation asks for.

    ``path`` is relative to the connector's operation base URL (or absolute). ``expect``:
    ``object``/``json`` decode the JSON body, ``empty`` accepts a body-less success (204),
    ``stream`` collects a streamed body into a list of events (``frames``: ``sse`` or
    ``ndjson``, read by the agent connectors' parsers; see :mod:`.streams`), ``optional`` is a
    single-attempt JSON lookup whose failure gives None (the server version).
    """

    method: str
    path: str
    json: Any = None
    query: Mapping[str, Any] | None = None
    expect: Expect = "object"
    frames: Literal["sse", "ndjson"] = "sse"


@dataclass
class OpOutput:
    """An operation's result data plus what it reports beside it (run ids, pagination)."""

    data: Any
    meta: dict[str, Any] = field(default_factory=dict)


OpExchange = Generator[OpCall, Any, Any]
P = TypeVar("P", bound=OperationParams)


@dataclass
class OperationContext:
    """What an operation function gets besides its params: the connector and its base URL."""

    connector: BaseConnector
    base_url: str

    def call(self, method: str, path: str, *, json: Any = None,
             query: Mapping[str, Any] | None = None, expect: Expect = "object") -> OpCall:
        return OpCall(method, path, json, query, expect)


OperationFunc = Callable[[OperationContext, Any], OpExchange]


@dataclass(frozen=True)
class Operation:
    """One ``entity.action``: its params model, result type, description and chaining hint."""

    entity: str
    action: str
    params_model: type[OperationParams]
    func: OperationFunc
    result_type: ResultType = "json"
    description: str = ""
    next_hint: str = ""
    readonly: bool = False

    @property
    def name(self) -> str:
        return f"{self.entity}.{self.action}"

    def validate(self, params: Mapping[str, Any] | None) -> OperationParams:
        """The params model built from ``params``; an executor error naming the bad field."""
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            raise InvalidParameterError(
                f"{self.name}: params must be a dict of parameter names to values, got "
                f"{type(params).__name__}.")
        try:
            return self.params_model.model_validate(dict(params))
        except ValidationError as exc:
            raise _executor_error(self, exc) from None

    def required(self) -> list[str]:
        return [name for name, info in self.params_model.model_fields.items() if info.is_required()]

    def describe(self) -> dict[str, Any]:
        """The operation as data: what ``to_llm`` renders and ``docs/operations.md`` shows."""
        schema = self.params_model.model_json_schema()
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        params = []
        for name, info in self.params_model.model_fields.items():
            prop = props.get(name, {})
            params.append({
                "name": name,
                "type": _type_text(prop),
                "required": name in required,
                "default": None if info.is_required() else info.get_default(call_default_factory=True),
                "description": info.description or "",
            })
        return {"operation": self.name, "entity": self.entity, "action": self.action,
                "result_type": self.result_type, "description": self.description,
                "next": self.next_hint, "readonly": self.readonly, "params": params}


class OperationCatalogue:
    """The operations of one connector class, by entity and action.

    Args:
        name: how ``to_llm`` titles the catalogue (usually the registry name).
        base_url: the connector's operation base URL (default: its ``config.url``).
        check: the ``(entity, action)`` that ``check()`` probes.
        version: the ``(path, key)`` of the server's version endpoint, for provenance.
    """

    def __init__(self, name: str, *, base_url: Callable[[Any], str] | None = None,
                 check: tuple[str, str] | None = None,
                 version: tuple[str, str] | None = None) -> None:
        self.name = name
        self.base_url = base_url or _config_url
        self.check = check
        self.version = version
        self._ops: dict[tuple[str, str], Operation] = {}

    def __repr__(self) -> str:
        return f"OperationCatalogue({self.name!r}, {len(self._ops)} operations)"

    def __iter__(self) -> Iterator[Operation]:
        return iter(self._ops.values())

    def __len__(self) -> int:
        return len(self._ops)

    def copy(self, name: str | None = None) -> OperationCatalogue:
        """A catalogue with the same operations, to extend in a subclass without changing this one."""
        twin = OperationCatalogue(name or self.name, base_url=self.base_url, check=self.check,
                                  version=self.version)
        twin._ops = dict(self._ops)
        return twin

    def add(self, operation: Operation) -> Operation:
        if not operation.description:
            raise ValueError(f"Operation {operation.name} needs a docstring: agents read it.")
        self._ops[(operation.entity, operation.action)] = operation
        return operation

    def operation(self, entity: str, action: str, *, result_type: ResultType = "json",
                  readonly: bool = False,
                  params: type[OperationParams] | None = None) -> Callable[[OperationFunc], OperationFunc]:
        """Decorator adding ``func(ctx, params)`` as ``entity.action``.

        The params model is ``params``, else the annotation of the function's second
        argument. The docstring's first paragraph is the description; a paragraph starting
        ``Next:`` is the chaining hint.
        """

        def decorator(func: OperationFunc) -> OperationFunc:
            model = params or _params_annotation(func)
            description, next_hint = split_docstring(func.__doc__ or "")
            self.add(Operation(entity, action, model, func, result_type, description, next_hint,
                               readonly))
            return func

        return decorator

    def entities(self) -> list[str]:
        return sorted({entity for entity, _ in self._ops})

    def actions(self, entity: str) -> list[str]:
        return sorted(action for e, action in self._ops if e == entity)

    def lookup(self, entity: str, action: str) -> Operation:
        """The operation, or the executor error that lists what exists instead."""
        if not isinstance(entity, str) or entity not in self.entities():
            raise EntityNotFoundError(
                f"Entity {entity!r} not found in {self.name}. Entities: {', '.join(self.entities())}.")
        op = self._ops.get((entity, action)) if isinstance(action, str) else None
        if op is None:
            raise ActionNotSupportedError(
                f"Action {action!r} is not supported for entity {entity!r} in {self.name}. "
                f"Actions: {', '.join(self.actions(entity))}.")
        return op

    def to_llm(self, title: str | None = None) -> str:
        """Every operation as an agent reads it: call form, params, result type, next step."""
        from .llm import render_catalogue

        return render_catalogue(self, title)


def split_docstring(doc: str) -> tuple[str, str]:
    """``(description, next_hint)`` from a docstring whose chaining hint starts a line ``Next:``."""
    text = inspect.cleandoc(doc)
    head, marker, hint = text.partition("\nNext:") if not text.startswith("Next:") else (
        "", "Next:", text.removeprefix("Next:"))
    return " ".join(head.split()), " ".join(hint.split()) if marker else ""


def _config_url(connector: Any) -> str:
    url: str = connector._require_url().rstrip("/")
    return url


def _params_annotation(func: OperationFunc) -> type[OperationParams]:
    parameters = list(inspect.signature(func).parameters.values())
    model: Any = parameters[1].annotation if len(parameters) > 1 else None
    if isinstance(model, str):  # postponed annotations: resolve the one name we need
        try:
            model = typing.get_type_hints(func).get(parameters[1].name)
        except NameError:
            model = func.__globals__.get(model)
    if not (isinstance(model, type) and issubclass(model, OperationParams)):
        raise TypeError(
            f"Operation {func.__qualname__}: annotate its second argument with an OperationParams "
            "subclass, or pass params=... to the decorator.")
    return model


def _executor_error(op: Operation, exc: ValidationError) -> InvalidParameterError | MissingParameterError:
    """The first validation problem as an executor error naming the field."""
    errors = exc.errors(include_url=False)
    missing = [e for e in errors if e["type"] == "missing"]
    first = missing[0] if missing else errors[0]
    loc = ".".join(str(part) for part in first["loc"]) or "params"
    field_name = str(first["loc"][0]) if first["loc"] else None
    if missing:
        return MissingParameterError(
            f"{op.name}: missing required parameter {loc!r}. Required: {', '.join(op.required())}.",
            field=field_name)
    if first["type"] == "extra_forbidden":
        known = ", ".join(op.params_model.model_fields) or "(none)"
        return InvalidParameterError(
            f"{op.name}: unknown parameter {loc!r}. Parameters: {known}.", field=field_name)
    shown = repr(first.get("input"))[:80]
    return InvalidParameterError(f"{op.name}: invalid value for {loc!r} ({shown}): {first['msg']}.",
                                 field=field_name)


def _type_text(prop: dict[str, Any]) -> str:
    """A short type name from a JSON-schema property (``integer``, ``string | null``...)."""
    if "enum" in prop:
        return "one of " + ", ".join(repr(v) for v in prop["enum"])
    if "const" in prop:
        return repr(prop["const"])
    if "anyOf" in prop:
        return " | ".join(dict.fromkeys(_type_text(p) for p in prop["anyOf"]))
    kind = prop.get("type")
    if kind == "array" and isinstance(prop.get("items"), dict):
        return f"list of {_type_text(prop['items'])}"
    if kind == "string" and prop.get("format"):
        return f"string ({prop['format']})"
    if "$ref" in prop:
        return "object"
    return str(kind or "any")
