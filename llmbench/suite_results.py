"""A suite run's results: scores per case and metric, aggregates, gate, spend.

`SuiteResult` holds, for one run of a suite:

- ``scores``: one row per call and metric (the frame `llmbench.metrics.score`
  returns);
- ``case_scores``: one row per case and metric: the case's score (the mean
  over its repeats), whether it passes the metric's threshold, the detail;
- ``summaries``: per metric, the mean with a bootstrap interval, spread,
  pass rate, unscored cases, and why a metric was skipped;
- ``gate``: each rule's verdict with its reason in words;
- the task's and the judge's calls, so their tokens and USD are told apart.

`SuiteResult.verdict` gives the answer CI needs (gate and, with a baseline,
regressions); `compare` and `save_baseline` lead to `llmbench.baselines`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmbench.gates import GateResult, MetricSummary, evaluate_gate
from llmbench.records import CallRecord

if TYPE_CHECKING:
    import pandas as pd

    from llmbench.baselines import Baseline, BaselineComparison
    from llmbench.datasets import Case
    from llmbench.metrics import Judge
    from llmbench.runs import RunResult
    from llmbench.stats import Interval
    from llmbench.suites import Suite

#: Why an LLM-judged metric without a judge was not scored.
NO_JUDGE = (
    "no judge model configured (pass --judge-model, judge_model=, or set "
    "judge.model in the suite); nothing was sent to any provider"
)


@dataclass(frozen=True)
class Verdict:
    """The answer for CI: did the run pass, and why not.

    Attributes:
        passed: No gate rule failed and no metric regressed significantly.
        failures: The failing rules' and regressions' reasons, in words.
        notes: Skipped rules and other things a reader should know.
    """

    passed: bool
    failures: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def word(self) -> str:
        """``PASS`` or ``FAIL``."""
        return "PASS" if self.passed else "FAIL"

    @property
    def headline(self) -> str:
        """``pass`` or ``fail``, as the report index's ``gate`` headline."""
        return self.word.lower()


@dataclass(repr=False)
class SuiteResult:
    """Everything one run of a suite produced (see the module docstring)."""

    suite: Suite
    run: RunResult
    scores: pd.DataFrame
    case_scores: pd.DataFrame
    summaries: dict[str, MetricSummary]
    gate: list[GateResult]
    cases: list[Case]
    judge: Judge | None = None
    judge_records: list[CallRecord] = field(default_factory=list)

    def __repr__(self) -> str:
        gate = "pass" if self.gate_passed else "fail"
        return (
            f"SuiteResult(suite={self.suite.name!r}, run={self.run.run_id!r}, "
            f"cases={len(self.cases)}, gate={gate!r})"
        )

    @property
    def gate_passed(self) -> bool:
        """Whether no gate rule failed (skipped rules do not fail)."""
        return all(result.passed for result in self.gate)

    @property
    def skipped(self) -> dict[str, str]:
        """Metric label -> why it was not scored at all."""
        return {m: s.skipped for m, s in self.summaries.items() if s.skipped}

    @property
    def metric_labels(self) -> list[str]:
        """The metrics' labels, in suite order."""
        return [spec.display_name for spec in self.suite.metrics]

    def summary(self) -> pd.DataFrame:
        """One row per metric: mean with interval, spread, pass rate, unscored."""
        import pandas as pd

        rows = []
        for label, s in self.summaries.items():
            rows.append(
                {
                    "metric": label,
                    "mean": s.mean,
                    "ci_low": s.ci_low,
                    "ci_high": s.ci_high,
                    "median": s.median,
                    "min": s.min,
                    "max": s.max,
                    "threshold": s.threshold,
                    "pass_rate": s.pass_rate,
                    "failed": s.n_failed if s.threshold is not None else None,
                    "cases": s.n_cases,
                    "unscored": s.n_nan,
                    "status": "skipped" if s.skipped else "scored",
                }
            )
        return pd.DataFrame(rows)

    def gate_table(self) -> pd.DataFrame:
        """One row per gate rule: the rule, its status, the value seen, why."""
        import pandas as pd

        return pd.DataFrame(
            {
                "rule": [g.rule.text for g in self.gate],
                "status": [g.status for g in self.gate],
                "observed": [g.observed for g in self.gate],
                "reason": [g.reason for g in self.gate],
            }
        )

    def spend(self) -> pd.DataFrame:
        """Tokens and USD of the task's calls and of the judge's, on separate rows.

        ``cost_usd`` is what the responses cost (None when a price is unknown);
        ``paid_usd`` leaves out cache hits, which cost nothing this time.
        """
        import pandas as pd

        task = [r for r in self.run.records if r.kind == "task"]
        return pd.DataFrame(
            [_spend_row("task", task), _spend_row("judge", self.judge_records)]
        )

    def outputs(self) -> dict[str, str]:
        """Case id -> the task's output (the first repeat)."""
        found: dict[str, str] = {}
        for record in self.run.records:
            if record.kind == "task" and record.case_id not in found:
                found[record.case_id] = record.output_text
        return found

    def worst_cases(self, metric: str | None = None, n: int = 5) -> pd.DataFrame:
        """The `n` cases scoring worst on `metric`, with input, output and scores.

        Args:
            metric: A metric label; default the metric of the first failing
                gate rule, else the first scored metric.
            n: How many cases.

        Returns:
            One row per case, worst first (unscored cases first of all):
            ``case_id``, ``question``, ``reference``, ``output``, then one
            column per metric with the case's score, and ``detail``.
        """
        import pandas as pd

        metric = metric or self._focus_metric()
        wide = self.case_scores.pivot(index="case_id", columns="metric", values="score")
        chosen = self.case_scores[self.case_scores["metric"] == metric].set_index(
            "case_id"
        )
        ascending = self.summaries[metric].higher_is_better
        order = chosen["score"].sort_values(ascending=ascending, na_position="first")

        fields = {case.case_id: case.fields for case in self.cases}
        outputs = self.outputs()
        rows = []
        for case_id in order.index[:n]:
            case = fields.get(case_id, {})
            row: dict[str, Any] = {
                "case_id": case_id,
                "question": case.get("question", ""),
                "reference": case.get("answer", ""),
                "output": outputs.get(case_id, ""),
            }
            for label in self.metric_labels:
                if label in wide.columns:
                    row[label] = wide.at[case_id, label]
            row["detail"] = chosen.at[case_id, "detail"]
            rows.append(row)
        return pd.DataFrame(rows)

    def verdict(self, comparison: BaselineComparison | None = None) -> Verdict:
        """Pass or fail, with reasons: the gate, and regressions if compared."""
        failures = [g.reason for g in self.gate if g.status == "fail"]
        notes = [g.reason for g in self.gate if g.status == "skipped"]
        notes += [
            f"{label} not scored: {why}"
            for label, why in self.skipped.items()
            if not any(g.rule.metric == label for g in self.gate)
        ]
        if not self.gate:
            notes.append("the suite has no gate rules: only regressions can fail it")
        if comparison is not None:
            failures += [delta.verdict for delta in comparison.regressions]
            notes += comparison.notes
        return Verdict(not failures, tuple(failures), tuple(notes))

    def compare(
        self, baseline: Baseline | str | Path, **options: Any
    ) -> BaselineComparison:
        """Compare with a baseline (a `Baseline` or its file): per-metric deltas."""
        from llmbench.baselines import Baseline, compare_to_baseline, load_baseline

        loaded = baseline if isinstance(baseline, Baseline) else load_baseline(baseline)
        return compare_to_baseline(self, loaded, **options)

    def save_baseline(self, path: str | Path | None = None) -> Path:
        """Save this run as a baseline; default data/baselines/<suite>.json."""
        from llmbench.baselines import save_baseline

        return save_baseline(self, path)

    def _focus_metric(self) -> str:
        """The metric worth looking at first: a failing rule's, else the first."""
        for result in self.gate:
            if result.status == "fail" and result.rule.metric in self.summaries:
                return result.rule.metric
        scored = [m for m, s in self.summaries.items() if not s.skipped]
        return (scored or self.metric_labels)[0]


def build_result(
    suite: Suite,
    run: RunResult,
    scores: pd.DataFrame,
    cases: Sequence[Case],
    judge: Judge | None,
    judge_records: Sequence[CallRecord],
    confidence: float = 0.95,
) -> SuiteResult:
    """Aggregate a run's scores per case and metric, summarize, check the gate."""
    from llmbench.metrics import get_metric

    per_case = case_scores(scores, suite, [c.case_id for c in cases])
    summaries: dict[str, MetricSummary] = {}
    for spec in suite.metrics:
        label = spec.display_name
        found = get_metric(spec.name)
        skipped = NO_JUDGE if found.kind == "judge" and judge is None else None
        chosen = per_case[per_case["metric"] == label]
        summaries[label] = _summarize(
            label, chosen, _threshold(spec), found.higher_is_better, confidence, skipped
        )

    gate = evaluate_gate(list(suite.gate), summaries)
    return SuiteResult(
        suite=suite,
        run=run,
        scores=scores,
        case_scores=per_case,
        summaries=summaries,
        gate=gate,
        cases=list(cases),
        judge=judge,
        judge_records=list(judge_records),
    )


def case_scores(
    scores: pd.DataFrame, suite: Suite, case_ids: Sequence[str]
) -> pd.DataFrame:
    """One row per case and metric: the mean over repeats, pass/fail, detail.

    Columns: ``case_id``, ``metric``, ``score`` (NaN when no repeat was
    scored), ``passed`` (against the threshold, on the case's score; <NA>
    without a threshold; False when unscored), ``calls``, ``detail`` (the
    first repeat's that has one). Cases the run did not answer are included,
    unscored, so they count against pass rates.
    """
    import numpy as np
    import pandas as pd

    from llmbench.metrics import get_metric

    grouped = scores.groupby(["metric", "case_id"], sort=False)
    per_case = grouped.agg(
        score=("score", "mean"), calls=("score", "size"), detail=("detail", "first")
    )

    labels = [spec.display_name for spec in suite.metrics]
    index = pd.MultiIndex.from_product(
        [labels, list(case_ids)], names=["metric", "case_id"]
    )
    frame = per_case.reindex(index).reset_index()
    frame["calls"] = frame["calls"].fillna(0).astype(int)
    unanswered = frame["calls"] == 0
    frame.loc[unanswered, "detail"] = "no call answered this case"

    passed = pd.array([pd.NA] * len(frame), dtype="boolean")
    for spec in suite.metrics:
        threshold = _threshold(spec)
        if threshold is None:
            continue
        rows = (frame["metric"] == spec.display_name).to_numpy()
        values = frame.loc[rows, "score"].to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            ok = (
                values >= threshold
                if get_metric(spec.name).higher_is_better
                else values <= threshold
            )
        passed[rows] = ok & ~np.isnan(values)
    frame["passed"] = passed
    return frame[["case_id", "metric", "score", "passed", "calls", "detail"]]


def _summarize(
    label: str,
    chosen: pd.DataFrame,
    threshold: float | None,
    higher_is_better: bool,
    confidence: float,
    skipped: str | None,
) -> MetricSummary:
    """One metric's `MetricSummary` from its case rows."""
    import numpy as np

    values = chosen["score"].to_numpy(dtype=np.float64)
    scored = values[~np.isnan(values)]
    nan = math.nan
    if len(scored):
        interval = mean_interval(scored, confidence)
        stats = (interval.estimate, float(np.median(scored)), float(scored.min()),
                 float(scored.max()), interval.low, interval.high)  # fmt: skip
    else:
        stats = (nan, nan, nan, nan, nan, nan)
    n_passed = int(chosen["passed"].fillna(False).sum()) if threshold is not None else 0
    return MetricSummary(
        label, len(values), len(scored), *stats, confidence, threshold,
        higher_is_better, n_passed, skipped,
    )  # fmt: skip


def mean_interval(
    values: Any, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> Interval:
    """The percentile bootstrap interval of the mean, fast for few distinct values.

    A resample's mean depends only on how often each distinct value is drawn,
    and those counts are multinomial: drawing them directly gives the same
    bootstrap distribution as resampling cases, at a cost that grows with the
    number of distinct values instead of the number of cases. Pass/fail and
    other discrete metrics over thousands of cases take microseconds this way;
    metrics with many distinct values use `llmbench.stats.bootstrap_ci`.
    """
    import numpy as np

    from llmbench.stats import Interval, bootstrap_ci

    distinct, counts = np.unique(
        np.asarray(values, dtype=np.float64), return_counts=True
    )
    n = int(counts.sum())
    if len(distinct) * 10 > n:
        return bootstrap_ci(
            values, confidence=confidence, n_resamples=n_resamples, seed=seed
        )

    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts / n, size=n_resamples)
    means = draws @ distinct / n
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return Interval(float(low), float(distinct @ counts / n), float(high))


def _threshold(spec: Any) -> float | None:
    """The spec's threshold, else the registered metric's."""
    from llmbench.suite_files import threshold_of

    return threshold_of(spec)


def _spend_row(kind: str, records: Sequence[CallRecord]) -> dict[str, Any]:
    """Calls, tokens and USD of some records."""
    costs = [r.cost_usd for r in records]
    return {
        "kind": kind,
        "calls": len(records),
        "errors": sum(r.status == "error" for r in records),
        "cache_hits": sum(r.cache_hit for r in records),
        "input_tokens": sum(r.input_tokens for r in records),
        "output_tokens": sum(r.output_tokens for r in records),
        "cost_usd": None
        if any(c is None for c in costs)
        else sum(c or 0.0 for c in costs),
        "paid_usd": sum(r.paid_usd for r in records),
    }
