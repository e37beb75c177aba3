"""``${VAR}`` and ``${VAR:-default}`` substitution in flow configs (values only, never keys).

- ``${NAME}``: the environment variable; unset -> :class:`FlowConfigError` naming the
  variable, the block and the field.
- ``${NAME:-default}``: the variable, or ``default`` when it is unset or empty.
- ``$$``: a literal ``$`` (so ``$${NAME}`` stays ``${NAME}``).

Substitution happens after YAML parsing, on string values, so a value with quotes or colons
cannot break the YAML; pydantic then converts ``"30"`` to a number where a field wants one.
Error messages name variables, never their values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from .errors import FlowConfigError

_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def substitute_env(
    value: Any, environ: Mapping[str, str] | None = None, *, where: str = "flow config", path: str = ""
) -> Any:
    """``value`` with every ``${...}`` reference in its strings replaced (recursively)."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    if isinstance(value, str):
        return _substitute(value, env, where, path)
    if isinstance(value, Mapping):
        return {key: substitute_env(item, env, where=where, path=f"{path}.{key}" if path else str(key))
                for key, item in value.items()}
    if isinstance(value, list):
        return [substitute_env(item, env, where=where, path=f"{path}[{index}]")
                for index, item in enumerate(value)]
    return value


def _substitute(text: str, env: Mapping[str, str], where: str, path: str) -> str:
    field = f"field '{path}'" if path else "a value"
    if "${" in _TOKEN.sub("", text):
        raise FlowConfigError(f"{where}: {field}: unterminated '${{' in a variable reference; "
                              "write ${NAME} or ${NAME:-default} (or $$ for a literal $)")

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        body = match.group(1)
        name, has_default, default = body.partition(":-")
        if not _NAME.match(name):
            raise FlowConfigError(
                f"{where}: {field}: malformed variable reference '${{{body}}}'; write ${{NAME}} or "
                "${NAME:-default}"
            )
        found = env.get(name)
        if found is None or (has_default and found == ""):
            if has_default:
                return default
            raise FlowConfigError(
                f"{where}: {field}: environment variable {name} is not set. Set it (export "
                f"{name}=...) or give a default in the YAML: ${{{name}:-default}}."
            )
        return found

    return _TOKEN.sub(replace, text)


__all__ = ["substitute_env"]
