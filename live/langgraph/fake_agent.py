"""The graph the LangGraph rig serves: a tool-calling agent driven by a rule-based fake chat model.

Runs inside the rig's own venv (``langgraph dev``), never in the project's. No network, no LLM:
every answer is a pure function of the messages and the run config, so recordings are stable.

Rules of :class:`RuleChatModel` (checked on the LAST message):

* ToolMessage                          -> final answer "The answer to <expr> is <result>."
                                          (status "error" -> "Sorry, I could not compute <expr>: <error>.")
* human text with "explode"            -> the agent node raises ValueError("graph exploded on purpose")
* human text with "approval"           -> the agent node pauses with ``interrupt({"question": ...})``;
                                          resumed with value V it answers "approved=V"
* human text with "slowly"             -> the agent node sleeps ``configurable.delay`` seconds
                                          (default 2) first: a run longer than a short timeout
* human text with arithmetic ("2+3")   -> tool call ``calculator(expression="2+3")``, id ``call_calc_<turn>``
* human text with "divide" but no sum  -> tool call ``calculator(expression="1/0")`` (the tool raises)
* anything else                        -> "You said: <text>", plus " (turn N)" once N > 1 human turns

``config.configurable.answer_style == "parts"`` makes AI content a list of text parts
(``[{"type": "text", "text": ...}]``), the shape real providers such as Anthropic return.

Drift switch (for the kit's own drift tests): ``CONNECTOR_KIT_FAKE_DRIFT=answer_text`` in the
server's environment rewords the final answer after a tool ("The result of <expr> is <r>.").
The wire-level switches are in ``fake_wire.py``.
"""

from __future__ import annotations

import ast
import operator
import os
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool, tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import interrupt

# An arithmetic run: starts/ends with a digit or paren and holds at least one operator.
_ARITHMETIC = re.compile(r"[\d(][\d\s.+\-*/%()]*[+\-*/%][\d\s.+\-*/%()]*[\d)]")

Number = float | int

#: Drift switches named in the server's environment (see the module docstring).
DRIFT = frozenset(s.strip() for s in os.environ.get("CONNECTOR_KIT_FAKE_DRIFT", "").split(","))

_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}


def _evaluate(node: ast.AST) -> Number:
    """Evaluate a tiny arithmetic AST; no ``eval`` so the tool cannot run arbitrary code."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    raise ValueError(f"unsupported expression element: {type(node).__name__}")


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression such as '2+3' or '(4*5)/2'."""
    # Errors (ZeroDivisionError, SyntaxError) propagate on purpose: ToolNode turns them
    # into a ToolMessage with status "error" because handle_tool_errors=True.
    value = _evaluate(ast.parse(expression.strip(), mode="eval"))
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # "10", not "10.0": matches what a person (and the samples) expect
    return str(value)


def _text(message: BaseMessage) -> str:
    """Plain text of a message whose content may be a string or a list of parts."""
    if isinstance(message.content, str):
        return message.content
    parts = [p.get("text", "") if isinstance(p, dict) else str(p) for p in message.content]
    return "".join(parts)


class RuleChatModel(BaseChatModel):
    """Deterministic rule-based chat model; holds no iterator, so concurrent runs never drift."""

    @property
    def _llm_type(self) -> str:
        return "connector-kit-rule-fake"

    def bind_tools(self, tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
                   **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        # Bind the tool names only: _generate emits a tool call only if "calculator" is bound.
        names = [convert_to_openai_tool(t)["function"]["name"] for t in tools]
        return self.bind(tool_names=names, **kwargs)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        parts = kwargs.get("answer_style") == "parts"
        message = self._reply(messages, kwargs.get("tool_names") or [], parts)
        return ChatResult(generations=[ChatGeneration(message=message)])

    @staticmethod
    def _content(text: str, parts: bool) -> str | list[str | dict[str, Any]]:
        return [{"type": "text", "text": text}] if parts else text

    def _reply(self, messages: list[BaseMessage], tool_names: list[str], parts: bool) -> AIMessage:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            expr = _expression_for(messages, last.tool_call_id)
            if last.status == "error":
                # ToolNode wraps errors as "Error: <repr>\n Please fix your mistakes."
                reason = _text(last).removeprefix("Error: ").splitlines()[0].strip()
                text = f"Sorry, I could not compute {expr}: {reason}."
            elif "answer_text" in DRIFT:
                text = f"The result of {expr} is {_text(last)}."
            else:
                text = f"The answer to {expr} is {_text(last)}."
            return AIMessage(content=self._content(text, parts))

        text = _text(last).strip()
        turn = sum(isinstance(m, HumanMessage) for m in messages)
        match = _ARITHMETIC.search(text)
        wanted = match.group(0).strip() if match else ("1/0" if "divide" in text.lower() else None)
        if wanted is not None and "calculator" in tool_names:
            call = {"name": "calculator", "args": {"expression": wanted},
                    "id": f"call_calc_{turn}", "type": "tool_call"}
            # String style mimics OpenAI (empty content); parts style mimics Anthropic (text part).
            content = self._content(f"Let me calculate {wanted}.", parts) if parts else ""
            return AIMessage(content=content, tool_calls=[call])
        suffix = f" (turn {turn})" if turn > 1 else ""
        return AIMessage(content=self._content(f"You said: {text}{suffix}", parts))


def _expression_for(messages: list[BaseMessage], tool_call_id: str) -> str:
    """The expression of the AI tool call that a ToolMessage answers."""
    for message in reversed(messages):
        for call in getattr(message, "tool_calls", None) or []:
            if call.get("id") == tool_call_id:
                return str(call["args"].get("expression", "?"))
    return "?"


MODEL = RuleChatModel()
TOOLS = [calculator]


def agent(state: MessagesState, config: RunnableConfig) -> dict[str, list[BaseMessage]]:
    """The agent node: one model call per step, styled by ``configurable.answer_style``."""
    last = state["messages"][-1]
    configurable = config.get("configurable") or {}
    said = _text(last).lower() if isinstance(last, HumanMessage) else ""
    if "explode" in said:
        raise ValueError("graph exploded on purpose")
    if "approval" in said:
        # Human in the loop: the run stops here; a run with {"command": {"resume": V}} goes on.
        answer = interrupt({"question": f"Approve this? {_text(last)}"})
        return {"messages": [AIMessage(content=f"approved={answer}")]}
    if "slowly" in said:
        time.sleep(min(float(configurable.get("delay", 2.0)), 10.0))
    style = configurable.get("answer_style", "text")
    model = MODEL.bind_tools(TOOLS).bind(answer_style=style)
    return {"messages": [model.invoke(state["messages"], config)]}


_builder = StateGraph(MessagesState)
_builder.add_node("agent", agent)
_builder.add_node("tools", ToolNode(TOOLS, handle_tool_errors=True))
_builder.add_edge(START, "agent")
_builder.add_conditional_edges("agent", tools_condition, ["tools", END])
_builder.add_edge("tools", "agent")
graph = _builder.compile()
