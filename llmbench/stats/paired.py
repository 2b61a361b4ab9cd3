"""Paired tests: is B really better than A on the same cases?

`paired_comparison` counts wins, ties and losses, puts a bootstrap interval on
the mean difference, tests it (Wilcoxon signed-rank, or the exact sign test
with few non-tied cases) and says the result in words. `mcnemar` does the same
job for pass/fail outcomes. `compare` pulls two configurations out of a tidy
scores frame and pairs them by case.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from llmbench.stats.bootstrap import Interval, complete_pairs, paired_bootstrap_ci

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import ArrayLike, NDArray

#: Below this many non-tied pairs the sign test replaces Wilcoxon's test.
MIN_WILCOXON_PAIRS = 10
#: Below this many discordant pairs McNemar's test uses the exact binomial.
MCNEMAR_EXACT_BELOW = 25


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

    left, right, n_missing = complete_pairs(scores_a, scores_b, allow_empty=True)
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

    left, right, _ = complete_pairs(passed_a, passed_b, allow_empty=True)
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
