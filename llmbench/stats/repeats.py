"""Repeats: how much a case's score moves from one repeat to the next.

A model sampled at temperature > 0 (or a judge) can pass a case once and fail
it the next time. `case_variance` shows that spread per case and flags the
flaky ones, so a single lucky run is not mistaken for a real improvement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def case_variance(
    frame: pd.DataFrame,
    score_col: str = "score",
    by: Sequence[str] | None = None,
    *,
    passed_col: str | None = "passed",
    range_threshold: float = 0.2,
) -> pd.DataFrame:
    """Per case, how much the score moves across repeats, and whether it is flaky.

    Args:
        frame: Scores, one row per call (the output of `llmbench.metrics.score`).
        score_col: The score column.
        by: The columns naming one case under one configuration; repeats are
            the rows within a group. Defaults to those of ``prompt_name``,
            ``prompt_version``, ``model``, ``metric``, ``case_id`` present.
        passed_col: The pass/fail column, or None to ignore pass/fail.
        range_threshold: A group whose score range (max - min) exceeds this is
            flaky even without pass/fail.

    Returns:
        One row per group: the `by` columns, ``n_repeats``, ``n_nan``,
        ``mean``, ``std`` (NaN with one scored repeat), ``min``, ``max``,
        ``range``, ``n_passed``, ``n_failed`` and ``flaky`` (passes in some
        repeats and fails in others, or a range above `range_threshold`).
    """
    default_keys = ("prompt_name", "prompt_version", "model", "metric", "case_id")
    keys = list(by) if by is not None else [c for c in default_keys if c in frame]
    if not keys:
        raise ValueError("case_variance needs grouping columns: pass by=[...]")

    data = frame[keys].copy()
    data["_score"] = frame[score_col].astype("float64")
    has_passed = passed_col is not None and passed_col in frame.columns
    outcome = frame[passed_col].astype("boolean") if has_passed else None
    data["_pass"] = outcome.fillna(False).astype(int) if outcome is not None else 0
    data["_fail"] = (~outcome).fillna(False).astype(int) if outcome is not None else 0

    grouped = data.groupby(keys, dropna=False, sort=False)
    result = grouped.agg(
        n_repeats=("_score", "size"),
        n_scored=("_score", "count"),
        mean=("_score", "mean"),
        std=("_score", "std"),
        min=("_score", "min"),
        max=("_score", "max"),
        n_passed=("_pass", "sum"),
        n_failed=("_fail", "sum"),
    ).reset_index()
    result.insert(len(keys) + 1, "n_nan", result["n_repeats"] - result["n_scored"])
    result.insert(
        result.columns.get_loc("max") + 1, "range", result["max"] - result["min"]
    )
    mixed = (result["n_passed"] > 0) & (result["n_failed"] > 0)
    result["flaky"] = mixed | (result["range"].fillna(0.0) > range_threshold)
    return result.drop(columns="n_scored")
