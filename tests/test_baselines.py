"""Baselines: saving and reading them, and the regression rule on known flips."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from llmbench.baselines import (
    baseline_from_result,
    compare_to_baseline,
    find_baseline,
    load_baseline,
    metric_delta,
    save_baseline,
)
from llmbench.errors import RunError
from llmbench.records import CallRecord
from llmbench.runs import RunResult
from llmbench.suite_results import SuiteResult
from llmbench.suites import Suite, load_suite, score_suite

CHECKED_IN = (
    Path(__file__).resolve().parents[1] / "data" / "baselines" / "qa_offline.json"
)


def case_frame(
    metric: str, scores: list[float], threshold: float | None
) -> pd.DataFrame:
    """Case scores c0, c1... of one metric, pass/fail against `threshold`."""
    passed = [
        None if threshold is None or math.isnan(s) else s >= threshold for s in scores
    ]
    return pd.DataFrame(
        {
            "case_id": [f"c{i}" for i in range(len(scores))],
            "metric": metric,
            "score": scores,
            "passed": pd.array(passed, dtype="boolean"),
        }
    )


@pytest.fixture
def suite(tmp_path: Path) -> Suite:
    """A two-metric suite over six cases whose reference answers are a..f."""
    cases = tmp_path / "cases.jsonl"
    lines = [
        json.dumps(
            {"id": f"c{i}", "question": f"q{i}?", "answer": letter, "contexts": ["x"]}
        )
        for i, letter in enumerate("abcdef")
    ]
    cases.write_text("\n".join(lines) + "\n")
    return Suite.from_dict(
        {
            "name": "letters",
            "dataset": str(cases),
            "task": {
                "prompt": "qa_answer",
                "version": "v4-top-passage",
                "model": "offline/echo",
            },
            "metrics": ["contains", {"name": "token_f1", "threshold": 0.5}],
            "gate": ["pass_rate(contains) >= 50%"],
        }
    )


def result_of(suite: Suite, outputs: list[str]) -> SuiteResult:
    """The suite scored on hand-made outputs for c0, c1..."""
    records = [
        CallRecord("run-x", f"c{i}", "qa_answer", "v4-top-passage", "offline/echo", 0,
                   output_text=text, metadata={"prompt_hash": "abc123"})
        for i, text in enumerate(outputs)
    ]  # fmt: skip
    return score_suite(suite, RunResult("run-x", records))


# -- the regression rule on constructed case scores ------------------------------


def test_eight_cases_flipping_to_fail_is_a_significant_regression() -> None:
    before = case_frame("m", [1.0] * 10, threshold=1.0)
    after = case_frame("m", [0.0] * 8 + [1.0] * 2, threshold=1.0)

    delta = metric_delta("m", before, after)

    assert delta.to_fail == tuple(f"c{i}" for i in range(8))
    assert delta.to_pass == ()
    assert delta.mcnemar is not None
    assert (delta.mcnemar.only_a_passed, delta.mcnemar.only_b_passed) == (8, 0)
    assert delta.mcnemar.p_value == pytest.approx(2 * 0.5**8)
    assert delta.scores.difference.estimate == pytest.approx(-0.8)
    assert delta.regressed and not delta.improved
    assert "m regressed" in delta.verdict
    assert "8 case(s) went from pass to fail and 0 from fail to pass" in delta.verdict


def test_the_same_change_the_other_way_is_an_improvement() -> None:
    before = case_frame("m", [0.0] * 8 + [1.0] * 2, threshold=1.0)
    after = case_frame("m", [1.0] * 10, threshold=1.0)

    delta = metric_delta("m", before, after)

    assert delta.improved and not delta.regressed
    assert len(delta.to_pass) == 8


def test_one_flip_is_not_significant() -> None:
    before = case_frame("m", [1.0] * 10, threshold=1.0)
    after = case_frame("m", [0.0] + [1.0] * 9, threshold=1.0)

    delta = metric_delta("m", before, after)

    assert delta.to_fail == ("c0",)
    assert delta.mcnemar is not None and delta.mcnemar.p_value == 1.0
    assert not delta.regressed


def test_a_real_but_tolerated_drop_is_not_a_regression() -> None:
    before = case_frame("m", [0.90 + 0.001 * i for i in range(12)], threshold=None)
    after = case_frame("m", [0.85 + 0.001 * i for i in range(12)], threshold=None)

    strict = metric_delta("m", before, after, tolerance=0.0)
    lenient = metric_delta("m", before, after, tolerance=0.1)

    assert strict.scores.significant and strict.mcnemar is None
    assert strict.regressed
    assert not lenient.regressed


def test_for_lower_is_better_metrics_a_rise_is_the_regression() -> None:
    before = case_frame("latency", [1.0] * 12, threshold=None)
    after = case_frame("latency", [2.0 + 0.01 * i for i in range(12)], threshold=None)

    delta = metric_delta("latency", before, after, higher_is_better=False)

    assert delta.regressed
    assert delta.scores.losses == 12


def test_cases_only_on_one_side_are_left_out_of_the_pairs() -> None:
    before = case_frame("m", [1.0, 1.0, 1.0], threshold=1.0)
    after = case_frame("m", [1.0, 0.0], threshold=1.0)

    delta = metric_delta("m", before, after)

    assert delta.scores.n == 2
    assert delta.to_fail == ("c1",)


# -- suite results against baselines ----------------------------------------------


def test_a_saved_baseline_reads_back_with_its_scores_and_metadata(
    suite: Suite, tmp_path: Path
) -> None:
    result = result_of(suite, ["a", "b", "no", "no", "e", "f"])

    path = save_baseline(result, tmp_path / "letters.json")
    loaded = load_baseline(path)

    assert (loaded.suite, loaded.suite_hash, loaded.run_id) == (
        "letters",
        suite.hash,
        "run-x",
    )
    assert loaded.task["version"] == "v4-top-passage"
    assert loaded.task["prompt_hash"] == "abc123"
    assert loaded.dataset["cases"] == 6
    assert loaded.metrics["token_f1"] == {
        "name": "token_f1",
        "higher_is_better": True,
        "threshold": 0.5,
    }
    assert loaded.gate_passed is True
    assert loaded.outputs["c2"] == "no"
    contains = loaded.case_scores[loaded.case_scores["metric"] == "contains"]
    assert contains["score"].tolist() == [1.0, 1.0, 0.0, 0.0, 1.0, 1.0]
    assert contains["passed"].tolist() == [True, True, False, False, True, True]
    lines = path.read_text().splitlines()
    assert sum(line.strip().startswith('{"case_id"') for line in lines) == 6


def test_comparing_with_a_baseline_finds_the_flipped_cases(
    suite: Suite, tmp_path: Path
) -> None:
    good = result_of(suite, ["a", "b", "c", "d", "e", "f"])
    path = save_baseline(good, tmp_path / "letters.json")
    worse = result_of(suite, ["a", "b", "no", "no", "no", "f"])

    comparison = worse.compare(path)

    table = comparison.table().set_index("metric")
    assert table.loc["contains", "pass_to_fail"] == 3
    assert table.loc["contains", "delta"] == pytest.approx(-0.5)
    flips = comparison.flips()
    assert flips["case_id"].tolist() == ["c2", "c3", "c4", "c2", "c3", "c4"]
    assert set(flips["change"]) == {"pass → fail"}
    assert flips.iloc[0][["baseline_output", "current_output"]].tolist() == ["c", "no"]
    # three flips out of six cases are too few to call significant
    assert not comparison.regressed
    assert worse.verdict(comparison).passed  # and 3 of 6 still meet the 50% gate


def test_a_significant_regression_fails_the_verdict_without_any_gate(
    suite: Suite,
) -> None:
    ungated = replace(suite, gate=())
    baseline = baseline_from_result(result_of(ungated, ["a", "b", "c", "d", "e", "f"]))
    worse = result_of(ungated, ["no"] * 6)

    comparison = compare_to_baseline(worse, baseline, alpha=0.05)

    assert worse.gate_passed
    assert [d.metric for d in comparison.regressions] == ["contains", "token_f1"]
    assert comparison.deltas[0].mcnemar is not None
    assert comparison.deltas[0].mcnemar.p_value == pytest.approx(2 * 0.5**6)
    verdict = worse.verdict(comparison)
    assert not verdict.passed
    assert any(line.startswith("contains regressed") for line in verdict.failures)


def test_notes_say_when_the_suite_or_the_task_changed(
    suite: Suite, tmp_path: Path
) -> None:
    path = save_baseline(result_of(suite, ["a"] * 6), tmp_path / "b.json")
    changed = Suite.from_dict(
        {
            "name": "letters",
            "dataset": suite.dataset,
            "task": {
                "prompt": "qa_answer",
                "version": "v2-full-context",
                "model": "offline/echo",
            },
            "metrics": ["contains"],
        }
    )

    comparison = result_of(changed, ["a"] * 6).compare(path)

    notes = " | ".join(comparison.notes)
    assert "the suite changed since the baseline" in notes
    assert (
        "task changed: qa_answer@v4-top-passage on offline/echo -> "
        "qa_answer@v2-full-context" in notes
    )
    assert [d.metric for d in comparison.deltas] == ["contains"]


def test_the_checked_in_baseline_matches_its_suite() -> None:
    suite = load_suite("qa_offline")

    baseline = load_baseline(CHECKED_IN)

    assert find_baseline(suite, "auto") == CHECKED_IN
    assert baseline.suite == "qa_offline"
    assert baseline.suite_hash == suite.hash
    assert (
        baseline.task["version"] == "v4-top-passage"
    )  # a different version on purpose
    assert set(baseline.case_scores["case_id"]) == set(suite.dataset.case_ids)


# -- files ------------------------------------------------------------------------


def test_find_baseline_follows_the_choice(suite: Suite, tmp_path: Path) -> None:
    existing = tmp_path / "b.json"
    existing.write_text("{}")

    assert find_baseline(suite, None) is None
    assert find_baseline(suite, "auto") is None  # the suite has no baseline yet
    assert find_baseline(suite, existing) == existing
    with pytest.raises(RunError, match="no such baseline file"):
        find_baseline(suite, tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not JSON"),
        ('{"format": "something-else"}', "not an llmbench baseline"),
        ('{"format": "llmbench-baseline/1", "suite": "s"}', "malformed baseline"),
    ],
)
def test_a_bad_baseline_file_is_named_in_the_error(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)

    with pytest.raises(RunError, match=reason) as error:
        load_baseline(path)

    assert str(path) in str(error.value)
