"""Build the rig's flows through a running Langflow's own API, from its own component catalogue.

Why build at start instead of loading a saved flow: a flow exported from Langflow embeds
Langflow's component source code, which this repository must not carry. Here the component
templates come from ``GET /api/v1/all`` of the server just started, are wired into
nodes/edges in code, and are posted with ``POST /api/v1/flows/``. Nothing from the catalogue
is written to a tracked file (``dump_catalogue`` writes to the gitignored ``work/`` only).

Flows (fixed UUID4-style ids; UUID5 ids are refused by Langflow):

* ``agent``: Chat Input -> Agent -> Chat Output; the Agent's language model is the OpenAI
  component (``model_output`` -> ``Agent.model``) whose own base-URL field points at our
  fake server, and its one tool is the Calculator component in tool mode
  (``component_as_tool`` -> ``Agent.tools``). The Agent's built-in date and calculator tools
  are switched off so exactly one tool is offered.
* ``echo``: Chat Input -> Chat Output.
* ``agent_llm_down``: the agent flow with the model base URL on the fake server's ``/down``
  path, which hangs up without answering: ``/run`` then answers 500.

Stdlib only: this runs in the project's venv, not in Langflow's.
"""

from __future__ import annotations

import copy
import gzip
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

#: Fixed flow ids (UUID4-style) and endpoint names, so tests and recordings can address them.
FLOWS: dict[str, dict[str, str]] = {
    "agent": {"id": "4a1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "name": "connector-kit-agent",
              "endpoint": "ck-agent"},
    "echo": {"id": "7b2e3d4c-6f70-4b81-9a2b-3c4d5e6f7a8b", "name": "connector-kit-echo",
             "endpoint": "ck-echo"},
    "agent_llm_down": {"id": "9c3f4e5d-7a81-4c92-8b3c-4d5e6f7a8b9c",
                       "name": "connector-kit-agent-llm-down", "endpoint": "ck-agent-llm-down"},
}

#: Cap on any answer read from Langflow (the catalogue is a few MB).
MAX_BODY = 64 * 1024 * 1024

#: Model name sent to the fake server (the OpenAI component's model field is a combobox).
FAKE_MODEL = "fake-gpt"

# Langflow's edge handles are JSON with sorted keys and the quote replaced by U+0153 ("œ").
_QUOTE = "\u0153"
_TOOL_OUTPUT = {
    # The single output a component gets in tool mode (what the canvas's "Tool Mode" toggle does).
    "allows_loop": False, "cache": True, "display_name": "Toolset", "group_outputs": False,
    "hidden": False, "method": "to_toolkit", "name": "component_as_tool", "options": None,
    "required_inputs": None, "selected": "Tool", "tool_mode": True, "types": ["Tool"],
    "value": "__UNDEFINED__",
}


class FlowBuildError(RuntimeError):
    """The catalogue lacked a component, or Langflow refused a flow."""


# -- HTTP ----------------------------------------------------------------------------------
#: No proxy handler: the server is on loopback, and an inherited http_proxy must not reroute it.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _request(method: str, url: str, api_key: str, body: Any = None,
             timeout: float = 60.0) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={
        "x-api-key": api_key, "Content-Type": "application/json", "Accept": "application/json"})
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            raw = resp.read(MAX_BODY)
            status = resp.status
            encoding = resp.headers.get("Content-Encoding", "")
    except urllib.error.HTTPError as err:
        raw, status, encoding = err.read(MAX_BODY), err.code, err.headers.get("Content-Encoding", "")
    except (urllib.error.URLError, OSError) as err:
        raise FlowBuildError(f"{method} {url} failed: {err}") from None
    # 1.12 answers /api/v1/all gzip-encoded whatever the request asked; urllib does not decode.
    if "gzip" in encoding.lower() or raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise FlowBuildError(f"{method} {url}: the gzip body does not decode ({err})") from None
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


def fetch_catalogue(base_url: str, api_key: str) -> dict[str, Any]:
    """The running server's component catalogue: ``{category: {type: template}}``."""
    status, body = _request("GET", f"{base_url}/api/v1/all", api_key, timeout=120)
    if status != 200 or not isinstance(body, dict):
        raise FlowBuildError(f"GET /api/v1/all answered {status}: {str(body)[:300]}")
    return body


def dump_catalogue(catalogue: dict[str, Any], path: Path) -> None:
    """For debugging only: write the catalogue under the gitignored work/ folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(catalogue))


# -- catalogue lookup ----------------------------------------------------------------------
def find_component(catalogue: dict[str, Any], *names: str) -> tuple[str, dict[str, Any]]:
    """(node type, template) of the first component whose type key or class name is in ``names``.

    Extension components are keyed by a namespaced id (``ext:openai:OpenAIModelComponent@...``),
    so the class name in ``metadata.component_class_name`` is matched too.
    """
    for wanted in names:
        for category, components in catalogue.items():
            if category == "component_display_names" or not isinstance(components, dict):
                continue
            for type_key, template in components.items():
                if not isinstance(template, dict) or "template" not in template:
                    continue
                if wanted in (type_key, _class_name(type_key, template)):
                    return type_key, template
    raise FlowBuildError(f"component {names} not in the server's catalogue")


def _class_name(type_key: str, template: dict[str, Any]) -> str:
    """The component's class: its metadata, else (1.12) the name inside an extension key.

    ``ext:openai:OpenAIModelComponent@official`` -> ``OpenAIModelComponent``.
    """
    named = (template.get("metadata") or {}).get("component_class_name")
    if isinstance(named, str) and named:
        return named
    return type_key.rsplit(":", 1)[-1].split("@", 1)[0]


# -- nodes and edges -----------------------------------------------------------------------
def make_node(type_key: str, template: dict[str, Any], node_id: str, x: int) -> dict[str, Any]:
    """A canvas node holding a deep copy of the catalogue template (never mutate the catalogue)."""
    node = copy.deepcopy(template)
    for output in node.get("outputs", []):
        # The canvas serializers expect the full Output shape; the catalogue may omit these.
        output.setdefault("hidden", False)
        output.setdefault("options", None)
        output.setdefault("required_inputs", None)
    return {"id": node_id, "type": "genericNode", "position": {"x": x, "y": 0}, "selected": False,
            "data": {"id": node_id, "type": type_key, "node": node, "showNode": True}}


def set_field(node: dict[str, Any], name: str, value: Any, **attrs: Any) -> None:
    template = node["data"]["node"]["template"]
    if name not in template:
        raise FlowBuildError(f"{node['id']} has no field {name!r}; fields: {sorted(template)}")
    template[name]["value"] = value
    template[name].update(attrs)


def enable_tool_mode(node: dict[str, Any]) -> None:
    """Turn a component into a tool: its outputs become the one ``component_as_tool`` output."""
    inner = node["data"]["node"]
    if not any(isinstance(f, dict) and f.get("tool_mode") for f in inner["template"].values()):
        raise FlowBuildError(f"{node['id']} has no tool_mode input; it cannot be a tool")
    inner["tool_mode"] = True
    inner["outputs"] = [dict(_TOOL_OUTPUT)]


def _handle(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).replace('"', _QUOTE)


def make_edge(source: dict[str, Any], output: str, target: dict[str, Any],
              field: str) -> dict[str, Any]:
    """An edge from ``source``'s output ``output`` to ``target``'s input field ``field``."""
    out = next((o for o in source["data"]["node"]["outputs"] if o["name"] == output), None)
    if out is None:
        raise FlowBuildError(f"{source['id']} has no output {output!r}")
    tfield = target["data"]["node"]["template"].get(field)
    if not isinstance(tfield, dict):
        raise FlowBuildError(f"{target['id']} has no input {field!r}")
    if not set(out["types"]) & set(tfield.get("input_types") or []):
        raise FlowBuildError(f"{source['id']}.{output} {out['types']} does not fit "
                             f"{target['id']}.{field} {tfield.get('input_types')}")
    src = {"dataType": source["data"]["type"], "id": source["id"], "name": output,
           "output_types": out["types"]}
    tgt = {"fieldName": field, "id": target["id"], "inputTypes": tfield.get("input_types"),
           "type": tfield.get("type", "str")}
    src_s, tgt_s = _handle(src), _handle(tgt)
    return {"id": f"reactflow__edge-{source['id']}{src_s}-{target['id']}{tgt_s}",
            "source": source["id"], "sourceHandle": src_s, "target": target["id"],
            "targetHandle": tgt_s, "data": {"sourceHandle": src, "targetHandle": tgt},
            "animated": False, "className": "", "selected": False}


# -- flows ---------------------------------------------------------------------------------
def _flow(key: str, description: str, nodes: list[dict[str, Any]],
          edges: list[dict[str, Any]]) -> dict[str, Any]:
    spec = FLOWS[key]
    return {"id": spec["id"], "name": spec["name"], "endpoint_name": spec["endpoint"],
            "description": description, "is_component": False,
            "data": {"nodes": nodes, "edges": edges, "viewport": {"x": 0, "y": 0, "zoom": 1}}}


def agent_flow(catalogue: dict[str, Any], key: str, model_base_url: str) -> dict[str, Any]:
    """Chat Input -> Agent (OpenAI model at ``model_base_url``, Calculator tool) -> Chat Output."""
    chat_in = make_node(*find_component(catalogue, "ChatInput"), "ChatInput-aaaa1", 0)
    agent = make_node(*find_component(catalogue, "Agent", "AgentComponent"), "Agent-bbbb2", 600)
    model = make_node(*find_component(catalogue, "OpenAIModelComponent", "OpenAIModel"),
                      "OpenAIModel-cccc3", 300)
    chat_out = make_node(*find_component(catalogue, "ChatOutput"), "ChatOutput-dddd4", 900)
    calc = make_node(*find_component(catalogue, "CalculatorComponent"), "Calculator-gggg7", 300)

    # The component's own base-URL field: unlike OPENAI_BASE_URL / the Agent's provider
    # picker, it is not rewritten to a container gateway, so calls stay on loopback.
    set_field(model, "openai_api_base", model_base_url)
    set_field(model, "api_key", "fake", load_from_db=False)  # else read as a global variable name
    set_field(model, "model_name", FAKE_MODEL)
    set_field(model, "max_retries", 0)  # an "LLM down" run must fail at once, not back off
    set_field(model, "timeout", 30)
    set_field(model, "stream", False)
    # Exactly one tool, the wired Calculator: the Agent's built-in ones would add more.
    set_field(agent, "add_current_date_tool", False)
    set_field(agent, "add_calculator_tool", False)
    enable_tool_mode(calc)

    edges = [
        make_edge(chat_in, "message", agent, "input_value"),
        make_edge(model, "model_output", agent, "model"),
        make_edge(calc, "component_as_tool", agent, "tools"),
        make_edge(agent, "response", chat_out, "input_value"),
    ]
    return _flow(key, "connector-kit live rig: agent with a fake OpenAI model and a calculator",
                 [chat_in, model, calc, agent, chat_out], edges)


def echo_flow(catalogue: dict[str, Any]) -> dict[str, Any]:
    chat_in = make_node(*find_component(catalogue, "ChatInput"), "ChatInput-eeee5", 0)
    chat_out = make_node(*find_component(catalogue, "ChatOutput"), "ChatOutput-ffff6", 300)
    return _flow("echo", "connector-kit live rig: echo", [chat_in, chat_out],
                 [make_edge(chat_in, "message", chat_out, "input_value")])


def post_flow(base_url: str, api_key: str, flow: dict[str, Any]) -> None:
    status, body = _request("POST", f"{base_url}/api/v1/flows/", api_key, flow)
    if status != 201:
        raise FlowBuildError(f"POST /api/v1/flows/ {flow['name']} answered {status}: "
                             f"{str(body)[:500]}")


def build_all(base_url: str, api_key: str, fake_root: str,
              dump_to: Path | None = None) -> dict[str, dict[str, str]]:
    """Create the three flows on the server at ``base_url``; returns ``{key: {id, endpoint}}``.

    ``fake_root`` is the fake server's root URL, e.g. ``http://127.0.0.1:PORT``.
    """
    catalogue = fetch_catalogue(base_url, api_key)
    if dump_to is not None:
        dump_catalogue(catalogue, dump_to)
    flows = [
        agent_flow(catalogue, "agent", f"{fake_root}/v1"),
        echo_flow(catalogue),
        agent_flow(catalogue, "agent_llm_down", f"{fake_root}/down/v1"),
    ]
    for flow in flows:
        post_flow(base_url, api_key, flow)
    return {key: {"id": spec["id"], "endpoint": spec["endpoint"], "name": spec["name"]}
            for key, spec in FLOWS.items()}
