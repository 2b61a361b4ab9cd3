"""Static views of a comparison: number formats, the verdict and styled tables."""

from __future__ import annotations

import math
import re

from llmbench import compare_views as views
from llmbench.compare import Comparison

pytest_plugins = ["compare_fixtures"]

V1, V2, V4 = "v1-no-context", "v2-full-context", "v4-top-passage"


def test_an_interval_reads_as_estimate_then_bounds() -> None:
    assert views.format_interval(0.3, 0.25, 0.35) == "0.30 (0.25–0.35)"
    assert views.format_interval(-0.02, -0.05, 0.01) == "-0.02 (-0.05 to 0.01)"
    assert views.format_interval(math.nan, 0.0, 1.0) == "n/a"


def test_the_verdict_names_the_best_version_and_quotes_the_test(
    offline_comparison: Comparison,
) -> None:
    text = views.verdict_markdown(offline_comparison, V1)
    against_best = views.verdict_markdown(offline_comparison, V2)

    assert text.startswith(
        f"**On offline/extractive, {V2} is the best version by token_f1**"
    )
    assert offline_comparison.pairwise(V1, V2).verdict in text
    assert f"no version beats the baseline {V2}" in against_best


def test_summary_table_formats_intervals_and_spend(
    offline_comparison: Comparison,
) -> None:
    html = views.summary_table(offline_comparison).to_html()

    summary = offline_comparison.summary()
    row = summary[summary["prompt_version"] == V2].iloc[0]
    expected = views.format_interval(
        row["token_f1"], row["token_f1_low"], row["token_f1_high"]
    )
    assert expected in html
    assert "tokens in / out per call" in html
    assert "$0" in html
    bold = re.findall(
        r"((?:#T_\w+_row\d+_col\d+[,\s]*)+)\{[^}]*font-weight: bold", html
    )
    rows = {int(n) for rule in bold for n in re.findall(r"_row(\d+)_", rule)}
    assert rows == {1}  # the best version's row, v2, and only it


def test_pairwise_table_tints_significant_rows(offline_comparison: Comparison) -> None:
    html = views.pairwise_table(offline_comparison).to_html()

    assert views.ADDED_BG in html  # v2 beats v1
    assert views.REMOVED_BG in html  # v4 loses to v2
    assert "Wilcoxon" in html or "sign test" in html


def test_losses_table_lists_the_worst_first(offline_comparison: Comparison) -> None:
    losses = views.worst_losses(offline_comparison, V2, V4, n=3)
    none = views.losses_table(offline_comparison, V1, V2)

    assert len(losses) == 3
    assert losses["delta"].is_monotonic_increasing
    assert (losses["delta"] < 0).all()
    assert "scores lower than" in none.data
