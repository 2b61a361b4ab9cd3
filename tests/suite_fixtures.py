"""A scripted LLM judge for the suite tests: known verdicts, counted calls.

Test modules load it with ``pytest_plugins = ["suite_fixtures"]``. The stub
server answers ragas' prompts by substring: answers split into two statements,
one of them supported by the context (faithfulness 0.5), one true and one
false positive against the reference (answer correctness with weights
[1.0, 0.0], its factuality F1: 2/3). Per case, faithfulness makes 2 judge
calls and answer correctness 3.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmbench.testing import LocalServer

JUDGE_SCRIPT = {
    "Break down each sentence": {
        "statements": ["Paris is the capital.", "Paris is on Mars."]
    },
    "judge the faithfulness of a series": {
        "statements": [
            {"statement": "Paris is the capital.", "reason": "stated", "verdict": 1},
            {"statement": "Paris is on Mars.", "reason": "not stated", "verdict": 0},
        ]
    },
    "classify them in one of the following categories": {
        "TP": [{"statement": "Paris is the capital.", "reason": "in the reference"}],
        "FP": [{"statement": "Paris is on Mars.", "reason": "not in the reference"}],
        "FN": [],
    },
}


@pytest.fixture(scope="module")
def judge_stub() -> Iterator[LocalServer]:
    """One scripted judge server per test module."""
    with LocalServer.start(replies=JUDGE_SCRIPT) as server:
        yield server


@pytest.fixture
def judge_server(judge_stub: LocalServer) -> LocalServer:
    """The scripted judge with its counters at zero."""
    judge_stub.reset()
    return judge_stub
