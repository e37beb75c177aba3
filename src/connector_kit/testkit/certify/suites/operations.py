"""The ``operations`` certification suite: a connector's typed operations, checked.

* ``operations.schema`` -- every params model's JSON schema is a valid JSON Schema
  (Draft 2020-12, checked with ``jsonschema``) and every parameter is described.
* ``operations.to_llm`` -- ``to_llm()`` shows every operation with its result type, its
  chaining hint and every parameter with its description.
* ``operations.fuzz`` -- invalid parameter values derived from each model (wrong kinds,
  values outside the bounds, unknown names, missing required ones; then Hypothesis's
  arbitrary JSON) are refused as an executor error naming the field, before any request:
  the connector runs offline, so a request that is attempted fails the check.
* ``operations.replay.<scenario>`` -- every recorded operation scenario
  (``<cassettes>/operations/<name>.yaml``) reproduces what each step produced, offline. One
  declared in ``operations/scenarios.yaml`` without a recording, or no cassette folder or no
  recording at all, is a "not run" row, as in the ``replay`` suite.

Each check's ``exercised`` says what it did: schemas validated, operations found in
``to_llm()``, invalid parameter sets refused, steps and requests replayed.

Each check is shown catching a bad connector in ``tests/test_operation_suite.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from ....connectors.base import BaseConnector, ConnectorConfig
from ....connectors.exceptions import ExecutorError
from ....connectors.executor import ExecutionConfig, ExecutionResult, catalogue_of
from ....connectors.operations import RESULT_TYPES, Operation
from ...recording.interception import offline
from ...recording.operation_scenarios import FOLDER, load_catalogue, recorded_operation_scenarios
from ...recording.scenarios import ScenarioError
from ..checks import Check, CheckFailed, error_check, not_run
from ..plan import Plan, framework_of

_UNKNOWN = "__not_a_parameter__"
#: Values of every JSON kind: each field is tried with those its model refuses.
_WRONG_KINDS: list[Any] = [123456789, -1, 0.5, "not-a-valid-value", "", True, None, [1, "a"],
                           {"nested": {"x": 1}}]


def operations_suite(plan: Plan) -> list[Check]:
    cls = plan.connector_class
    catalogue = catalogue_of(cls)
    if not len(catalogue):
        return []  # the connector declares no operations: nothing for this suite to certify
    checks = [
        Check("operations", "schema", lambda: _check_schema(cls),
              "every params model is a valid JSON Schema with every parameter described"),
        Check("operations", "to_llm", lambda: _check_to_llm(cls),
              "to_llm() shows every operation, its result type, next step and parameters"),
        Check("operations", "fuzz", lambda: _check_fuzz(cls, plan),
              "invalid parameters are refused, naming the field, before any request"),
    ]
    checks.extend(_replay_checks(plan))
    return checks


# -- schema -------------------------------------------------------------------------------------

def _check_schema(cls: type[BaseConnector]) -> dict[str, Any]:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    problems: list[str] = []
    params = 0
    for op in catalogue_of(cls):
        schema = op.params_model.model_json_schema()
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            problems.append(f"{op.name}: the params schema is not valid JSON Schema: {exc.message}")
        if schema.get("type") != "object":
            problems.append(f"{op.name}: the params schema is not an object schema")
        for name, info in op.params_model.model_fields.items():
            params += 1
            if not (info.description or "").strip():
                problems.append(f"{op.name}: parameter '{name}' has no description (agents read it)")
        if not op.description:
            problems.append(f"{op.name}: no description")
        if op.result_type not in RESULT_TYPES:
            problems.append(f"{op.name}: unknown result type {op.result_type!r}")
    if problems:
        raise CheckFailed("; ".join(problems[:6]), {"problems": len(problems)})
    return {"detail": f"{len(catalogue_of(cls))} operation(s), {params} parameter(s)",
            "operations": len(catalogue_of(cls)), "parameters": params,
            "exercised": {"schemas validated": len(catalogue_of(cls)), "parameters": params}}


# -- to_llm ---------------------------------------------------------------------------------------

def _check_to_llm(cls: type[BaseConnector]) -> dict[str, Any]:
    text = cls.to_llm()
    problems: list[str] = []
    for op in catalogue_of(cls):
        marker = f"### {op.name}\n"
        if marker not in text:
            problems.append(f"{op.name} is not in to_llm()")
            continue
        section = text.split(marker, 1)[1].split("\n### ", 1)[0]
        if RESULT_TYPES.get(op.result_type, "?") not in section:
            problems.append(f"{op.name}: the result type is not said")
        if not op.next_hint or f"Next: {op.next_hint}" not in section:
            problems.append(f"{op.name}: no chaining hint ('Next: ...' in its docstring)")
        for name, info in op.params_model.model_fields.items():
            if f"`{name}`" not in section or (info.description or "") not in section:
                problems.append(f"{op.name}: parameter '{name}' (or its description) is missing")
    if problems:
        raise CheckFailed("; ".join(problems[:6]), {"problems": len(problems)})
    checked = len(catalogue_of(cls))
    fields = sum(len(op.params_model.model_fields) for op in catalogue_of(cls))
    return {"detail": f"{checked} operation(s) described, {len(text)} characters",
            "characters": len(text),
            "exercised": {"operations found": checked, "parameters found": fields}}


# -- fuzz -----------------------------------------------------------------------------------------

def _check_fuzz(cls: type[BaseConnector], plan: Plan) -> dict[str, Any]:
    connector = cls(config=ConnectorConfig(url="http://127.0.0.1:9/api/v1/run/ck-fuzz", max_retries=0,
                                           timeout=2), **plan.sample_options())
    examples = int(plan.setting("operations", "examples", 25))
    tried = 0
    try:
        with offline():
            for op in catalogue_of(cls):
                for params, field in _invalid_cases(op):
                    _expect_refused(connector, op, params, field)
                    tried += 1
                tried += _random_cases(connector, op, examples)
    finally:
        connector.close()
    return {"detail": f"{tried} invalid parameter sets refused before any request", "cases": tried,
            "exercised": {"operations": len(catalogue_of(cls)), "invalid parameter sets": tried}}


def _expect_refused(connector: BaseConnector, op: Operation, params: dict[str, Any], field: str) -> None:
    try:
        result = connector.execute(ExecutionConfig(op.entity, op.action, params=params))
    except Exception as exc:
        raise CheckFailed(
            f"{op.name} with {_show(params)}: the invalid value was not refused -- the call went on "
            f"and ended in {type(exc).__name__}: {str(exc)[:160]} (a request was attempted)") from None
    if not isinstance(result, ExecutionResult) or result.success or not isinstance(result.exception,
                                                                                  ExecutorError):
        raise CheckFailed(f"{op.name} with {_show(params)}: expected an executor error, got "
                          f"{type(result).__name__} {getattr(result, 'success', '?')}")
    named = getattr(result.exception, "field", None)
    if named != field:
        raise CheckFailed(f"{op.name} with {_show(params)}: the error names field {named!r}, not {field!r}")


def _invalid_cases(op: Operation) -> list[tuple[dict[str, Any], str]]:
    """Invalid parameter sets, one bad field each, with the field the error must name."""
    model, base = op.params_model, _valid_params(op)
    cases: list[tuple[dict[str, Any], str]] = [({**base, _UNKNOWN: 1}, _UNKNOWN)]
    for name in op.required():
        cases.append(({k: v for k, v in base.items() if k != name}, name))
    schema = model.model_json_schema().get("properties", {})
    for name in model.model_fields:
        for value in [*_WRONG_KINDS, *_out_of_bounds(schema.get(name, {}))]:
            params = {**base, name: value}
            if not _accepted(op, params):
                cases.append((params, name))
    return cases


def _random_cases(connector: BaseConnector, op: Operation, examples: int) -> int:
    """Hypothesis: arbitrary JSON for each field; whatever the model refuses must be refused."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from ...fuzz.values import json_values

    base, count = _valid_params(op), 0
    fields = list(op.params_model.model_fields)
    if not fields:
        return 0

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(fields), json_values(6))
    def prop(name: str, value: Any) -> None:
        nonlocal count
        params = {**base, name: value}
        if not _accepted(op, params):
            count += 1
            _expect_refused(connector, op, params, name)

    prop()
    return count


def _valid_params(op: Operation) -> dict[str, Any]:
    props = op.params_model.model_json_schema().get("properties", {})
    return {name: _valid_value(props.get(name, {})) for name in op.required()}


def _valid_value(prop: dict[str, Any]) -> Any:
    if "anyOf" in prop:
        return _valid_value(prop["anyOf"][0])
    if "enum" in prop:
        return prop["enum"][0]
    kind = prop.get("type")
    if kind == "string":
        return str(uuid.uuid4()) if prop.get("format") == "uuid" else "x" * max(1, prop.get("minLength", 1))
    if kind == "integer":
        return int(prop.get("minimum", 1))
    if kind == "number":
        return float(prop.get("minimum", 1))
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return "x"


def _out_of_bounds(prop: dict[str, Any]) -> list[Any]:
    values: list[Any] = []
    for option in prop.get("anyOf", [prop]):
        if "minimum" in option:
            values.append(option["minimum"] - 1)
        if "maximum" in option:
            values.append(option["maximum"] + 1)
        if "exclusiveMinimum" in option:
            values.append(option["exclusiveMinimum"])
        if option.get("format") == "uuid":
            values.append("not-a-uuid")
    return values


def _accepted(op: Operation, params: dict[str, Any]) -> bool:
    try:
        op.validate(params)
    except ExecutorError:
        return False
    return True


def _show(params: dict[str, Any]) -> str:
    return repr(params)[:120]


# -- replay ---------------------------------------------------------------------------------------

def _replay_checks(plan: Plan) -> list[Check]:
    """One check per operation scenario declared or recorded; "not run" rows (failing a strict
    run, as the ``replay`` suite's do) when there is nothing to replay or a declared one has
    no recording."""
    if plan.kit is None:
        return [not_run("operations", "no cassette folder given: the recorded operation scenarios "
                        f"(<cassettes>/{FOLDER}/<name>.yaml) replay from one; pass --cassettes DIR",
                        name="replay")]
    folder = plan.kit.cassettes / FOLDER
    kit = plan.kit
    record = f"connector-kit record {framework_of(plan)} --operations --out {kit.cassettes}"

    def check(name: str) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            from ...recording.operation_record import replay_operation_scenario

            result = replay_operation_scenario(kit, folder / f"{name}.yaml")
            if not result.reproduced:
                raise CheckFailed(result.explain(), {"requests": result.requests})
            return {"detail": f"reproduced: {len(result.steps)} step(s), {result.requests} request(s)",
                    "requests": result.requests, "steps": len(result.steps),
                    "exercised": {"scenarios": 1, "steps": len(result.steps),
                                  "requests": result.requests}}

        return run

    recorded = recorded_operation_scenarios(folder)
    try:
        declared = [s.name for s in load_catalogue(folder)]
    except ScenarioError as exc:  # a malformed catalogue: one error row, the recordings still replay
        return [error_check("operations", exc, name="replay.scenarios.yaml"),
                *(_replay_check(name, check(name)) for name in recorded)]
    missing = [name for name in declared if name not in set(recorded)]
    if not recorded and not missing:
        declare = "" if declared else f"declare them in {folder / 'scenarios.yaml'} and "
        return [not_run("operations", f"no operation scenarios recorded in {folder}: {declare}"
                        f"record them ({record})", name="replay")]
    rows = [_replay_check(name, check(name)) for name in recorded]
    rows += [not_run("operations", f"operation scenario '{name}' is declared in "
                     f"{folder / 'scenarios.yaml'} but has no cassette ({name}.yaml): record it "
                     f"({record})", name=f"replay.{name}") for name in missing]
    return sorted(rows, key=lambda c: c.name)


def _replay_check(name: str, run: Callable[[], dict[str, Any]]) -> Check:
    return Check("operations", f"replay.{name}", run,
                 f"operation scenario '{name}' reproduces its recorded steps offline")
