"""Statistics on constructed data whose answers are known by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from llmbench.stats import (
    Interval,
    bootstrap_ci,
    case_variance,
    compare,
    format_p,
    mcnemar,
    paired_bootstrap_ci,
    paired_comparison,
)


def test_bootstrap_ci_on_a_constant_is_degenerate() -> None:
    values = [0.7] * 25

    interval = bootstrap_ci(values)

    assert interval.low == interval.estimate == interval.high
    assert interval.estimate == pytest.approx(0.7)


def test_bootstrap_ci_brackets_the_mean_and_is_repeatable() -> None:
    values = np.random.default_rng(3).normal(10.0, 2.0, 200)

    first = bootstrap_ci(values, seed=7)
    second = bootstrap_ci(values, seed=7)

    assert first == second
    assert first.low < values.mean() < first.high
    assert first.estimate == pytest.approx(values.mean())
    # The standard error is 2 / sqrt(200) ~ 0.14, so a 95% CI is about +-0.28.
    assert 0.4 < first.high - first.low < 0.7


def test_bootstrap_ci_takes_any_statistic() -> None:
    values = np.arange(101.0)

    median = bootstrap_ci(values, statistic=np.median)
    top = bootstrap_ci(values, statistic=lambda x: float(np.percentile(x, 90)))

    assert median.estimate == 50.0
    assert median.low < 50.0 < median.high
    assert top.estimate == 90.0


def test_bootstrap_ci_refuses_nan_unless_told_to_omit() -> None:
    values = [1.0, float("nan"), 3.0]

    with pytest.raises(ValueError, match="1 of 3 values are NaN"):
        bootstrap_ci(values)
    interval = bootstrap_ci(values, nan_policy="omit")

    assert interval.estimate == 2.0


def test_paired_bootstrap_ci_of_identical_samples_is_zero() -> None:
    a = np.random.default_rng(1).random(30)

    interval = paired_bootstrap_ci(a, a.copy())

    assert interval == Interval(0.0, 0.0, 0.0)


def test_identical_scores_give_p_one_and_no_difference() -> None:
    a = np.random.default_rng(2).random(40)

    result = paired_comparison(a, a.copy())

    assert result.p_value == 1.0
    assert (result.wins, result.ties, result.losses) == (0, 40, 0)
    assert result.difference == Interval(0.0, 0.0, 0.0)
    assert not result.significant
    assert "score the same on all 40 cases" in result.verdict


def test_a_clear_shift_is_significant_and_the_verdict_says_so() -> None:
    rng = np.random.default_rng(4)
    a = rng.normal(0.5, 0.1, 40)
    b = a + 0.12 + rng.normal(0.0, 0.05, 40)

    result = paired_comparison(a, b)

    assert result.test == "wilcoxon"
    assert result.p_value < 0.01
    assert result.difference.low > 0.05
    assert result.difference.low < 0.12 < result.difference.high
    assert result.wins > 30
    assert result.verdict.startswith(f"B scores higher than A on {result.wins} of 40")
    assert "is unlikely to be noise (p < 0.001, Wilcoxon signed-rank test)" in (
        result.verdict
    )


def test_pure_noise_could_be_noise() -> None:
    rng = np.random.default_rng(5)
    a = rng.random(60)
    b = a + rng.normal(0.0, 0.05, 60)

    result = paired_comparison(a, b, label_a="v1", label_b="v2")

    assert result.p_value > 0.05
    assert result.difference.low < 0.0 < result.difference.high
    assert "could be noise" in result.verdict
    assert result.verdict.startswith("v2 scores higher than v1 on")


def test_few_non_ties_fall_back_to_the_exact_sign_test() -> None:
    a = [0, 0, 0, 0, 0, 1, 1, 1]
    b = [1, 1, 1, 1, 1, 1, 1, 1]

    result = paired_comparison(a, b)

    # Five wins, no losses: the two-sided sign test gives 2 * 0.5**5.
    assert result.test == "sign"
    assert result.p_value == pytest.approx(0.0625)
    assert (result.wins, result.ties, result.losses) == (5, 3, 0)


def test_tie_tolerance_turns_tiny_differences_into_ties() -> None:
    a = [0.5, 0.5, 0.5]
    b = [0.5001, 0.4999, 0.9]

    result = paired_comparison(a, b, tie_tolerance=0.001)

    assert (result.wins, result.ties, result.losses) == (1, 2, 0)


def test_lower_is_better_counts_drops_as_wins() -> None:
    latency_a = [2.0] * 12
    latency_b = [1.0] * 12

    result = paired_comparison(latency_a, latency_b, higher_is_better=False)

    assert (result.wins, result.losses) == (12, 0)
    assert "B scores lower (better) than A on 12 of 12" in result.verdict


def test_incomplete_pairs_are_left_out_and_reported() -> None:
    a = [1.0, float("nan"), 0.0, 1.0]
    b = [1.0, 1.0, None, 0.0]

    result = paired_comparison(a, b)

    assert (result.n, result.n_missing) == (2, 2)
    assert "2 cases without both scores were left out" in result.verdict


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        paired_comparison([1, 2, 3], [1, 2])


def test_mcnemar_exact_matches_a_hand_computation() -> None:
    # 10 cases only A passes, 2 only B passes, 5 both, 3 neither.
    passed_a = [1] * 10 + [0] * 2 + [1] * 5 + [0] * 3
    passed_b = [0] * 10 + [1] * 2 + [1] * 5 + [0] * 3

    result = mcnemar(passed_a, passed_b)

    # Two-sided exact: 2 * P(X <= 2), X ~ Binomial(12, 1/2) = 2 * 79 / 4096.
    assert result.method == "exact"
    assert result.p_value == pytest.approx(2 * (1 + 12 + 66) / 4096)
    assert (result.both_passed, result.only_a_passed) == (5, 10)
    assert (result.only_b_passed, result.both_failed, result.n) == (2, 3, 20)


def test_mcnemar_chi_square_matches_a_hand_computation() -> None:
    passed_a = [True] * 30 + [False] * 12 + [True] * 50
    passed_b = [False] * 30 + [True] * 12 + [True] * 50

    result = mcnemar(passed_a, passed_b)

    # (|30 - 12| - 1)^2 / 42 = 289 / 42; the chi-square(1) tail is 0.00871.
    assert result.method == "chi2"
    assert result.statistic == pytest.approx(289 / 42)
    assert result.p_value == pytest.approx(0.008711, abs=1e-5)


def test_mcnemar_without_discordant_pairs_is_p_one() -> None:
    result = mcnemar([True, False, True], [True, False, True])

    assert (result.p_value, result.statistic) == (1.0, 0.0)


def test_case_variance_flags_mixed_pass_fail_and_wide_ranges() -> None:
    frame = pd.DataFrame(
        {
            "case_id": ["steady"] * 3 + ["mixed"] * 3 + ["wide"] * 3 + ["gap"] * 2,
            "metric": ["m"] * 11,
            "score": [1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.2, 0.5, 0.9, 0.4, None],
            "passed": pd.array(
                [True] * 3 + [True, False, True] + [None] * 3 + [None, None],
                dtype="boolean",
            ),
        }
    )

    table = case_variance(frame).set_index("case_id")

    assert table.loc["steady", "flaky"] == False  # noqa: E712
    assert table.loc["steady", "std"] == 0.0
    assert table.loc["mixed", "flaky"] == True  # noqa: E712
    assert (table.loc["mixed", "n_passed"], table.loc["mixed", "n_failed"]) == (2, 1)
    assert table.loc["wide", "range"] == pytest.approx(0.7)
    assert table.loc["wide", "flaky"] == True  # noqa: E712
    assert table.loc["gap", "n_nan"] == 1
    assert math.isnan(table.loc["gap", "std"])
    assert table.loc["gap", "flaky"] == False  # noqa: E712


def test_compare_pairs_configurations_by_case_after_averaging_repeats() -> None:
    rows = []
    for case in range(12):
        for repeat in range(2):
            rows.append(("v1", str(case), repeat, 0.4))
            rows.append(("v2", str(case), repeat, 0.9 if case < 11 else 0.4))
    scores = pd.DataFrame(
        rows, columns=["prompt_version", "case_id", "repeat", "score"]
    )
    scores["metric"] = "token_f1"

    result = compare(scores, "token_f1", "v1", "v2")

    assert (result.wins, result.ties, result.losses) == (11, 1, 0)
    assert result.label_a == "v1"
    assert result.significant


def test_format_p_reads_like_a_paper() -> None:
    assert [format_p(p) for p in (0.0004, 0.0312, 0.41, 1.0)] == [
        "p < 0.001",
        "p = 0.031",
        "p = 0.41",
        "p = 1.00",
    ]
