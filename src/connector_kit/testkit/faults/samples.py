"""Built-in success bodies, trimmed from real responses (Langflow 1.x /run, LangGraph dev server).

What the fault suite answers a built-in connector with when there are no cassettes.
"""

from __future__ import annotations

from typing import Any

_ANSWER = 'The answer is 5. (tool said: {"result": "5"})'
_STEPS = [
    {"type": "tool_use", "duration": 0, "header": {"title": "Executed **evaluate_expression**",
                                                    "icon": "Hammer"},
     "name": "evaluate_expression", "tool_input": {"expression": "2+3"},
     "output": {"content": '{"result": "5"}', "additional_kwargs": {}, "response_metadata": {},
                "type": "tool", "name": "evaluate_expression",
                "id": "eb8be28d-66d7-4b10-9ad4-43f58d4c6822", "tool_call_id": "call_6ebc7d83",
                "artifact": {"result": "5"}, "status": "success"}, "error": None},
    {"type": "text", "duration": 0, "header": {}, "text": _ANSWER},
]
LANGFLOW_SAMPLE: dict[str, Any] = {
    "session_id": "ck-faults",
    "outputs": [{"inputs": {"input_value": "what is 2+3?"}, "outputs": [{
        "results": {"message": {
            "text_key": "text",
            "data": {"timestamp": "2026-11-22 02:13:04.001203 UTC", "sender": "Machine",
                     "sender_name": "AI", "session_id": "ck-faults", "text": _ANSWER, "files": [],
                     "error": False, "category": "message",
                     "content_blocks": [{"title": "Agent Steps", "contents": _STEPS,
                                         "allow_markdown": True, "media_url": None}],
                     "id": "b4e6d322-f361-47b7-82dc-6e98cf3ccbd4",
                     "flow_id": "4a1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"},
            "default_value": "", "sender": "Machine", "sender_name": "AI", "files": [],
            "session_id": "ck-faults", "text": _ANSWER,
            "content_blocks": [{"title": "Agent Steps", "contents": _STEPS}]}},
        "artifacts": {"message": _ANSWER, "sender": "Machine", "type": "object"},
        "outputs": {"message": {"message": _ANSWER, "type": "text"}},
        "component_display_name": "Chat Output", "component_id": "ChatOutput-dddd4",
    }]}],
}
#: The Langflow answer above cut down by hand to what the langflow extractor reads (text, session
#: id, one Agent Steps block): 595 bytes of JSON. The delayed stub of the AgentBlock-at-scale
#: benchmark answers it -- the body issue 17's figures were measured with (at 500 in flight
#: the client is CPU-bound, so the body's size moves the result: see ``bench/scale.py``).
LANGFLOW_BENCH_SAMPLE: dict[str, Any] = {
    "session_id": "bench-session",
    "outputs": [{
        "inputs": {"input_value": "what is 2+3?"},
        "outputs": [{
            "results": {"message": {
                "text_key": "text",
                "text": "The answer is 5.",
                "data": {
                    "text": "The answer is 5.",
                    "sender": "Machine",
                    "content_blocks": [{
                        "title": "Agent Steps",
                        "contents": [
                            {"type": "tool_use", "name": "evaluate_expression",
                             "tool_input": {"expression": "2+3"},
                             "output": {"content": "{\"result\": \"5\"}", "status": "success"}},
                            {"type": "text", "text": "The answer is 5."},
                        ],
                    }],
                },
                "session_id": "bench-session",
            }},
            "artifacts": {"message": "The answer is 5.", "type": "object"},
        }],
    }],
}
LANGGRAPH_THREAD_SAMPLE: dict[str, Any] = {
    "thread_id": "01a20103-dcee-7263-aa0d-7ae1f9c7b989",
    "created_at": "2026-11-22T02:09:20.110403+00:00", "updated_at": "2026-11-22T02:09:20.110403+00:00",
    "state_updated_at": "2026-11-22T02:09:20.110403+00:00", "metadata": {"session_id": "ck-faults"},
    "status": "idle", "config": {}, "values": None,
}
LANGGRAPH_RUN_SAMPLE: dict[str, Any] = {"messages": [
    {"content": "what is 2+3?", "additional_kwargs": {}, "response_metadata": {}, "type": "human",
     "name": None, "id": "a97ce30c-2a07-43da-8064-c3a95dffc302"},
    {"content": "", "additional_kwargs": {}, "response_metadata": {}, "type": "ai", "name": None,
     "id": "lc_run--01a20103-e205-751d-b804-4c5d59a758f6-0",
     "tool_calls": [{"name": "calculator", "args": {"expression": "2+3"}, "id": "call_calc_1",
                     "type": "tool_call"}], "invalid_tool_calls": [], "usage_metadata": None},
    {"content": "5", "additional_kwargs": {}, "response_metadata": {}, "type": "tool",
     "name": "calculator", "id": "548b3d1f-cfcb-48ee-9402-1f6d6bf36739", "tool_call_id": "call_calc_1",
     "artifact": None, "status": "success"},
    {"content": "The answer to 2+3 is 5.", "additional_kwargs": {}, "response_metadata": {},
     "type": "ai", "name": None, "id": "lc_run--01a20103-e209-70d4-9b3a-7a1cee0fcd77-0",
     "tool_calls": [], "invalid_tool_calls": [], "usage_metadata": None},
]}
