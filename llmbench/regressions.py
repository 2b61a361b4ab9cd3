"""Regressions: what changed since the baseline, and whether it counts.

`compare_to_baseline` pairs the current run's cases with the baseline's by
case id and, per metric, reports the mean difference (current - baseline) with
a paired bootstrap interval, wins/ties/losses, a paired test on the scores
(Wilcoxon signed-rank; the exact sign test under 10 non-tied cases), McNemar's
test on pass/fail, and the cases that flipped.

The regression rule. A metric has *regressed significantly* when either

1. its case scores got worse: the mean difference is worse than the suite's
   ``regression.tolerance`` (below ``-tolerance`` for higher-is-better
   metrics, above ``+tolerance`` for lower-is-better ones) AND the paired test
   gives p < ``regression.alpha``; or
2. its pass/fail outcomes got worse: more cases flipped pass -> fail than
   fail -> pass AND McNemar's test gives p < alpha.

Each metric is tested at alpha on its own (no correction for testing several
metrics), so with many metrics a chance regression becomes likelier; keep
alpha small or the metric list short. Unscored cases count as failed in the
pass/fail test, as in the gate, and are left out of the score test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from llmbench.baselines import Baseline
    from llmbench.stats import McNemarResult, PairedComparison
    from llmbench.suite_results import SuiteResult


@dataclass(frozen=True)
class MetricDelta:
    """How one metric moved between the baseline and the current run.

    Attributes:
        metric: The metric's label.
        scores: The paired comparison of case scores (A is the baseline, B
            the current run; ``difference`` is current - baseline).
        mcnemar: McNemar's test on pass/fail, or None without a threshold.
        to_fail: Case ids that passed in the baseline and fail now.
        to_pass: Case ids that failed in the baseline and pass now.
        regressed: Whether the regression rule (module docstring) holds.
        improved: The same rule the other way round.
    """

    metric: str
    scores: PairedComparison
    mcnemar: McNemarResult | None
    to_fail: tuple[str, ...]
    to_pass: tuple[str, ...]
    regressed: bool
    improved: bool

    @property
    def verdict(self) -> str:
        """The change in one sentence, with its numbers and tests."""
        from llmbench.stats import format_p

        s = self.scores
        if s.n == 0:
            return f"{self.metric}: no case has a score in both runs"
        d = s.difference
        state = (
            "regressed" if self.regressed else "improved" if self.improved else "held"
        )
        test = "Wilcoxon" if s.test == "wilcoxon" else "sign test"
        text = (
            f"{self.metric} {state}: mean {s.mean_b:.3g} against the baseline's "
            f"{s.mean_a:.3g} (difference {d.estimate:+.3g}, {s.confidence:.0%} CI "
            f"{d.low:+.3g} to {d.high:+.3g}; {format_p(s.p_value)}, {test}, "
            f"{s.n} cases)"
        )
        if self.mcnemar is not None and (self.to_fail or self.to_pass):
            text += (
                f"; {len(self.to_fail)} case(s) went from pass to fail and "
                f"{len(self.to_pass)} from fail to pass "
                f"(McNemar {format_p(self.mcnemar.p_value)})"
            )
        return text + "."


@dataclass
class BaselineComparison:
    """The current run against a baseline, metric by metric.

    Attributes:
        baseline: The baseline.
        current: The current run's result.
        deltas: One `MetricDelta` per metric present in both, in suite order.
        notes: What a reader should know: a changed suite, missing cases...
        alpha: The significance level used.
        tolerance: The tolerated worsening of a mean.
    """

    baseline: Baseline
    current: SuiteResult
    deltas: list[MetricDelta]
    notes: list[str]
    alpha: float
    tolerance: float

    @property
    def regressions(self) -> list[MetricDelta]:
        """The metrics that regressed significantly."""
        return [delta for delta in self.deltas if delta.regressed]

    @property
    def regressed(self) -> bool:
        """Whether any metric regressed significantly."""
        return bool(self.regressions)

    def table(self) -> pd.DataFrame:
        """One row per metric: means, difference with CI, p-values, flips, state."""
        import pandas as pd

        rows = []
        for delta in self.deltas:
            s = delta.scores
            rows.append(
                {
                    "metric": delta.metric,
                    "baseline": s.mean_a,
                    "current": s.mean_b,
                    "delta": s.difference.estimate,
                    "ci_low": s.difference.low,
                    "ci_high": s.difference.high,
                    "p_value": s.p_value,
                    "wins": s.wins,
                    "ties": s.ties,
                    "losses": s.losses,
                    "pass_to_fail": len(delta.to_fail),
                    "fail_to_pass": len(delta.to_pass),
                    "mcnemar_p": None
                    if delta.mcnemar is None
                    else delta.mcnemar.p_value,
                    "state": "regressed"
                    if delta.regressed
                    else "improved"
                    if delta.improved
                    else "held",
                }
            )
        return pd.DataFrame(rows)

    def flips(self) -> pd.DataFrame:
        """Cases whose pass/fail changed: pass -> fail first, with both outputs."""
        import pandas as pd

        fields = {case.case_id: case.fields for case in self.current.cases}
        outputs = self.current.outputs()
        before = self.baseline.case_scores.set_index(["metric", "case_id"])["score"]
        now = self.current.case_scores.set_index(["metric", "case_id"])["score"]
        rows = []
        for change, attribute in (
            ("pass → fail", "to_fail"),
            ("fail → pass", "to_pass"),
        ):
            for delta in self.deltas:
                for case_id in getattr(delta, attribute):
                    key = (delta.metric, case_id)
                    rows.append(
                        {
                            "case_id": case_id,
                            "metric": delta.metric,
                            "change": change,
                            "baseline_score": before.get(key, math.nan),
                            "current_score": now.get(key, math.nan),
                            "question": fields.get(case_id, {}).get("question", ""),
                            "baseline_output": self.baseline.outputs.get(case_id, ""),
                            "current_output": outputs.get(case_id, ""),
                        }
                    )
        columns = ["case_id", "metric", "change", "baseline_score", "current_score",
                   "question", "baseline_output", "current_output"]  # fmt: skip
        return pd.DataFrame(rows, columns=columns)


def compare_to_baseline(
    result: SuiteResult,
    baseline: Baseline,
    *,
    alpha: float | None = None,
    tolerance: float | None = None,
) -> BaselineComparison:
    """Compare a suite run with a baseline, metric by metric.

    Args:
        result: The current run.
        baseline: The baseline.
        alpha: Significance level; default the suite's ``regression.alpha``.
        tolerance: Tolerated worsening of a mean; default the suite's.

    Returns:
        The comparison; ``regressed`` applies the rule in the module docstring.
    """
    rule = result.suite.regression
    alpha = rule.alpha if alpha is None else alpha
    tolerance = rule.tolerance if tolerance is None else tolerance

    notes = _notes(result, baseline)
    deltas = []
    for label in result.metric_labels:
        summary = result.summaries[label]
        if label not in baseline.metrics or summary.skipped:
            continue
        deltas.append(
            metric_delta(
                label,
                baseline.case_scores,
                result.case_scores,
                higher_is_better=summary.higher_is_better,
                alpha=alpha,
                tolerance=tolerance,
            )
        )
    return BaselineComparison(baseline, result, deltas, notes, alpha, tolerance)


def metric_delta(
    metric: str,
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    higher_is_better: bool = True,
    alpha: float = 0.05,
    tolerance: float = 0.0,
) -> MetricDelta:
    """Compare one metric's case scores before and after, paired by case id.

    Args:
        metric: The metric's label (the ``metric`` column's value).
        before: Case scores of the baseline (``case_id``, ``metric``,
            ``score``, ``passed``).
        after: Case scores of the current run, same columns.
        higher_is_better: The metric's direction.
        alpha: Significance level of both tests.
        tolerance: Tolerated worsening of the mean.
    """
    from llmbench.stats import mcnemar, paired_comparison

    left = before[before["metric"] == metric].set_index("case_id")
    right = after[after["metric"] == metric].set_index("case_id")
    common = [case_id for case_id in right.index if case_id in left.index]
    a, b = left.loc[common], right.loc[common]

    scores = paired_comparison(
        a["score"].to_numpy(dtype=float),
        b["score"].to_numpy(dtype=float),
        higher_is_better=higher_is_better,
        alpha=alpha,
        label_a="baseline",
        label_b="current",
    )
    has_outcomes = a["passed"].notna().any() and b["passed"].notna().any()
    test = None
    to_fail: tuple[str, ...] = ()
    to_pass: tuple[str, ...] = ()
    if has_outcomes:
        was = a["passed"].fillna(False).astype(bool).to_numpy()
        now = b["passed"].fillna(False).astype(bool).to_numpy()
        test = mcnemar(was, now)
        to_fail = tuple(
            c for c, x, y in zip(common, was, now, strict=True) if x and not y
        )
        to_pass = tuple(
            c for c, x, y in zip(common, was, now, strict=True) if y and not x
        )

    sign = 1.0 if higher_is_better else -1.0
    change = sign * scores.difference.estimate if scores.n else 0.0
    outcome_p = test.p_value if test is not None else 1.0
    regressed = (scores.significant and change < -tolerance) or (
        outcome_p < alpha and len(to_fail) > len(to_pass)
    )
    improved = (scores.significant and change > tolerance) or (
        outcome_p < alpha and len(to_pass) > len(to_fail)
    )
    return MetricDelta(
        metric, scores, test, to_fail, to_pass, regressed, improved and not regressed
    )


def _notes(result: SuiteResult, baseline: Baseline) -> list[str]:
    """What differs between the two runs besides the scores."""
    notes = [f"baseline: {baseline.description}"]
    suite = result.suite
    if baseline.suite != suite.name:
        notes.append(
            f"the baseline belongs to suite {baseline.suite!r}, not {suite.name!r}"
        )
    if baseline.suite_hash != suite.hash:
        notes.append(
            f"the suite changed since the baseline (hash {baseline.suite_hash} -> "
            f"{suite.hash}): cases, metrics, thresholds or gate differ, so some "
            "deltas may come from the yardstick rather than the task"
        )
    task = baseline.task
    if (task.get("version"), task.get("model")) != (
        suite.task.version,
        suite.task.model,
    ):
        notes.append(
            f"task changed: {task.get('prompt')}@{task.get('version')} on "
            f"{task.get('model')} -> {suite.task.ref} on {suite.task.model}"
        )

    current = {case.case_id for case in result.cases}
    saved = set(baseline.case_scores["case_id"])
    if saved - current:
        notes.append(f"{len(saved - current)} baseline case(s) are not in this run")
    if current - saved:
        notes.append(
            f"{len(current - saved)} case(s) of this run are not in the baseline"
        )
    missing = [m for m in result.metric_labels if m not in baseline.metrics]
    if missing:
        notes.append(f"not in the baseline, so not compared: {', '.join(missing)}")
    return notes
