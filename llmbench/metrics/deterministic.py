"""Deterministic metrics: string matching, JSON checks, length, latency, cost.

All of them are vectorized (one call over the whole batch) and need no model.
The reference answer is the case's ``answer`` field: a string, or a list of
acceptable strings (the best match counts, as in SQuAD).

Normalization, as in the SQuAD evaluation: lower case, drop punctuation, drop
the articles "a", "an", "the", collapse whitespace.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from llmbench.errors import MetricError
from llmbench.metrics.base import Scores, vectorized_metric

if TYPE_CHECKING:
    import pandas as pd

_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_FENCE = re.compile(r"^```[\w-]*\s*\n?(.*?)\n?```$", re.DOTALL)


@lru_cache(maxsize=65536)
def normalize_answer(text: str) -> str:
    """SQuAD normalization: lower case, no punctuation or articles, one space."""
    text = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def references(value: Any) -> list[str] | None:
    """The acceptable reference strings of a case's ``answer``, or None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) or hasattr(value, "tolist"):
        items = value.tolist() if hasattr(value, "tolist") else value
        return [str(item) for item in items] or None
    return [str(value)]


@lru_cache(maxsize=65536)
def _expected_counts(reference: str) -> tuple[int, tuple[tuple[str, int], ...]]:
    """A reference's normalized token count and its token multiset."""
    tokens = normalize_answer(reference).split()
    return len(tokens), tuple(Counter(tokens).items())


def token_f1_score(prediction: str, reference: str) -> float:
    """SQuAD token F1 between two strings, after normalization."""
    predicted = normalize_answer(prediction).split()
    n_expected, expected = _expected_counts(reference)
    if not predicted or not n_expected:
        return float(len(predicted) == n_expected)

    # The size of the multiset intersection, without building two Counters.
    remaining = dict(expected)
    overlap = 0
    for token in predicted:
        left = remaining.get(token, 0)
        if left:
            remaining[token] = left - 1
            overlap += 1
    if overlap == 0:
        return 0.0
    precision = overlap / len(predicted)
    recall = overlap / n_expected
    return 2 * precision * recall / (precision + recall)


def _outputs(rows: pd.DataFrame) -> list[str]:
    """The output texts of a batch, None read as ''."""
    return [
        text if isinstance(text, str) else "" for text in rows["output_text"].tolist()
    ]


def _with_references(rows: pd.DataFrame) -> zip[tuple[str, list[str] | None]]:
    """Pairs of (output, acceptable references or None) for a batch."""
    return zip(_outputs(rows), map(references, rows["answer"].tolist()), strict=True)


@vectorized_metric("exact_match", threshold=1.0, needs=("answer",))
def exact_match(rows: pd.DataFrame) -> list[float]:
    """1 when the normalized output equals a normalized reference answer."""
    return [
        math.nan
        if refs is None
        else float(any(normalize_answer(out) == normalize_answer(r) for r in refs))
        for out, refs in _with_references(rows)
    ]


@vectorized_metric("token_f1", needs=("answer",))
def token_f1(rows: pd.DataFrame) -> list[float]:
    """SQuAD token F1 of the output against the best reference answer (0-1)."""
    return [
        math.nan if refs is None else max(token_f1_score(out, r) for r in refs)
        for out, refs in _with_references(rows)
    ]


@vectorized_metric("contains", threshold=1.0)
def contains(
    rows: pd.DataFrame, substring: str | None = None, case_sensitive: bool = False
) -> Scores:
    """1 when the output contains `substring`, or else a reference answer."""

    def fold(text: str) -> str:
        text = " ".join(text.split())
        return text if case_sensitive else text.casefold()

    outputs = [fold(out) for out in _outputs(rows)]
    if substring is not None:
        needle = fold(substring)
        return Scores([float(needle in out) for out in outputs], [None] * len(outputs))

    answers = rows["answer"].tolist() if "answer" in rows else [None] * len(outputs)
    values: list[float] = []
    details: list[str | None] = []
    for out, refs in zip(outputs, map(references, answers), strict=True):
        if refs is None:
            values.append(math.nan)
            details.append("case has no 'answer' and no substring given")
        else:
            values.append(float(any(fold(ref) in out for ref in refs)))
            details.append(None)
    return Scores(values, details)


@vectorized_metric("regex", threshold=1.0)
def regex(
    rows: pd.DataFrame, pattern: str, ignore_case: bool = False, full: bool = False
) -> list[float]:
    """1 when the output matches `pattern` (anywhere, or whole with full=True)."""
    try:
        compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise MetricError(f"metric 'regex': bad pattern {pattern!r}: {exc}") from exc

    match = compiled.fullmatch if full else compiled.search
    return [float(match(out) is not None) for out in _outputs(rows)]


def parse_json(text: str, allow_fences: bool = True) -> Any:
    """Parse an output as JSON, optionally inside one Markdown code fence."""
    text = text.strip()
    if allow_fences:
        fenced = _FENCE.match(text)
        if fenced:
            text = fenced.group(1).strip()
    return json.loads(text)


@vectorized_metric("valid_json", threshold=1.0)
def valid_json(rows: pd.DataFrame, allow_fences: bool = True) -> Scores:
    """1 when the output parses as JSON (a ```json fence is allowed)."""
    values: list[float] = []
    details: list[str | None] = []
    for out in _outputs(rows):
        try:
            parse_json(out, allow_fences)
        except ValueError as exc:
            values.append(0.0)
            details.append(f"invalid JSON: {exc}")
        else:
            values.append(1.0)
            details.append(None)
    return Scores(values, details)


@vectorized_metric("json_schema", threshold=1.0)
def json_schema(
    rows: pd.DataFrame,
    schema: Mapping[str, Any] | None = None,
    allow_fences: bool = True,
) -> Scores:
    """1 when the output is JSON conforming to `schema` (or the case's ``schema``)."""
    from jsonschema import SchemaError
    from jsonschema.validators import validator_for

    validators: dict[str, Any] = {}

    def validator(raw: Any) -> Any:
        if isinstance(raw, str):
            raw = json.loads(raw)
        key = json.dumps(raw, sort_keys=True)
        if key not in validators:
            cls = validator_for(raw)
            try:
                cls.check_schema(raw)
            except SchemaError as exc:
                raise MetricError(f"metric 'json_schema': bad schema: {exc}") from exc
            validators[key] = cls(raw)
        return validators[key]

    fixed = validator(schema) if schema is not None else None
    row_schemas = (
        rows["schema"].tolist() if fixed is None and "schema" in rows else None
    )
    values: list[float] = []
    details: list[str | None] = []
    for i, out in enumerate(_outputs(rows)):
        check = fixed
        if check is None and row_schemas is not None and row_schemas[i] is not None:
            check = validator(row_schemas[i])
        if check is None:
            values.append(math.nan)
            details.append("no schema: pass schema= or give the case a 'schema'")
            continue
        try:
            document = parse_json(out, allow_fences)
        except ValueError as exc:
            values.append(0.0)
            details.append(f"invalid JSON: {exc}")
            continue
        error = next(iter(check.iter_errors(document)), None)
        values.append(float(error is None))
        details.append(None if error is None else f"schema: {error.message}")
    return Scores(values, details)


@vectorized_metric("length_bounds", threshold=1.0)
def length_bounds(
    rows: pd.DataFrame,
    min_chars: int | None = None,
    max_chars: int | None = None,
    min_words: int | None = None,
    max_words: int | None = None,
) -> Scores:
    """1 when the output's length in characters and words is within bounds."""
    if (min_chars, max_chars, min_words, max_words) == (None, None, None, None):
        raise MetricError(
            "metric 'length_bounds' needs at least one of min_chars, max_chars, "
            "min_words, max_words"
        )

    values: list[float] = []
    details: list[str | None] = []
    for out in _outputs(rows):
        chars = len(out)
        words = len(out.split()) if (min_words or max_words) is not None else 0
        problems = []
        if min_chars is not None and chars < min_chars:
            problems.append(f"{chars} chars < {min_chars}")
        if max_chars is not None and chars > max_chars:
            problems.append(f"{chars} chars > {max_chars}")
        if min_words is not None and words < min_words:
            problems.append(f"{words} words < {min_words}")
        if max_words is not None and words > max_words:
            problems.append(f"{words} words > {max_words}")
        values.append(0.0 if problems else 1.0)
        details.append("; ".join(problems) or None)
    return Scores(values, details)


@vectorized_metric("latency_bound", threshold=1.0, needs=("latency_s",))
def latency_bound(rows: pd.DataFrame, max_s: float) -> list[float]:
    """1 when the call's latency in seconds is at most `max_s`."""
    return [float(latency <= max_s) for latency in rows["latency_s"].tolist()]


@vectorized_metric("cost_bound", threshold=1.0)
def cost_bound(rows: pd.DataFrame, max_usd: float) -> Scores:
    """1 when the call's cost in USD is at most `max_usd` (NaN if unpriced)."""
    costs = rows["cost_usd"].tolist() if "cost_usd" in rows else [None] * len(rows)
    values: list[float] = []
    details: list[str | None] = []
    for cost in costs:
        if cost is None or (isinstance(cost, float) and math.isnan(cost)):
            values.append(math.nan)
            details.append("price unknown: the model is not in the price map")
        else:
            values.append(float(cost <= max_usd))
            details.append(None)
    return Scores(values, details)
