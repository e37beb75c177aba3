"""``to_llm()``: operation catalogues written as an agent reads them (Markdown text).

Each operation shows how to call it, what it does, what ``result.data`` holds (its result
type), what to call next with its results, and every parameter with its type, default and
description -- the guide's "docstrings as workflow guidance". ``docs/operations.md`` is this
text for the built-in connectors (``connector-kit operations --write docs/operations.md``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .operations import RESULT_TYPES

if TYPE_CHECKING:
    from .operations import Operation, OperationCatalogue


def render_catalogue(catalogue: OperationCatalogue, title: str | None = None) -> str:
    lines = [f"## {title or catalogue.name}", ""]
    if not len(catalogue):
        lines.append("(no operations)")
        return "\n".join(lines) + "\n"
    lines.append(f"Entities: {', '.join(catalogue.entities())}. Call an operation with "
                 "`connector.execute(entity, action, params={...})`; an unknown entity or action, "
                 "or a missing or invalid parameter, comes back as `success=False` with the error, "
                 "and nothing is sent.")
    lines.append("")
    for op in sorted(catalogue, key=lambda o: (o.entity, o.action)):
        lines.extend(render_operation(op))
    return "\n".join(lines).rstrip() + "\n"


def render_operation(op: Operation) -> list[str]:
    info = op.describe()
    required = [p["name"] for p in info["params"] if p["required"]]
    shown = ", ".join(f'"{name}": ...' for name in required)
    lines = [f"### {op.name}", "",
             f'`execute("{op.entity}", "{op.action}", params={{{shown}}})`'
             + (" (read-only)" if op.readonly else ""), "",
             info["description"], "",
             f"-> {RESULT_TYPES[op.result_type]}"]
    if info["next"]:
        lines += ["", f"Next: {info['next']}"]
    lines += ["", "Parameters:"]
    if not info["params"]:
        lines.append("- (none)")
    for param in info["params"]:
        need = "required" if param["required"] else f"optional, default {_default(param['default'])}"
        description = f": {param['description']}" if param["description"] else ""
        lines.append(f"- `{param['name']}` ({param['type']}; {need}){description}")
    lines.append("")
    return lines


def _default(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def operations_document() -> str:
    """``docs/operations.md``: the built-in connectors' ``to_llm()``, with a header saying so."""
    from .agent import LangflowConnector, LangGraphConnector

    header = ("# Operations of the built-in connectors\n\n"
              "Generated from `to_llm()` by `connector-kit operations --write docs/operations.md`; "
              "do not edit by hand (a test checks that it is current). This is exactly what an "
              "agent reads: `ConnectorRegistry.to_llm()` or `LangGraphConnector.to_llm()`.\n\n")
    return header + "\n".join(cls.to_llm() for cls in (LangGraphConnector, LangflowConnector))
