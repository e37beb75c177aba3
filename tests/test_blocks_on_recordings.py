"""AgentBlock -> AgentResponseExtractorBlock on the committed recordings, offline.

The rows are the recorded scenarios of one endpoint; the kit's replayer answers the
block's concurrent requests from the cassettes (matched on the masked request body), so
the blocks meet exactly what the real Langflow and LangGraph servers returned.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from connector_kit.blocks import AgentBlock, AgentResponseExtractorBlock
from connector_kit.testkit.cassettes import Cassette
from connector_kit.testkit.episode import REPLAY_KEY
from connector_kit.testkit.interception import replaying
from connector_kit.testkit.normalize import normalizer_for
from connector_kit.testkit.replay import Replayer

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"

# Scenarios sharing one endpoint and config, so one block serves them all; graph_error is
# the one bad row (LangGraph answers 200 with __error__).
ROWS = {
    "langgraph": ["plain_chat", "tool_call", "multi_turn", "tool_error", "graph_error"],
    "langflow": ["plain_chat", "tool_call", "multi_turn"],
}


def _merged(framework: str, names: list[str]) -> tuple[Cassette, list[Cassette]]:
    cassettes = [Cassette.load(CASSETTES / framework / f"{name}.yaml") for name in names]
    merged = Cassette(interactions=[i for c in cassettes for i in c.interactions])
    return merged, cassettes


@pytest.mark.parametrize("framework", sorted(ROWS))
def test_blocks_reproduce_the_recorded_outcomes(framework: str) -> None:
    merged, cassettes = _merged(framework, ROWS[framework])
    first = cassettes[0].scenario
    frame = pd.DataFrame({
        "messages": [c.scenario["messages"] for c in cassettes],
        "session": [c.scenario["session_id"] for c in cassettes],
    })
    agent = AgentBlock(block_name="agent", agent_framework=framework, agent_url=first["url"],
                       agent_api_key=REPLAY_KEY, input_cols={"messages": "messages"},
                       output_cols=["response"], session_id_col="session", max_retries=0,
                       max_concurrency=4)
    extractor = AgentResponseExtractorBlock(block_name="extract", agent_framework=framework,
                                            input_cols=["response"], extract_text=True,
                                            extract_tool_trace=True, field_prefix="out_")
    replayer = Replayer(merged, normalizer_for(None, framework))
    with replaying(replayer.answer):
        out = extractor.generate(agent.generate(frame))
    replayer.check_all_used()

    assert len(out) == len(cassettes)  # nothing dropped
    for row, cassette in zip(out.itertuples(index=False), cassettes, strict=True):
        recorded = cassette.outcome
        assert recorded is not None
        if recorded.ok:
            assert row.response_error is None
            assert row.out_text == recorded.text
            assert row.out_tool_trace == recorded.tool_trace  # a list of dicts (or None)
        else:
            assert row.response is None
            assert str(row.response_error).startswith(f"{recorded.error_type}: ")
    assert agent.last_summary is not None
    assert agent.last_summary.failed == sum(not c.outcome.ok for c in cassettes if c.outcome)
    pa.Table.from_pandas(out)  # Arrow-safe, error rows included
