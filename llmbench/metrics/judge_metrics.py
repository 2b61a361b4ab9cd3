"""ragas' LLM-judged metrics, scored one row at a time with ``ascore``.

These use the ``ragas.metrics.collections`` classes awaited directly, without
``ragas.evaluate``: no executor overhead, and they work inside a running event
loop (Jupyter). Each needs a `Judge`; metrics that compare meanings
(answer_relevancy, answer_correctness) use llmbench's offline embeddings, never
a provider's embedding endpoint.

| name | ragas class | reads |
|---|---|---|
| faithfulness | Faithfulness | question, output, contexts |
| answer_relevancy | AnswerRelevancy | question, output |
| answer_correctness | AnswerCorrectness | question, output, answer |
| factual_correctness | FactualCorrectness | output, answer |
| llm_context_precision | ContextPrecisionWithReference | question, answer, contexts |
| llm_context_recall | ContextRecall | question, contexts, answer |
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmbench.metrics.base import Metric, Scores, register
from llmbench.metrics.judge import CALL_CONTEXT, Judge

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

#: Frame column that feeds each ragas ``ascore`` argument.
_SOURCES = {
    "user_input": "question",
    "response": "output_text",
    "retrieved_contexts": "contexts",
    "reference": "answer",
}
_TAG_COLUMNS = ("run_id", "case_id", "prompt_name", "prompt_version", "repeat")


@dataclass(frozen=True)
class JudgeMetric(Metric):
    """A metric graded by an LLM judge through a ragas collections class.

    Attributes:
        arguments: The ``ascore`` keyword arguments the ragas metric takes.
        uses_embeddings: Whether the ragas class needs an embeddings object.
    """

    arguments: tuple[str, ...] = ()
    uses_embeddings: bool = False
    defaults: Mapping[str, Any] = field(default_factory=dict)


def offline_ragas_embeddings() -> Any:
    """A ragas (collections) embeddings object over `llmbench.embeddings`."""
    from ragas.embeddings.base import BaseRagasEmbedding

    from llmbench.embeddings import embed

    class OfflineEmbeddings(BaseRagasEmbedding):  # type: ignore[misc]
        """llmbench's offline sentence embeddings, as ragas expects them."""

        def embed_text(self, text: str, **kwargs: Any) -> list[float]:
            return [float(x) for x in embed([text])[0]]

        async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
            return self.embed_text(text)

        def embed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
            return [[float(x) for x in row] for row in embed(list(texts))]

        async def aembed_texts(
            self, texts: list[str], **kwargs: Any
        ) -> list[list[float]]:
            return self.embed_texts(texts)

    return OfflineEmbeddings()


def offline_legacy_embeddings() -> Any:
    """A legacy ragas embeddings object (``embed_query``) for ``ragas.evaluate``."""
    from ragas.embeddings.base import BaseRagasEmbeddings
    from ragas.run_config import RunConfig

    from llmbench.embeddings import embed

    class OfflineLegacyEmbeddings(BaseRagasEmbeddings):  # type: ignore[misc]
        """llmbench's offline sentence embeddings for ragas' legacy metrics."""

        def embed_query(self, text: str) -> list[float]:
            return [float(x) for x in embed([text])[0]]

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [[float(x) for x in row] for row in embed(list(texts))]

        async def aembed_query(self, text: str) -> list[float]:
            return self.embed_query(text)

        async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.embed_documents(texts)

    embeddings = OfflineLegacyEmbeddings()
    embeddings.set_run_config(RunConfig())
    return embeddings


def _collections(name: str) -> Callable[..., Any]:
    """A factory building the named ragas collections metric class."""

    def build(**kwargs: Any) -> Any:
        from ragas.metrics import collections

        return getattr(collections, name)(**kwargs)

    build.__doc__ = f"ragas.metrics.collections.{name}"
    return build


def _register_judge_metric(
    name: str,
    ragas_class: str,
    arguments: tuple[str, ...],
    description: str,
    *,
    uses_embeddings: bool = False,
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Register one ragas LLM-judged metric under `name`."""
    needs = tuple(_SOURCES[a] for a in arguments if _SOURCES[a] != "output_text")
    register(
        JudgeMetric(
            name=name,
            func=_collections(ragas_class),
            kind="judge",
            needs=needs,
            description=description,
            arguments=arguments,
            uses_embeddings=uses_embeddings,
            defaults=defaults or {},
        )
    )


_register_judge_metric(
    "faithfulness",
    "Faithfulness",
    ("user_input", "response", "retrieved_contexts"),
    "Share of the output's claims supported by the contexts (LLM judge, 0-1).",
)
_register_judge_metric(
    "answer_relevancy",
    "AnswerRelevancy",
    ("user_input", "response"),
    "How well the output answers the question (LLM judge + embeddings, 0-1).",
    uses_embeddings=True,
    # One generated question per row: at the judge's near-zero temperature more
    # generations repeat the same question and only multiply the cost.
    defaults={"strictness": 1},
)
_register_judge_metric(
    "answer_correctness",
    "AnswerCorrectness",
    ("user_input", "response", "reference"),
    "Factual overlap with the reference answer plus similarity (LLM judge, 0-1).",
    uses_embeddings=True,
)
_register_judge_metric(
    "factual_correctness",
    "FactualCorrectness",
    ("response", "reference"),
    "F1 of the output's claims against the reference answer's (LLM judge, 0-1).",
)
_register_judge_metric(
    "llm_context_precision",
    "ContextPrecisionWithReference",
    ("user_input", "reference", "retrieved_contexts"),
    "Whether useful contexts are ranked first, judged by an LLM (0-1).",
)
_register_judge_metric(
    "llm_context_recall",
    "ContextRecall",
    ("user_input", "retrieved_contexts", "reference"),
    "Share of the reference answer's claims found in the contexts (LLM judge, 0-1).",
)


async def score_with_judge(
    metric_obj: JudgeMetric,
    rows: pd.DataFrame,
    judge: Judge,
    *,
    params: Mapping[str, Any],
    label: str,
) -> Scores:
    """Score each row with an LLM-judged metric, `judge.max_concurrency` at a time.

    A row whose judge call fails (a bad reply after retries, a timeout) scores
    NaN and its detail says why; the other rows go on.
    """
    kwargs: dict[str, Any] = {**metric_obj.defaults, **params, "llm": judge.ragas_llm()}
    if metric_obj.uses_embeddings:
        kwargs["embeddings"] = offline_ragas_embeddings()
    ragas_metric = metric_obj.func(**kwargs)
    gate = asyncio.Semaphore(judge.max_concurrency)
    records = rows.to_dict("records")

    async def one(row: Mapping[str, Any]) -> tuple[float, str | None]:
        tags = {c: row.get(c) for c in _TAG_COLUMNS}
        CALL_CONTEXT.set({**tags, "metric": label, "scored_model": row.get("model")})
        arguments = {a: _argument(row, _SOURCES[a]) for a in metric_obj.arguments}
        async with gate:
            try:
                result = await ragas_metric.ascore(**arguments)
            except Exception as exc:  # one bad row must not sink the batch
                logger.debug("judge metric %s failed on %s", label, tags, exc_info=True)
                message = judge.scrub(f"judge failed: {type(exc).__name__}: {exc}")
                return math.nan, message[:300]
        value = getattr(result, "value", result)
        number = math.nan if value is None else float(value)
        reason = getattr(result, "reason", None)
        if math.isnan(number):
            return number, reason or "the judge's replies gave no score"
        return number, reason

    results = await asyncio.gather(*(one(row) for row in records))
    await judge.wait_for_usage()
    return Scores([r[0] for r in results], [r[1] for r in results])


def _argument(row: Mapping[str, Any], column: str) -> Any:
    """A row's value for a ragas argument: passage lists as lists of str."""
    value = row.get(column)
    if column == "contexts":
        items = (
            value.tolist() if value is not None and hasattr(value, "tolist") else value
        )
        if isinstance(items, list | tuple):
            return [str(v) for v in items]
        return [str(items)]
    if column == "answer" and isinstance(value, list | tuple):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)
