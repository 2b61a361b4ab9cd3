"""Charts of a suite run, as matplotlib Figures built without pyplot.

- `metric_distributions`: per metric, how the case scores spread, which cases
  pass and fail, the threshold and the mean with its interval;
- `baseline_deltas`: per metric, the change against the baseline with its
  interval, coloured by whether it regressed, improved or held.

Each returns a Figure outside pyplot's figure list, so a notebook shows it
once (as a cell's last value, with the inline backend).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from llmbench.baselines import BaselineComparison
    from llmbench.gates import MetricSummary
    from llmbench.suite_results import SuiteResult

#: Colours of passing, failing and threshold-less cases; of regressions etc.
PASSED, FAILED, NEUTRAL = "#2e7d32", "#c62828", "#5c7cab"
STATE_COLORS = {"regressed": "#c62828", "improved": "#2e7d32", "held": "#808080"}
PANELS_PER_ROW = 3


def metric_distributions(result: SuiteResult, bins: int = 20) -> Figure:
    """One panel per scored metric: a histogram of case scores.

    Passing cases are green and failing ones red (blue without a threshold);
    the dashed line is the threshold, the solid line the mean and the band
    its confidence interval. Skipped metrics get no panel.
    """
    labels = [m for m, s in result.summaries.items() if not s.skipped]
    columns = min(PANELS_PER_ROW, max(1, len(labels)))
    rows = max(1, math.ceil(len(labels) / columns))
    fig = _figure(4.2 * columns, 3.0 * rows)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()

    for ax, label in zip(axes, labels, strict=False):
        _histogram(ax, result, label, bins)
    for ax in axes[len(labels) :]:
        ax.set_axis_off()
    if not labels:
        axes[0].text(0.5, 0.5, "no metric was scored", ha="center", va="center")
    return fig


def baseline_deltas(comparison: BaselineComparison) -> Figure:
    """Per metric, current - baseline with its interval; zero is no change."""
    deltas = comparison.deltas
    fig = _figure(7.0, 0.55 * max(3, len(deltas)) + 1.0)
    ax = fig.subplots()
    table = comparison.table()

    for i, row in enumerate(table.itertuples(index=False)):
        color = STATE_COLORS[str(row.state)]
        low, high = float(row.ci_low), float(row.ci_high)
        ax.errorbar(
            row.delta,
            i,
            xerr=[[max(0.0, row.delta - low)], [max(0.0, high - row.delta)]],
            fmt="o",
            color=color,
            capsize=4,
        )
        flips = f"{row.pass_to_fail} pass→fail, {row.fail_to_pass} fail→pass"
        ax.annotate(
            f"{row.state}  ({flips})",
            (row.delta, i),
            xytext=(0, 9),
            textcoords="offset points",
            ha="center",
            fontsize=8,
            color=color,
        )
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(table)), list(table["metric"]))
    ax.set_ylim(-0.7, len(table) - 0.3)
    ax.invert_yaxis()
    ax.set_xlabel("mean difference, current − baseline (95% CI)")
    ax.set_title(
        f"Against the baseline: {comparison.baseline.description}", fontsize=10
    )
    return fig


def _histogram(ax: Axes, result: SuiteResult, label: str, bins: int) -> None:
    """One metric's panel."""
    import numpy as np

    summary = result.summaries[label]
    chosen = result.case_scores[result.case_scores["metric"] == label]
    values = chosen["score"].to_numpy(dtype=np.float64)
    passed = chosen["passed"].fillna(False).to_numpy(dtype=bool)
    scored = ~np.isnan(values)
    low, high = _range(values[scored], summary.threshold)
    edges = np.linspace(low, high, bins + 1).tolist()

    if summary.threshold is None:
        ax.hist(values[scored], bins=edges, color=NEUTRAL, label="cases")
    else:
        ax.hist(
            [values[scored & passed], values[scored & ~passed]],
            bins=edges,
            stacked=True,
            color=[PASSED, FAILED],
            label=["pass", "fail"],
        )
        ax.axvline(summary.threshold, color="black", linestyle="--", linewidth=1.2,
                   label=f"threshold {summary.threshold:g}")  # fmt: skip
    if summary.n_scored:
        ax.axvspan(summary.ci_low, summary.ci_high, color="#f0a000", alpha=0.25)
        ax.axvline(summary.mean, color="#f0a000", linewidth=2, label="mean (95% CI)")

    ax.set_title(_title(label, summary), fontsize=10)
    ax.set_xlabel("case score")
    ax.set_ylabel("cases")
    ax.legend(fontsize=7, loc="best")


def _title(label: str, summary: MetricSummary) -> str:
    """``token_f1: mean 0.30 (0.25–0.35)``, plus unscored cases if any."""
    if not summary.n_scored:
        return f"{label}: no case scored"
    title = (
        f"{label}: mean {summary.mean:.2f} ({summary.ci_low:.2f}–{summary.ci_high:.2f})"
    )
    return title + (f", {summary.n_nan} unscored" if summary.n_nan else "")


def _range(values: object, threshold: float | None) -> tuple[float, float]:
    """The histogram's x range: the scores and the threshold, never empty."""
    import numpy as np

    points = list(np.asarray(values, dtype=np.float64))
    if threshold is not None:
        points.append(threshold)
    if not points:
        return 0.0, 1.0
    low, high = min(points), max(points)
    if high - low < 1e-9:
        return low - 0.5, high + 0.5
    pad = 0.02 * (high - low)
    return low - pad, high + pad


def _figure(width: float, height: float) -> Figure:
    """A Figure outside pyplot with constrained layout (inches)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")
