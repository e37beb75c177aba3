"""Custom auth for the LangGraph rig: every request must carry ``x-api-key``.

The expected key comes from ``CONNECTOR_KIT_LANGGRAPH_KEY``, which the rig generates at random
for each start (never stored in a tracked file). ``langgraph dev`` has no auth of its own and
ignores ``x-api-key``; this handler makes the rig behave like a protected deployment.
``/ok`` is not routed through auth handlers, so the health check stays open.
"""

from __future__ import annotations

import hmac
import os

from langgraph_sdk import Auth

KEY_ENV = "CONNECTOR_KIT_LANGGRAPH_KEY"

auth = Auth()


@auth.authenticate
async def authenticate(headers: dict[bytes, bytes]) -> Auth.types.MinimalUserDict:
    expected = os.environ.get(KEY_ENV, "")
    # Header names arrive as lower-case bytes; accept str keys too in case that changes.
    given = headers.get(b"x-api-key") or headers.get("x-api-key")  # type: ignore[call-overload]
    if isinstance(given, bytes):
        given = given.decode("latin-1")
    # An empty expected key must never match: a rig started without a key stays closed.
    if not expected or not given or not hmac.compare_digest(given, expected):
        raise Auth.exceptions.HTTPException(status_code=401, detail="Invalid or missing x-api-key")
    return {"identity": "connector-kit", "permissions": []}
