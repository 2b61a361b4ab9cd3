"""Is B really better than A? Confidence intervals and paired tests for evals.

Eval scores are paired: prompt A and prompt B answered the same cases, so the
questions worth asking are about per-case differences. This module gives

- `bootstrap_ci` / `paired_bootstrap_ci`: percentile bootstrap intervals for a
  statistic (the mean, by default) and for a mean difference;
- `paired_comparison`: wins, ties and losses, the mean difference with its
  interval, a Wilcoxon signed-rank p-value (the exact sign test when there are
  few non-tied cases), and a verdict in plain words;
- `mcnemar`: the test for paired pass/fail outcomes (exact binomial when the
  discordant count is small);
- `case_variance`: per-case spread across repeats, and which cases are flaky.

Missing scores (NaN) are never dropped silently: the one-sample functions
refuse them unless told to omit them, and the paired ones leave out incomplete
pairs and say how many in their result. numpy, scipy and pandas load on first
use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import ArrayLike, NDArray

#: Below this many non-tied pairs the sign test replaces Wilcoxon's test.
MIN_WILCOXON_PAIRS = 10
#: Below this many discordant pairs McNemar's test uses the exact binomial.
MCNEMAR_EXACT_BELOW = 25
#: Resampled values held in memory at once by the bootstrap.
_BOOTSTRAP_CELLS = 4_000_000

NanPolicy = Literal["raise", "omit"]


class Interval(NamedTuple):
    """A confidence interval around an estimate, in the statistic's units."""

    low: float
    estimate: float
    high: float

    def __str__(self) -> str:
        return f"{self.estimate:+.3g} ({self.low:+.3g} to {self.high:+.3g})"


def bootstrap_ci(
    values: ArrayLike,
    statistic: Callable[..., Any] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
    nan_policy: NanPolicy = "raise",
) -> Interval:
    """A percentile bootstrap confidence interval for a statistic of `values`.

    Args:
        values: The sample (for example one score per case).
        statistic: A function of a 1-D array; called with ``axis=-1`` on a 2-D
            batch of resamples when it accepts that (numpy reductions do).
            Defaults to the mean.
        confidence: The interval's coverage, e.g. 0.95.
        n_resamples: How many bootstrap resamples to draw.
        seed: Seed of the resampling, for repeatable intervals.
        nan_policy: ``raise`` on NaN values, or ``omit`` them.

    Returns:
        `Interval` (low, estimate, high). A constant sample gives a degenerate
        interval (low == estimate == high).

    Raises:
        ValueError: No values, NaNs under ``raise``, or a bad `confidence`.
    """
    import numpy as np

    data = _clean(np.asarray(values, dtype=np.float64).reshape(-1), nan_policy)
    stat = statistic or np.mean
    rng = np.random.default_rng(seed)

    estimate = float(stat(data))
    resampled = _resample(
        lambda idx: _apply(stat, data[idx]), len(data), n_resamples, rng
    )
    low, high = _percentiles(resampled, confidence)
    return Interval(low, estimate, high)


def paired_bootstrap_ci(
    a: ArrayLike,
    b: ArrayLike,
    statistic: Callable[..., Any] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
) -> Interval:
    """A bootstrap interval for the difference ``statistic(b) - statistic(a)``.

    The pairs (a[i], b[i]) are resampled together, so the interval reflects
    the per-case pairing. Pairs with a NaN on either side are left out.

    Returns:
        `Interval` of B minus A (positive: B scores higher).
    """
    import numpy as np

    left, right, _ = _pairs(a, b)
    stat = statistic or np.mean
    rng = np.random.default_rng(seed)

    estimate = float(stat(right) - stat(left))
    resampled = _resample(
        lambda idx: _apply(stat, right[idx]) - _apply(stat, left[idx]),
        len(left),
        n_resamples,
        rng,
    )
    low, high = _percentiles(resampled, confidence)
    return Interval(low, estimate, high)


@dataclass(frozen=True)
class PairedComparison:
    """How B compares with A on the same cases.

    Attributes:
        label_a: A's name in the verdict.
        label_b: B's name in the verdict.
        n: Pairs compared (both scores present).
        n_missing: Pairs left out because a score was missing.
        wins: Cases where B is better than A (beyond the tie tolerance).
        ties: Cases within the tie tolerance.
        losses: Cases where B is worse than A.
        mean_a: A's mean score over the compared pairs.
        mean_b: B's mean score over the compared pairs.
        difference: Mean of B - A with its bootstrap interval.
        p_value: Two-sided p-value of the test below (1.0 with no non-ties).
        test: ``wilcoxon``, ``sign`` or ``none``.
        significant: Whether p_value < alpha.
        higher_is_better: Whether a higher score is better.
        confidence: The interval's coverage.
        unit: What one pair is, in the verdict ("cases").
    """

    label_a: str
    label_b: str
    n: int
    n_missing: int
    wins: int
    ties: int
    losses: int
    mean_a: float
    mean_b: float
    difference: Interval
    p_value: float
    test: str
    significant: bool
    higher_is_better: bool = True
    confidence: float = 0.95
    unit: str = "cases"

    @property
    def verdict(self) -> str:
        """The comparison in one or two plain sentences."""
        a, b, unit = self.label_a, self.label_b, self.unit
        left_out = (
            f" {self.n_missing} {unit} without both scores were left out."
            if self.n_missing
            else ""
        )
        if self.n == 0:
            return f"No {unit} have scores for both {a} and {b}.{left_out}"
        if self.wins + self.losses == 0:
            return (
                f"{a} and {b} score the same on all {self.n} {unit}; "
                f"there is no difference to test.{left_out}"
            )

        better, worse = (
            ("higher", "lower")
            if self.higher_is_better
            else (
                "lower (better)",
                "higher (worse)",
            )
        )
        d = self.difference
        noise = "is unlikely to be noise" if self.significant else "could be noise"
        test = {"wilcoxon": "Wilcoxon signed-rank test", "sign": "sign test"}[self.test]
        return (
            f"{b} scores {better} than {a} on {self.wins} of {self.n} {unit} and "
            f"{worse} on {self.losses} ({self.ties} ties); the mean difference "
            f"{d.estimate:+.3g} ({self.confidence:.0%} CI {d.low:+.3g} to "
            f"{d.high:+.3g}) {noise} ({format_p(self.p_value)}, {test}).{left_out}"
        )


def paired_comparison(
    scores_a: ArrayLike,
    scores_b: ArrayLike,
    *,
    tie_tolerance: float = 1e-9,
    higher_is_better: bool = True,
    alpha: float = 0.05,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
    label_a: str = "A",
    label_b: str = "B",
    unit: str = "cases",
) -> PairedComparison:
    """Compare two paired score arrays (same cases, same order).

    Args:
        scores_a: A's score per case.
        scores_b: B's score per case, aligned with `scores_a`.
        tie_tolerance: Differences this small or smaller count as ties and are
            left out of the test (as Wilcoxon's test leaves out zeros).
        higher_is_better: Whether a higher score is better (wins and losses
            follow it; the difference is always B - A).
        alpha: The p-value below which the difference is called unlikely noise.
        confidence: Coverage of the difference's bootstrap interval.
        n_resamples: Bootstrap resamples.
        seed: Seed of the bootstrap.
        label_a: A's name in the verdict.
        label_b: B's name in the verdict.
        unit: What one pair is, in the verdict.

    Returns:
        A `PairedComparison`; its `verdict` reads the result out.
    """
    import numpy as np

    left, right, n_missing = _pairs(scores_a, scores_b, allow_empty=True)
    diff = right - left
    tied = np.abs(diff) <= tie_tolerance
    up = int(((diff > 0) & ~tied).sum())
    down = int(((diff < 0) & ~tied).sum())
    wins, losses = (up, down) if higher_is_better else (down, up)

    if len(diff) == 0:
        nan = math.nan
        return PairedComparison(
            label_a=label_a,
            label_b=label_b,
            n=0,
            n_missing=n_missing,
            wins=0,
            ties=0,
            losses=0,
            mean_a=nan,
            mean_b=nan,
            difference=Interval(nan, nan, nan),
            p_value=1.0,
            test="none",
            significant=False,
            higher_is_better=higher_is_better,
            confidence=confidence,
            unit=unit,
        )

    p_value, test = _paired_test(diff[~tied], up, down)
    interval = paired_bootstrap_ci(
        left, right, confidence=confidence, n_resamples=n_resamples, seed=seed
    )
    return PairedComparison(
        label_a=label_a,
        label_b=label_b,
        n=len(diff),
        n_missing=n_missing,
        wins=wins,
        ties=int(tied.sum()),
        losses=losses,
        mean_a=float(left.mean()),
        mean_b=float(right.mean()),
        difference=interval,
        p_value=p_value,
        test=test,
        significant=p_value < alpha,
        higher_is_better=higher_is_better,
        confidence=confidence,
        unit=unit,
    )


def compare(
    scores: pd.DataFrame,
    metric: str,
    a: Any,
    b: Any,
    *,
    column: str = "prompt_version",
    on: Sequence[str] = ("case_id",),
    higher_is_better: bool | None = None,
    **options: Any,
) -> PairedComparison:
    """`paired_comparison` of two configurations in a tidy scores frame.

    Repeats are averaged per case first (the mean over scored repeats), then
    A's and B's case means are paired on the `on` columns.

    Args:
        scores: The output of `llmbench.metrics.score` (several configs).
        metric: The ``metric`` value to compare on.
        a: The value of `column` naming A (``"v1"``).
        b: The value of `column` naming B (``"v2"``).
        column: The column that tells A from B (``prompt_version``, ``model``).
        on: The columns that identify a case.
        higher_is_better: None looks the metric up in the registry.
        **options: Passed to `paired_comparison` (alpha, tie_tolerance...).
    """
    if higher_is_better is None:
        higher_is_better = _metric_direction(metric)
    chosen = scores[scores["metric"] == metric]
    per_case = chosen.groupby([column, *on], dropna=False)["score"].mean()

    side_a = (
        per_case.xs(a, level=column)
        if a in per_case.index.get_level_values(0)
        else None
    )
    side_b = (
        per_case.xs(b, level=column)
        if b in per_case.index.get_level_values(0)
        else None
    )
    if side_a is None or side_b is None:
        missing = a if side_a is None else b
        raise ValueError(f"no {metric!r} scores with {column} == {missing!r}")
    both = side_a.to_frame("a").join(side_b.to_frame("b"), how="outer")
    return paired_comparison(
        both["a"].to_numpy(),
        both["b"].to_numpy(),
        higher_is_better=higher_is_better,
        label_a=str(options.pop("label_a", a)),
        label_b=str(options.pop("label_b", b)),
        **options,
    )


def _metric_direction(name: str) -> bool:
    """Whether a registered metric prefers high scores (True when unknown)."""
    from llmbench.errors import MetricError
    from llmbench.metrics import get_metric

    try:
        return get_metric(name).higher_is_better
    except MetricError:
        return True


class McNemarResult(NamedTuple):
    """McNemar's test on paired pass/fail outcomes.

    Attributes:
        n: Pairs compared.
        both_passed: A and B both passed.
        only_a_passed: A passed, B failed.
        only_b_passed: B passed, A failed.
        both_failed: Both failed.
        statistic: The chi-square statistic (continuity-corrected), or the
            smaller discordant count for the exact test.
        p_value: Two-sided p-value.
        method: ``exact`` (binomial) or ``chi2``.
    """

    n: int
    both_passed: int
    only_a_passed: int
    only_b_passed: int
    both_failed: int
    statistic: float
    p_value: float
    method: str


def mcnemar(
    passed_a: ArrayLike, passed_b: ArrayLike, *, exact: bool | None = None
) -> McNemarResult:
    """McNemar's test: do A and B pass different cases more than chance allows?

    Only the discordant pairs (one passed, the other failed) carry evidence.
    Pairs with a missing outcome (None, NaN, <NA>) are left out.

    Args:
        passed_a: A's pass/fail per case.
        passed_b: B's pass/fail per case, aligned with `passed_a`.
        exact: Force the exact binomial test (True) or the continuity-corrected
            chi-square (False); by default exact below 25 discordant pairs.
    """
    from scipy import stats

    left, right, _ = _pairs(passed_a, passed_b, allow_empty=True)
    a, b = left.astype(bool), right.astype(bool)
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    discordant = only_a + only_b
    use_exact = discordant < MCNEMAR_EXACT_BELOW if exact is None else exact

    if discordant == 0:
        statistic, p_value = 0.0, 1.0
    elif use_exact:
        statistic = float(min(only_a, only_b))
        p_value = float(stats.binomtest(min(only_a, only_b), discordant, 0.5).pvalue)
    else:
        statistic = (abs(only_a - only_b) - 1) ** 2 / discordant
        p_value = float(stats.chi2.sf(statistic, df=1))
    return McNemarResult(
        n=len(a),
        both_passed=int((a & b).sum()),
        only_a_passed=only_a,
        only_b_passed=only_b,
        both_failed=int((~a & ~b).sum()),
        statistic=float(statistic),
        p_value=min(1.0, p_value),
        method="exact" if use_exact or discordant == 0 else "chi2",
    )


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


def format_p(p_value: float) -> str:
    """A p-value as people read it: ``p = 0.031``, ``p < 0.001``."""
    if p_value < 0.001:
        return "p < 0.001"
    return f"p = {p_value:.2g}" if p_value < 0.1 else f"p = {p_value:.2f}"


def _paired_test(nonzero: NDArray[np.float64], up: int, down: int) -> tuple[float, str]:
    """Two-sided p-value for non-tied differences: Wilcoxon, or the sign test."""
    import warnings

    from scipy import stats

    if len(nonzero) == 0:
        return 1.0, "sign"
    if len(nonzero) < MIN_WILCOXON_PAIRS:
        return float(stats.binomtest(up, up + down, 0.5).pvalue), "sign"

    # scipy notes (as warnings) when ties force its normal approximation.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.wilcoxon(nonzero, zero_method="wilcox", method="auto")
    return float(result.pvalue), "wilcoxon"


def _clean(data: NDArray[np.float64], nan_policy: NanPolicy) -> NDArray[np.float64]:
    """Check a sample: not empty, NaNs refused or omitted."""
    import numpy as np

    missing = np.isnan(data)
    if missing.any():
        if nan_policy == "raise":
            raise ValueError(
                f"{int(missing.sum())} of {len(data)} values are NaN; score them, or "
                "pass nan_policy='omit' to leave them out"
            )
        data = data[~missing]
    if len(data) == 0:
        raise ValueError("no values to bootstrap")
    return data


def _pairs(
    a: ArrayLike, b: ArrayLike, *, allow_empty: bool = False
) -> tuple[NDArray[np.float64], NDArray[np.float64], int]:
    """Aligned float arrays without incomplete pairs, and how many were dropped."""
    import numpy as np
    import pandas as pd

    left = pd.to_numeric(
        pd.Series(np.asarray(a, dtype=object).reshape(-1)), errors="coerce"
    )
    right = pd.to_numeric(
        pd.Series(np.asarray(b, dtype=object).reshape(-1)), errors="coerce"
    )
    if len(left) != len(right):
        raise ValueError(
            f"paired samples differ in length: {len(left)} and {len(right)}"
        )

    complete = (left.notna() & right.notna()).to_numpy()
    if not allow_empty and not complete.any():
        raise ValueError("no pair has both values")
    as_float = {"dtype": np.float64, "na_value": np.nan}
    return (
        left.to_numpy(**as_float)[complete],
        right.to_numpy(**as_float)[complete],
        int((~complete).sum()),
    )


def _resample(
    compute: Callable[[NDArray[np.intp]], NDArray[np.float64]],
    n: int,
    n_resamples: int,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """`compute` over index resamples, drawn in memory-bounded chunks."""
    import numpy as np

    out = np.empty(n_resamples)
    chunk = max(1, _BOOTSTRAP_CELLS // max(n, 1))
    for start in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - start)
        out[start : start + rows] = compute(rng.integers(0, n, size=(rows, n)))
    return out


def _apply(stat: Callable[..., Any], batch: NDArray[np.float64]) -> NDArray[np.float64]:
    """A statistic over each row of a 2-D batch, vectorized when it allows."""
    import numpy as np

    try:
        values = np.asarray(stat(batch, axis=-1), dtype=np.float64)
        if values.shape == (batch.shape[0],):
            return values
    except TypeError:
        pass
    return np.array([stat(row) for row in batch], dtype=np.float64)


def _percentiles(
    resampled: NDArray[np.float64], confidence: float
) -> tuple[float, float]:
    """The two-sided percentile bounds of a bootstrap distribution."""
    import numpy as np

    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(resampled, [tail, 1.0 - tail])
    return float(low), float(high)
