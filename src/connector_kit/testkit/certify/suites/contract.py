"""The ``contract`` suite: what every connector promises before any call is replayed.

Registration in the ConnectorRegistry, config validation, and for an agent connector its
headers and auth (the key reaches a header, never a repr) and ``build_request`` against the
recorded requests.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from ....connectors.agent.base import BaseAgentConnector
from ....connectors.base import BaseConnector, ConnectorConfig
from ...recording.replay import recorded_key
from ...recording.targets import registry_names
from ..checks import Check, CheckFailed, CheckNotRun
from ..plan import Plan, is_code_connector


def contract_suite(plan: Plan) -> list[Check]:
    cls = plan.connector_class
    checks = [
        Check("contract", "registration", lambda: _check_registration(cls),
              "the class is registered in ConnectorRegistry under a name"),
        Check("contract", "config_validation", lambda: _check_config_validation(cls),
              "valid configs construct; invalid ones are rejected"),
    ]
    if issubclass(cls, BaseAgentConnector):
        agent_cls = cls
        checks.append(Check("contract", "headers_and_auth",
                            lambda: _check_headers(agent_cls, plan),
                            "the key reaches an auth header, never a repr; none without a key"))
        checks.append(Check("contract", "build_request",
                            lambda: _check_build_request(agent_cls, plan),
                            "build_request is JSON-serialisable and equals the recorded requests"))
    return checks


def _check_registration(cls: type[BaseConnector]) -> dict[str, Any]:
    names = registry_names(cls)
    if not names:
        raise CheckFailed(
            f"{cls.__name__} is not registered: decorate it with "
            "@ConnectorRegistry.register('<name>') so blocks and flows can find it by name."
        )
    return {"detail": f"registered as {', '.join(names)}", "names": names,
            "exercised": {"registry names": len(names)}}


def _check_config_validation(cls: type[BaseConnector]) -> dict[str, Any]:
    url = "http://localhost/api"
    try:
        cls(config=ConnectorConfig(url=url))
    except Exception as exc:
        raise CheckFailed(f"a valid config was refused: {type(exc).__name__}: {exc}") from None
    refused = []
    for bad in ({"url": url, "timeout": 0}, {"url": url, "timeout": -1},
                {"url": url, "timeout": float("nan")}, {"url": url, "max_retries": -1}):
        try:
            cls(config=bad)  # type: ignore[arg-type]
        except (ValidationError, ValueError, TypeError):
            refused.append(bad)
            continue
        raise CheckFailed(
            f"an invalid config was accepted: {bad}. Keep `config: ConnectorConfig` so pydantic "
            "validates it, and validate your own fields."
        )
    try:
        cls()  # type: ignore[call-arg]
    except (ValidationError, ValueError, TypeError):
        pass
    else:
        if not is_code_connector(cls):
            raise CheckFailed("the connector constructs without any config; require `config`.")
    return {"detail": f"{len(refused)} invalid configs refused", "refused": len(refused),
            "exercised": {"configs": len(refused) + 1}}


def _check_headers(cls: type[BaseAgentConnector], plan: Plan) -> dict[str, Any]:
    key = "ck-cert-probe-key-12345"
    options = plan.sample_options()
    with_key = cls(config=ConnectorConfig(url="http://localhost/api", api_key=key), **options)
    without = cls(config=ConnectorConfig(url="http://localhost/api"), **options)
    headers = with_key._build_headers()
    if not any(key in str(v) for v in headers.values()):
        raise CheckFailed(f"the API key reaches no header (headers: {sorted(headers)}).")
    if not any(k.lower() == "content-type" and "json" in v for k, v in headers.items()):
        raise CheckFailed("no Content-Type: application/json header.")
    for shown in (repr(with_key), str(with_key), repr(with_key.config), str(with_key.config)):
        if key in shown:
            raise CheckFailed("the API key appears in the connector's or config's repr/str.")
    bare = without._build_headers()
    leaked = [k for k, v in bare.items() if k.lower() in ("authorization", "x-api-key")
              or "None" in str(v)]
    if leaked:
        raise CheckFailed(f"with no API key, auth headers are still sent: {leaked}.")
    auth_names = sorted(k.lower() for k in headers if k.lower() not in ("content-type", "accept"))
    recorded = {name for c in plan.cassettes() for i in c.interactions
                for name in (h.lower() for h in i.request.headers)
                if name in ("authorization", "x-api-key")}
    if recorded and not recorded & set(auth_names):
        raise CheckFailed(
            f"the recordings authenticate with {sorted(recorded)} but the connector now sends "
            f"{auth_names}."
        )
    return {"detail": f"auth via {', '.join(auth_names) or '(none)'}", "auth_headers": auth_names,
            "exercised": {"connectors built": 2, "reprs read": 4,
                          "recorded auth headers": len(recorded)}}


def _check_build_request(cls: type[BaseAgentConnector], plan: Plan) -> dict[str, Any]:
    if plan.kit is None or not plan.cassettes():
        raise CheckNotRun("no cassettes to compare build_request with")
    normalizer = plan.kit.normalizer
    compared = 0
    for cassette in plan.cassettes():
        section = cassette.scenario
        if section.get("steps") or cassette.metadata.get("lost"):
            continue  # several calls, or the run's answer lost and joined: replay checks those
        connector = plan.kit.replay_connector(cassette, cls)
        assert isinstance(connector, BaseAgentConnector)
        messages = section.get("messages") or []
        try:
            payload = connector.build_request(messages, str(section.get("session_id")))
        except Exception as exc:
            if cassette.outcome is not None and not cassette.outcome.ok:
                continue  # the recorded call failed before or at building: nothing to compare
            raise CheckFailed(f"{section.get('name')}: build_request raised {type(exc).__name__}: "
                              f"{exc}") from None
        try:
            json.dumps(payload, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise CheckFailed(f"{section.get('name')}: build_request output is not JSON-"
                              f"serialisable: {exc}") from None
        masked = normalizer.mask(payload)
        bodies = [recorded_key(normalizer, i.request).body for i in cassette.interactions]
        if masked in bodies:
            compared += 1
            continue
        reached_run = cassette.outcome is not None and (cassette.outcome.ok or (
            cassette.outcome.error_type not in ("ConnectorAuthError",)))
        if reached_run and bodies:
            from ...jsondiff import diff

            differences = diff(bodies[-1], masked)
            raise CheckFailed(
                f"{section.get('name')}: build_request differs from the recorded request:\n  "
                + "\n  ".join(map(str, differences[:8]))
            )
    if not compared:
        raise CheckNotRun(f"no recorded request to compare build_request with: none of the "
                          f"{len(plan.cassettes())} cassette(s) reached the run request")
    return {"detail": f"{compared} recorded request(s) match", "compared": compared,
            "exercised": {"scenarios": compared}}
