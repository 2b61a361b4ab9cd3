"""Metrics: score a run's outputs, by name, from notebooks and suite files.

    from llmbench.metrics import score, metric

    @metric("mentions_source", threshold=1.0)
    def mentions_source(output, case, **params):
        return case["source"] in output

    scores = score(run.to_frame(), ["exact_match", "token_f1", "mentions_source"],
                   cases=dataset)

Built-in metrics (see `available_metrics()`): deterministic string and JSON
checks (`llmbench.metrics.deterministic`), semantic similarity with offline
embeddings (`llmbench.metrics.semantic`), ragas' non-LLM metrics computed
directly (`llmbench.metrics.ragas_metrics`) and ragas' LLM-judged metrics
(`llmbench.metrics.judge_metrics`, which need a `Judge`).

Importing this package is light: pandas, ragas, litellm and the embedding model
load when a metric first needs them.
"""

from __future__ import annotations

from llmbench.metrics import deterministic, judge_metrics, ragas_metrics, semantic
from llmbench.metrics.base import (
    Metric,
    MetricSpec,
    Score,
    Scores,
    available_metrics,
    get_metric,
    metric,
    register,
    vectorized_metric,
)
from llmbench.metrics.cases import join_cases
from llmbench.metrics.judge import Judge
from llmbench.metrics.scoring import (
    IDENTITY_COLUMNS,
    SCORE_COLUMNS,
    ascore,
    score,
    summarize,
)

del deterministic, judge_metrics, ragas_metrics, semantic

__all__ = [
    "IDENTITY_COLUMNS",
    "SCORE_COLUMNS",
    "Judge",
    "Metric",
    "MetricSpec",
    "Score",
    "Scores",
    "ascore",
    "available_metrics",
    "get_metric",
    "join_cases",
    "metric",
    "register",
    "score",
    "summarize",
    "vectorized_metric",
]
