"""ragas' non-LLM metrics, computed with the same formulas but without ragas.

ragas scores these one row at a time through an executor (about 4 ms per
row-metric here, nearly all overhead). The formulas are short, so llmbench
computes them directly with the libraries ragas itself calls (rapidfuzz,
sacrebleu, rouge-score), batch-wise. ``tests/test_metrics.py`` checks on
sample rows that the results agree with ragas 0.4.3's own classes:

- ``string_similarity``: ``NonLLMStringSimilarity`` (1 - normalized distance).
- ``bleu``: ``BleuScore`` (sacrebleu corpus BLEU over ". "-split sentences).
- ``rouge``: ``RougeScore`` (rouge-score with the Porter stemmer).
- ``non_llm_context_precision``: ``NonLLMContextPrecisionWithReference``.
- ``non_llm_context_recall``: ``NonLLMContextRecall``.

The context metrics compare the retrieved passages (the case's ``contexts``)
with the passages that should have been retrieved (``reference_contexts``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from llmbench.errors import MetricError
from llmbench.metrics.base import Scores, vectorized_metric
from llmbench.metrics.deterministic import references

if TYPE_CHECKING:
    import pandas as pd

DISTANCES = ("levenshtein", "hamming", "jaro", "jaro_winkler")


def string_similarity_scorer(distance: str = "levenshtein") -> Callable[..., float]:
    """rapidfuzz's normalized similarity function for a distance name."""
    from rapidfuzz import distance as rf

    scorers = {
        "levenshtein": rf.Levenshtein,
        "hamming": rf.Hamming,
        "jaro": rf.Jaro,
        "jaro_winkler": rf.JaroWinkler,
    }
    if distance not in scorers:
        raise MetricError(
            f"unknown string distance {distance!r}; "
            f"choose one of {', '.join(DISTANCES)}"
        )
    similarity: Callable[..., float] = scorers[distance].normalized_similarity
    return similarity


def _best_over_references(
    rows: pd.DataFrame, pair_score: Callable[[str, str], float]
) -> list[float]:
    """Per row, the best `pair_score(reference, output)` over its references."""
    scores: list[float] = []
    for out, value in zip(
        rows["output_text"].tolist(), rows["answer"].tolist(), strict=True
    ):
        refs = references(value)
        text = out if isinstance(out, str) else ""
        scores.append(
            math.nan if refs is None else max(pair_score(r, text) for r in refs)
        )
    return scores


@vectorized_metric("string_similarity", needs=("answer",))
def string_similarity(rows: pd.DataFrame, distance: str = "levenshtein") -> Any:
    """1 - normalized edit distance between reference and output (0-1)."""
    import numpy as np
    from rapidfuzz.process import cpdist

    scorer = string_similarity_scorer(distance)
    answers = rows["answer"].tolist()
    if all(isinstance(a, str) for a in answers):
        outputs = [
            t if isinstance(t, str) else "" for t in rows["output_text"].tolist()
        ]
        return cpdist(answers, outputs, scorer=scorer, dtype=np.float64, workers=1)
    return _best_over_references(rows, scorer)


def bleu_score(reference: str, response: str, scorer: Any = None) -> float:
    """ragas' BLEU: sacrebleu corpus BLEU over sentences split on ". " (0-1).

    `scorer` is a reusable ``sacrebleu.BLEU()``; one is made when None.
    """
    if scorer is None:
        from sacrebleu import BLEU

        scorer = BLEU()
    hypotheses = response.split(". ")
    reference_streams = [[sentence] for sentence in reference.split(". ")]
    return float(scorer.corpus_score(hypotheses, reference_streams).score) / 100


@vectorized_metric("bleu", needs=("answer",))
def bleu(rows: pd.DataFrame) -> list[float]:
    """BLEU of the output against the reference answer, as ragas computes it (0-1)."""
    from sacrebleu import BLEU

    scorer = BLEU()
    return _best_over_references(rows, lambda ref, out: bleu_score(ref, out, scorer))


@vectorized_metric("rouge", needs=("answer",))
def rouge(
    rows: pd.DataFrame, rouge_type: str = "rougeL", mode: str = "fmeasure"
) -> list[float]:
    """ROUGE (``rouge1`` or ``rougeL``; f-measure, precision or recall), 0-1."""
    from rouge_score import rouge_scorer

    if mode not in ("fmeasure", "precision", "recall"):
        raise MetricError("metric 'rouge': mode must be fmeasure, precision or recall")
    try:
        scorer = rouge_scorer.RougeScorer([rouge_type], tokenizer=_StemmingTokenizer())
    except ValueError as exc:
        raise MetricError(f"metric 'rouge': {exc}") from exc

    def pair(reference: str, response: str) -> float:
        return float(getattr(scorer.score(reference, response)[rouge_type], mode))

    return _best_over_references(rows, pair)


class _StemmingTokenizer:
    """rouge-score's tokenizer with the Porter stemmer, remembering its work.

    Stemming is most of ROUGE's cost and a batch repeats the same words (and
    often the same texts), so stems and token lists are cached per batch.
    """

    def __init__(self) -> None:
        from nltk.stem import porter

        self._stemmer = porter.PorterStemmer()
        self._stems: dict[str, str] = {}
        self._tokens: dict[str, list[str]] = {}

    def stem(self, word: str) -> str:
        found = self._stems.get(word)
        if found is None:
            found = self._stems[word] = self._stemmer.stem(word)
        return found

    def tokenize(self, text: str) -> list[str]:
        from rouge_score import tokenize

        found = self._tokens.get(text)
        if found is None:
            found = self._tokens[text] = tokenize.tokenize(text, self)
        return found


def _passage_list(value: Any) -> list[str] | None:
    """A list of passage strings from a case field, or None when absent."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return [value]
    items = value.tolist() if hasattr(value, "tolist") else value
    return [str(item) for item in items] if isinstance(items, Sequence) else None


def _context_matches(
    rows: pd.DataFrame,
    distance: str,
    score_row: Callable[[list[str], list[str], Callable[..., float]], float],
) -> Scores:
    """Apply a per-row context score, NaN where either passage list is missing."""
    similarity = string_similarity_scorer(distance)
    values: list[float] = []
    details: list[str | None] = []
    for retrieved_value, reference_value in zip(
        rows["contexts"].tolist(), rows["reference_contexts"].tolist(), strict=True
    ):
        retrieved = _passage_list(retrieved_value)
        expected = _passage_list(reference_value)
        if not retrieved or not expected:
            values.append(math.nan)
            details.append("empty contexts or reference_contexts")
            continue
        values.append(score_row(retrieved, expected, similarity))
        details.append(None)
    return Scores(values, details)


@vectorized_metric(
    "non_llm_context_precision", needs=("contexts", "reference_contexts")
)
def non_llm_context_precision(
    rows: pd.DataFrame, threshold: float = 0.5, distance: str = "levenshtein"
) -> Scores:
    """Average precision of retrieved passages that match a reference passage."""

    def score_row(
        retrieved: list[str], expected: list[str], similarity: Callable[..., float]
    ) -> float:
        verdicts = [
            int(max(similarity(rc, ref) for ref in expected) >= threshold)
            for rc in retrieved
        ]
        hits = 0
        numerator = 0.0
        for rank, verdict in enumerate(verdicts, start=1):
            hits += verdict
            numerator += hits / rank * verdict
        return numerator / (sum(verdicts) + 1e-10)

    return _context_matches(rows, distance, score_row)


@vectorized_metric("non_llm_context_recall", needs=("contexts", "reference_contexts"))
def non_llm_context_recall(
    rows: pd.DataFrame, threshold: float = 0.5, distance: str = "levenshtein"
) -> Scores:
    """Share of reference passages that some retrieved passage matches (0-1)."""

    def score_row(
        retrieved: list[str], expected: list[str], similarity: Callable[..., float]
    ) -> float:
        found = [
            max(similarity(rc, ref) for rc in retrieved) > threshold for ref in expected
        ]
        return sum(found) / len(found)

    return _context_matches(rows, distance, score_row)
