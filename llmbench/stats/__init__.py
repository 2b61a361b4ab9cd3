"""Is B really better than A? Confidence intervals and paired tests for evals.

Eval scores are paired: prompt A and prompt B answered the same cases, so the
questions worth asking are about per-case differences. This package gives

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

from llmbench.stats.bootstrap import Interval, bootstrap_ci, paired_bootstrap_ci
from llmbench.stats.paired import (
    McNemarResult,
    PairedComparison,
    compare,
    format_p,
    mcnemar,
    paired_comparison,
)
from llmbench.stats.repeats import case_variance

__all__ = [
    "Interval",
    "McNemarResult",
    "PairedComparison",
    "bootstrap_ci",
    "case_variance",
    "compare",
    "format_p",
    "mcnemar",
    "paired_bootstrap_ci",
    "paired_comparison",
]
