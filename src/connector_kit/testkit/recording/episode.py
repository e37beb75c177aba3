"""Running one scenario through a connector and capturing its connector-level outcome.

Loading a connector by name lives in :mod:`.targets`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ...connectors.agent.base import BaseAgentConnector
from ...connectors.base import BaseConnector, ConnectorConfig
from ...connectors.exceptions import ConnectorError, ConnectorKitError
from ...connectors.http import CallStats, FakeClock
from .interception import OfflineError
from .outcome import Outcome
from .steps import StepLog, run_steps
from .targets import TargetError

#: The API key a replayed connector is given where the recording had one (scrubbed).
REPLAY_KEY = "ck-replay-key-not-a-secret"


def build_connector(cls: type[BaseConnector], url: str | None, config: dict[str, Any],
                    options: dict[str, Any]) -> BaseConnector:
    return cls(config=ConnectorConfig(url=url, **config), **options)


def run_connector(connector: BaseConnector, messages: list[dict[str, Any]], session_id: str, *,
                  fake_clock: bool = False, steps: list[dict[str, Any]] | None = None,
                  ) -> tuple[Outcome, list[CallStats]]:
    """Send once (or run ``steps``, see steps.py); return what the connector made of it and
    the HTTP call statistics. The event names of streamed steps are the outcome's ``events``.

    Kit failures (an unmatched replay request, a network attempt while offline) propagate:
    they are not the connector's outcome.
    """
    stats: list[CallStats] = []
    if isinstance(connector, BaseAgentConnector):
        client = connector.http_client
        if fake_clock:
            client.clock = FakeClock()
        client.observers.append(stats.append)
    if not isinstance(connector, BaseAgentConnector):
        raise TargetError(f"{type(connector).__name__} is not an agent connector; scenarios send "
                          "messages, so they need a BaseAgentConnector.")
    log = StepLog()
    try:
        response: Any = (run_steps(connector, steps, session_id, log) if steps
                         else connector.send(messages, session_id))
    except (OfflineError, ConnectorKitError) as exc:
        if not isinstance(exc, ConnectorError):
            raise
        return Outcome(ok=False, error_type=type(exc).__name__, error_message=str(exc),
                       status_code=getattr(exc, "status_code", None),
                       events=log.events or None), stats
    except Exception as exc:
        if _is_kit_failure(exc):
            raise
        return Outcome(ok=False, error_type=type(exc).__name__,
                       error_message=f"(not a ConnectorError) {exc}"), stats
    assert isinstance(response, dict)
    outcome = outcome_of_response(type(connector), response)
    outcome.events = log.events or None
    return outcome, stats


def _is_kit_failure(exc: BaseException) -> bool:
    """vcrpy's "no recording answers this request" (and its relatives) are the kit's failure,
    not the connector's outcome."""
    return type(exc).__module__.split(".")[0] == "vcr"


def outcome_of_response(cls: type[BaseAgentConnector], response: dict[str, Any]) -> Outcome:
    def safe(fn: Any) -> Any:
        try:
            return fn(response)
        except Exception as exc:
            return f"<extractor raised {type(exc).__name__}: {exc}>"

    return Outcome(ok=True, text=safe(cls.extract_text), session_id=safe(cls.extract_session_id),
                   tool_trace=safe(cls.extract_tool_trace))


def stats_dicts(stats: list[CallStats]) -> list[dict[str, Any]]:
    out = []
    for item in stats:
        data = asdict(item)
        data["waits"] = [round(w, 3) for w in item.waits]
        data.pop("elapsed", None)  # wall time varies per run; kept out of the file
        out.append(data)
    return out
