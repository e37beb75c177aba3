"""ConnectorConfig fields, defaults and validation; ConnectorRegistry register/get/list_all/clear."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from connector_kit.connectors import (
    BaseConnector,
    ConnectorConfig,
    ConnectorError,
    ConnectorRegistry,
    LangflowConnector,
    LangGraphConnector,
)

# -- ConnectorConfig ---------------------------------------------------------------------------


def test_config_defaults() -> None:
    config = ConnectorConfig()
    assert config.url is None
    assert config.api_key is None
    assert config.timeout == 120.0
    assert isinstance(config.timeout, float)
    assert config.max_retries == 3
    assert isinstance(config, BaseModel)


def test_config_fields_as_given() -> None:
    config = ConnectorConfig(url="http://localhost:7860/api/v1/run/f", api_key="k-123", timeout=60.0,
                             max_retries=5)
    assert (config.url, config.api_key, config.timeout, config.max_retries) == (
        "http://localhost:7860/api/v1/run/f", "k-123", 60.0, 5)


def test_config_field_set_is_the_spec_one() -> None:
    assert set(ConnectorConfig.model_fields) == {"url", "api_key", "timeout", "max_retries"}


@pytest.mark.parametrize("timeout", [0, 0.0, -1, -0.001, math.nan, math.inf, -math.inf, "nan", "inf"])
def test_config_rejects_bad_timeout(timeout: Any) -> None:
    with pytest.raises(ValidationError) as info:
        ConnectorConfig(timeout=timeout)
    assert info.value.errors()[0]["loc"] == ("timeout",)


@pytest.mark.parametrize("timeout", [0.001, 1, 5.5, 1e6])
def test_config_accepts_positive_finite_timeout(timeout: float) -> None:
    assert ConnectorConfig(timeout=timeout).timeout == float(timeout)


@pytest.mark.parametrize("max_retries", [-1, -10])
def test_config_rejects_negative_max_retries(max_retries: int) -> None:
    with pytest.raises(ValidationError) as info:
        ConnectorConfig(max_retries=max_retries)
    assert info.value.errors()[0]["loc"] == ("max_retries",)


@pytest.mark.parametrize("max_retries", [0, 1, 10])
def test_config_accepts_non_negative_max_retries(max_retries: int) -> None:
    assert ConnectorConfig(max_retries=max_retries).max_retries == max_retries


def test_config_rejects_non_integer_max_retries() -> None:
    with pytest.raises(ValidationError):
        ConnectorConfig(max_retries=1.5)


def test_config_allows_extra_fields() -> None:
    config = ConnectorConfig(url="http://x", flow_id="abc", tweaks={"a": 1})
    assert config.model_extra == {"flow_id": "abc", "tweaks": {"a": 1}}
    assert config.flow_id == "abc"  # type: ignore[attr-defined]
    assert ConnectorConfig.model_config.get("extra") == "allow"


def test_config_round_trips_through_dump() -> None:
    config = ConnectorConfig(url="http://x", api_key="k", timeout=3, max_retries=0, extra_field=1)
    assert ConnectorConfig(**config.model_dump()) == config


# -- BaseConnector -----------------------------------------------------------------------------


def test_base_connector_requires_config_and_execute() -> None:
    assert issubclass(BaseConnector, BaseModel)
    with pytest.raises(TypeError):
        BaseConnector(config=ConnectorConfig())  # type: ignore[abstract]

    class Echo(BaseConnector):
        def execute(self, request: Any) -> Any:
            return {"echo": request}

    with pytest.raises(ValidationError):
        Echo()  # type: ignore[call-arg]
    assert Echo(config=ConnectorConfig()).execute(1) == {"echo": 1}


def test_base_connector_aexecute_defaults_to_execute_in_a_thread() -> None:
    import asyncio
    import threading

    seen: list[int] = []

    class Echo(BaseConnector):
        def execute(self, request: Any) -> Any:
            seen.append(threading.get_ident())
            return request * 2

    result = asyncio.run(Echo(config=ConnectorConfig()).aexecute(21))
    assert result == 42
    assert seen and seen[0] != threading.get_ident()


# -- ConnectorRegistry -------------------------------------------------------------------------


def test_builtin_connectors_are_registered() -> None:
    assert ConnectorRegistry.get("langflow") is LangflowConnector
    assert ConnectorRegistry.get("langgraph") is LangGraphConnector
    assert {"langflow", "langgraph"} <= set(ConnectorRegistry.list_all())


def test_get_unknown_names_the_available_connectors() -> None:
    with pytest.raises(ConnectorError) as info:
        ConnectorRegistry.get("nonexistent")
    expected = "Connector 'nonexistent' not found. Available: " + ", ".join(ConnectorRegistry.list_all())
    assert str(info.value) == expected
    assert "langflow, langgraph" in str(info.value)


@pytest.mark.usefixtures("restore_registry")
def test_get_unknown_message_matches_the_spec_with_only_the_builtins() -> None:
    for name in list(ConnectorRegistry.list_all()):
        if name not in ("langflow", "langgraph"):
            del ConnectorRegistry._connectors[name]
    with pytest.raises(ConnectorError, match=r"^Connector 'nonexistent' not found\. Available: "
                                             r"langflow, langgraph$"):
        ConnectorRegistry.get("nonexistent")


@pytest.mark.usefixtures("restore_registry")
def test_register_and_get_a_custom_connector() -> None:
    @ConnectorRegistry.register("my_connector")
    class MyConnector(BaseConnector):
        def execute(self, request: Any) -> Any:
            return {"result": request.get("input")}

    assert ConnectorRegistry.get("my_connector") is MyConnector
    assert "my_connector" in ConnectorRegistry.list_all()
    connector = ConnectorRegistry.get("my_connector")(config=ConnectorConfig())
    assert connector.execute({"input": "x"}) == {"result": "x"}


@pytest.mark.usefixtures("restore_registry")
def test_register_rejects_a_non_class() -> None:
    def not_a_class() -> None:
        pass

    with pytest.raises(ConnectorError, match="class"):
        ConnectorRegistry.register("bad")(not_a_class)  # type: ignore[type-var]
    with pytest.raises(ConnectorError):
        ConnectorRegistry.register("bad")(LangflowConnector(config=ConnectorConfig()))  # type: ignore[type-var]
    assert "bad" not in ConnectorRegistry.list_all()


@pytest.mark.usefixtures("restore_registry")
def test_register_rejects_a_class_that_is_not_a_connector() -> None:
    class NotAConnector:
        pass

    with pytest.raises(ConnectorError, match="BaseConnector"):
        ConnectorRegistry.register("bad")(NotAConnector)  # type: ignore[type-var]
    with pytest.raises(ConnectorError):
        ConnectorRegistry.register("bad")(dict)  # type: ignore[type-var]
    assert "bad" not in ConnectorRegistry.list_all()


@pytest.mark.usefixtures("restore_registry")
def test_list_all_is_sorted() -> None:
    for name in ("zeta", "alpha", "Mid", "beta"):
        ConnectorRegistry.register(name)(LangflowConnector)
    names = ConnectorRegistry.list_all()
    assert names == sorted(names)
    assert {"zeta", "alpha", "Mid", "beta", "langflow", "langgraph"} <= set(names)
    assert isinstance(names, list)


@pytest.mark.usefixtures("restore_registry")
def test_clear_forgets_everything() -> None:
    ConnectorRegistry.clear()
    assert ConnectorRegistry.list_all() == []
    with pytest.raises(ConnectorError) as info:
        ConnectorRegistry.get("langflow")
    assert str(info.value).startswith("Connector 'langflow' not found. Available:")


def test_registry_was_restored_after_clear() -> None:
    # Runs after test_clear_forgets_everything in file order: the fixture put the builtins back.
    assert ConnectorRegistry.get("langflow") is LangflowConnector


def test_get_with_an_unhashable_name_is_a_connector_error() -> None:
    with pytest.raises(ConnectorError, match="not found"):
        ConnectorRegistry.get(["langflow"])  # type: ignore[arg-type]
