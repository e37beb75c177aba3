"""The connector class under fuzz, and what its recordings say about building and calling it.

The cassettes give the scenario's config and options (to construct the connector as it was
recorded), its messages (to call it with) and the framework it was recorded from (the
response skeleton to fuzz it with).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...connectors.agent.base import BaseAgentConnector
from ...connectors.base import BaseConnector, ConnectorConfig
from ..recording.cassettes import Cassette, CassetteError
from ..recording.targets import registry_names
from .http_property import HTTP_TIMEOUT
from .properties import message_of
from .shapes import SHAPES

SESSION_ID = "ck-fuzz"


class Subject:
    """Builds fresh instances of ``cls`` as its cassettes recorded them, pointed at any URL."""

    def __init__(self, cls: type[BaseAgentConnector], cassettes: Sequence[Cassette]) -> None:
        self.cls = cls
        self.cassettes = list(cassettes)
        self._instance: BaseAgentConnector | None = None

    def options(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The first recorded scenario's config (without url, key, timeout, retries) and options."""
        for cassette in self.cassettes:
            section = cassette.scenario
            if section:
                config = {k: v for k, v in dict(section.get("config") or {}).items()
                          if k not in ("api_key", "url", "timeout", "max_retries")}
                return config, dict(section.get("options") or {})
        return {}, {}

    def make(self, url: str, timeout: float = HTTP_TIMEOUT) -> BaseAgentConnector:
        """A fresh connector at ``url``: one retry, ``timeout`` seconds per attempt."""
        config, options = self.options()
        return self.cls(config=ConnectorConfig(url=url, timeout=timeout, max_retries=1, **config),
                        **options)

    def problem(self) -> str | None:
        """Why the class cannot be built this way (None: it can)."""
        try:
            self.instance()
        except Exception as exc:
            return (f"cannot construct {self.cls.__name__} with ConnectorConfig(url=...) and the "
                    f"recorded options: {type(exc).__name__}: {message_of(exc)}")
        return None

    def instance(self) -> BaseAgentConnector:
        """One instance kept for the offline properties (nothing is ever sent through it)."""
        if self._instance is None:
            self._instance = self.make("http://127.0.0.1:9/fuzz")
        return self._instance

    def messages(self) -> tuple[Any, str]:
        """The recorded messages (or a plain "hello") and the session id to send them with."""
        for cassette in self.cassettes:
            messages = cassette.scenario.get("messages")
            if messages:
                return messages, SESSION_ID
        return [{"role": "user", "content": "hello"}], SESSION_ID


def guess_shape(cls: type[BaseConnector], cassettes: Sequence[Cassette] = ()) -> str:
    """The response skeleton to fuzz ``cls`` with: from its base class, registry name or the
    framework its cassettes were recorded from; "generic" (every shape) otherwise."""
    from ...connectors.agent.langflow import LangflowConnector
    from ...connectors.agent.langgraph import LangGraphConnector

    if issubclass(cls, LangflowConnector):
        return "langflow"
    if issubclass(cls, LangGraphConnector):
        return "langgraph"
    names = registry_names(cls)
    for cassette in cassettes:
        names.append(str(cassette.metadata.get("framework") or cassette.scenario.get("framework")))
    for name in names:
        if name in SHAPES:
            return name
    return "generic"


def load_cassettes(folder: Path) -> list[Cassette]:
    """Every readable cassette in ``folder`` (``scenarios.yaml`` and dot files excluded)."""
    found = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "scenarios.yaml" or path.name.startswith("."):
            continue
        with contextlib.suppress(CassetteError):
            found.append(Cassette.load(path))
    return found
