"""Keeping credentials out of block reprs, logs and error messages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..connectors._secrets import MASK, is_secret_name, redact, secret_forms

_QUERY_SECRET = re.compile(r"([?&;]([^=&;#\s'\"]*)=)([^&;#\s'\"]*)")


def mask_url(url: str) -> str:
    """``url`` with a userinfo password and credential-like query values replaced by ``***``."""

    def query(match: re.Match[str]) -> str:
        return match.group(1) + MASK if is_secret_name(match.group(2)) else match.group(0)

    try:
        parts = urlsplit(url)
    except ValueError:
        return _QUERY_SECRET.sub(query, url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":" + MASK
        netloc = f"{userinfo}@{host}"
    masked = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return _QUERY_SECRET.sub(query, masked)


def mask_value(name: str | None, value: Any) -> Any:
    """``value`` safe to show: secrets by field name masked, nested mappings and URLs too."""
    if value is None:
        return None
    if name is not None and is_secret_name(name):
        return MASK
    if isinstance(value, Mapping):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask_value(None, v) for v in value)
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return mask_url(value)
    return value


def secret_values_in(name: str | None, value: Any) -> list[str]:
    """Every string held under a credential-like name in ``value`` (recursively)."""
    if isinstance(value, Mapping):
        found: list[str] = []
        for key, item in value.items():
            found.extend(secret_values_in(str(key), item))
        return found
    if name is not None and is_secret_name(name) and isinstance(value, str) and value:
        return [value]
    return []


def redact_deep(value: Any, secrets: list[str]) -> Any:
    """``value`` with every secret masked in its strings, nested dicts and lists included.

    Returns ``value`` itself (no copy) when no string in it holds a secret: the common case
    costs one walk, not a rebuilt response.
    """
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, Mapping | list | tuple) and _may_hold_secret(value, secrets):
        if isinstance(value, Mapping):
            return {k: redact_deep(v, secrets) for k, v in value.items()}
        return type(value)(redact_deep(v, secrets) for v in value)
    return value


#: Nesting :func:`_holds_secret` looks into before it answers "maybe" (recursion stays bounded).
_WALK_DEPTH = 100
#: Characters JSON text escapes: a secret holding one may not appear verbatim in the JSON text.
_JSON_ESCAPED = frozenset('"\\') | frozenset(map(chr, range(0x20)))


def _may_hold_secret(value: Any, secrets: list[str]) -> bool:
    """False only when no string in ``value`` holds a secret in any form; cheap for JSON-shaped
    values.

    Every form :func:`redact` masks is looked for (as written, URL-encoded, base64, hex: a
    server may echo a key in an ``Authorization: Basic`` header it reflects). The JSON text of
    a response holds every string of it (keys included) verbatim, unless a form has a
    character JSON escapes; one C-level dump and a substring search per form replace a Python
    walk over every node (the walk was a quarter of AgentBlock's own CPU per row). A value JSON
    cannot dump, or such a form, takes the walk.
    """
    forms = secret_forms(secrets)
    if not forms:
        return False
    if not any(_JSON_ESCAPED.intersection(form) for form in forms):
        try:
            text = json.dumps(value, ensure_ascii=False, check_circular=False)
        except (TypeError, ValueError, RecursionError):
            pass
        else:
            return any(form in text for form in forms)
    return _holds_secret(value, forms, 0)


def _holds_secret(value: Any, forms: list[str], depth: int) -> bool:
    if isinstance(value, str):
        return any(form in value for form in forms)
    if depth > _WALK_DEPTH:
        return True  # too deep to tell here: redact_deep walks it (or fails the row)
    if isinstance(value, Mapping):
        return any(_holds_secret(k, forms, depth + 1) or _holds_secret(v, forms, depth + 1)
                   for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_secret(v, forms, depth + 1) for v in value)
    return False


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with each secret value and credential-like URL query value masked."""
    return redact(_QUERY_SECRET.sub(
        lambda m: m.group(1) + MASK if is_secret_name(m.group(2)) else m.group(0), text), secrets)


__all__ = ["MASK", "mask_url", "mask_value", "redact_deep", "scrub", "secret_values_in"]
