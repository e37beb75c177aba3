"""Recording: run a scenario against a live server and write its cassette, scrubbed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from .. import __version__
from .._safe_yaml import safe_name
from ..connectors.base import BaseConnector
from .cassettes import Cassette, CassetteError, Interaction, Outcome, RecordedRequest, RecordedResponse
from .episode import build_connector, class_path, run_connector, stats_dicts
from .interception import recording
from .normalize import Canonicalizer, Normalizer
from .scenarios import Scenario
from .scrub import PLACEHOLDER, assert_no_leaks, is_auth_header, scrub_text, scrub_value


@dataclass
class RecordResult:
    scenario: str
    path: Path
    outcome: Outcome
    expectation_met: bool
    expected: str


def record_scenario(
    connector_cls: type[BaseConnector],
    scenario: Scenario,
    context: dict[str, Any],
    out_dir: Path,
    normalizer: Normalizer,
    *,
    secrets: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> RecordResult:
    """Run ``scenario`` live, then scrub, canonicalise, write and scan its cassette."""
    resolved = scenario.resolve(context)
    raw: list[tuple[httpx.Request, int, httpx.Headers, bytes]] = []
    with recording(lambda req, status, headers, body: raw.append((req, status, headers, body))):
        connector = build_connector(connector_cls, resolved.url, resolved.config, resolved.options)
        try:
            outcome, stats = run_connector(connector, scenario.messages,
                                           scenario.effective_session_id)
        finally:
            connector.close()
    secret_values = [s for s in [*(secrets or []), context.get("api_key"),
                                 *connector.config.secret_values()] if isinstance(s, str) and s]
    canon = normalizer.canonicalizer()
    cassette = Cassette(
        interactions=[_interaction(req, status, headers, body, normalizer, canon, secret_values)
                      for req, status, headers, body in raw],
        scenario=_scenario_section(scenario, resolved.url, resolved.config, resolved.options, canon,
                                   secret_values),
        metadata={
            "framework": scenario.framework,
            "connector_class": class_path(connector_cls),
            "connector_kit_version": __version__,
            "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **scrub_value(metadata or {}, secret_values),
        },
        outcome=Outcome.from_dict(scrub_value(canon.value(outcome.to_dict()), secret_values)),
        stats=canon.value(scrub_value(stats_dicts(stats), secret_values)),
    )
    path = out_dir / f"{safe_name(scenario.name, 'scenario name', error=CassetteError)}.yaml"
    cassette.save(path)
    try:
        assert_no_leaks([path], secret_values)
    except Exception:
        path.unlink(missing_ok=True)
        raise
    met = (outcome.ok if scenario.expect == "ok" else outcome.error_type == scenario.expect)
    return RecordResult(scenario.name, path, cassette.outcome or outcome, met, scenario.expect)


def _interaction(req: httpx.Request, status: int, headers: httpx.Headers, body: bytes,
                 normalizer: Normalizer, canon: Canonicalizer, secrets: list[str]) -> Interaction:
    request = RecordedRequest(
        method=req.method,
        uri=canon.text(scrub_text(str(req.url), secrets)),
        headers=_headers(req.headers, normalizer, secrets),
        body=_body(req.content, canon, secrets) if req.content else None,
    )
    response = RecordedResponse(
        status=status,
        message=httpx.codes.get_reason_phrase(status),
        headers=_headers(headers, normalizer, secrets),
        body=_body(body, canon, secrets),
    )
    return Interaction(request, response)


def _headers(headers: httpx.Headers, normalizer: Normalizer, secrets: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in headers.multi_items():
        if not normalizer.keep_header(name):
            continue
        out.setdefault(name, []).append(PLACEHOLDER if is_auth_header(name) else scrub_text(value, secrets))
    return out


def _body(body: bytes, canon: Canonicalizer, secrets: list[str]) -> str:
    text = body.decode("utf-8", errors="replace")
    try:
        value = json.loads(text)
    except ValueError:
        return canon.text(scrub_text(text, secrets))
    return json.dumps(canon.value(scrub_value(value, secrets)), ensure_ascii=False)


def _scenario_section(scenario: Scenario, url: str, config: dict[str, Any], options: dict[str, Any],
                      canon: Canonicalizer, secrets: list[str]) -> dict[str, Any]:
    config = dict(config)
    if config.get("api_key") is not None:
        config["api_key"] = PLACEHOLDER
    return {
        "name": scenario.name,
        "framework": scenario.framework,
        "description": scenario.description,
        "messages": scrub_value(scenario.messages, secrets),
        "session_id": scenario.effective_session_id,
        "url": canon.text(scrub_text(url, secrets)),
        "config": scrub_value(config, secrets),
        "options": canon.value(scrub_value(options, secrets)),
        "expect": scenario.expect,
    }
