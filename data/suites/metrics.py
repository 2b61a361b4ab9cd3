"""Custom metrics for the sample suites.

A suite names this file under ``metrics_module`` (a path relative to the suite
file); llmbench imports it once when the suite loads, and the metrics its
decorators register can then be listed under ``metrics`` like built-in ones.
A row metric is a plain function of the output text and the case's fields
(merged with the call's record: ``latency_s``, ``model``...) returning a
number, a bool, None (not scorable) or a `Score` with a short detail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from llmbench.metrics import Score, metric

_WORD = re.compile(r"\w+")


@metric("grounded", threshold=0.9, needs=("contexts",))
def grounded(output: str, case: Mapping[str, Any], min_length: int = 3) -> Score:
    """Share of the output's words found in the case's context passages (0-1).

    A cheap, offline stand-in for faithfulness: an answer that copies or
    paraphrases closely from the passages scores near 1, one that brings in
    words from elsewhere scores lower. Words shorter than `min_length`
    letters ("a", "of") are not checked.
    """
    words = [w for w in _WORD.findall(output.lower()) if len(w) >= min_length]
    if not words:
        return Score(None, "no words to check")

    passages = case.get("contexts") or []
    context = set(_WORD.findall(" ".join(map(str, passages)).lower()))
    missing = [w for w in words if w not in context]
    detail = f"not in the context: {', '.join(missing[:5])}" if missing else None
    return Score(1.0 - len(missing) / len(words), detail)
