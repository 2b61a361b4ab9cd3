"""Suites: loading and its errors, each metric path, gates, and the judge path."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from llmbench import suite_views
from llmbench.datasets import load_dataset
from llmbench.errors import SuiteError
from llmbench.gates import GateRule, MetricSummary, evaluate_gate
from llmbench.metrics import Judge
from llmbench.metrics.base import _REGISTRY
from llmbench.records import CallRecord
from llmbench.runs import RunResult
from llmbench.suites import Suite, load_suite, run_suite, score_suite
from llmbench.testing import LocalServer

pytest_plugins = ["suite_fixtures"]

CASES = [
    {
        "id": "c0",
        "question": "What is the capital of France?",
        "answer": "Paris",
        "contexts": ["Paris is the capital of France."],
    },
    {
        "id": "c1",
        "question": "Who wrote Pride and Prejudice?",
        "answer": "Jane Austen",
        "contexts": ["Pride and Prejudice was written by Jane Austen."],
    },
    {
        "id": "c2",
        "question": "Who wrote Pride and Prejudice?",
        "answer": "Jane Austen",
        "contexts": ["Pride and Prejudice was written by Jane Austen."],
    },
]
OUTPUTS = {"c0": "Paris", "c1": "Charlotte Bronte", "c2": "The author is Jane Austen"}
SUITES = Path(__file__).resolve().parents[1] / "data" / "suites"


@pytest.fixture
def dataset_file(tmp_path: Path) -> Path:
    """Three hand-made cases as a JSONL file."""
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(case) for case in CASES) + "\n")
    return path


def suite_dict(dataset: object, **changes: object) -> dict[str, object]:
    """A valid suite mapping over the hand-made cases."""
    data: dict[str, object] = {
        "name": "hand_made",
        "dataset": str(dataset) if isinstance(dataset, Path) else dataset,
        "task": {
            "prompt": "qa_answer",
            "version": "v2-full-context",
            "model": "offline/extractive",
        },
        "metrics": [{"name": "token_f1", "threshold": 0.5}, "contains"],
        "gate": ["mean(token_f1) >= 0.5"],
    }
    data.update(changes)
    return data


def write_suite(folder: Path, text: str, name: str = "suite.yaml") -> Path:
    """A suite file in `folder`."""
    path = folder / name
    path.write_text(text)
    return path


def hand_made_run(outputs: dict[str, str]) -> RunResult:
    """A run whose task calls answered the cases with `outputs`."""
    records = [
        CallRecord(
            run_id="run-hand",
            case_id=case_id,
            prompt_name="qa_answer",
            prompt_version="v2-full-context",
            model="offline/extractive",
            repeat=0,
            output_text=text,
        )
        for case_id, text in outputs.items()
    ]
    return RunResult("run-hand", records)


def case_score(result: object, metric: str, case_id: str) -> float:
    """One case's score on one metric."""
    frame = result.case_scores  # type: ignore[attr-defined]
    row = frame[(frame["metric"] == metric) & (frame["case_id"] == case_id)]
    return float(row["score"].iloc[0])


# -- every metric path a suite uses ---------------------------------------------


def test_each_metric_path_scores_hand_made_cases_as_expected(
    dataset_file: Path,
) -> None:
    metrics = [
        "token_f1",
        "exact_match",
        "contains",
        "semantic_similarity",
        {"name": "length_bounds", "label": "short", "max_words": 3},
        {"name": "regex", "pattern": "^[A-Z]"},
        "grounded",
    ]
    suite = Suite.from_dict(
        suite_dict(dataset_file, metrics=metrics, metrics_module="metrics.py", gate=[]),
        path=SUITES / "in_memory.yaml",
    )

    result = score_suite(suite, hand_made_run(OUTPUTS))

    expected = {
        "token_f1": [1.0, 0.0, 2 / 3],
        "exact_match": [1.0, 0.0, 0.0],
        "contains": [1.0, 0.0, 1.0],
        "short": [1.0, 1.0, 0.0],
        "regex": [1.0, 1.0, 1.0],
        "grounded": [1.0, 0.0, 0.5],
    }
    for metric, scores in expected.items():
        got = [case_score(result, metric, c) for c in ("c0", "c1", "c2")]
        assert got == pytest.approx(scores), metric
    assert case_score(result, "semantic_similarity", "c0") == pytest.approx(1.0)
    assert case_score(result, "semantic_similarity", "c1") < 0.5
    passed = result.case_scores.set_index(["metric", "case_id"])["passed"]
    assert passed["contains"].tolist() == [True, False, True]
    assert passed["semantic_similarity"].isna().all()  # no threshold, no verdict
    assert result.summaries["token_f1"].mean == pytest.approx(5 / 9)


def test_json_metrics_score_json_outputs(dataset_file: Path) -> None:
    schema = {
        "type": "object",
        "required": ["answer"],
        "properties": {"answer": {"type": "string"}},
    }
    metrics = [
        "valid_json",
        {"name": "json_schema", "label": "answer_json", "schema": schema},
    ]
    suite = Suite.from_dict(
        suite_dict(dataset_file, metrics=metrics, gate=["fail_rate(answer_json) <= 5%"])
    )
    run = hand_made_run(
        {"c0": '{"answer": "Paris"}', "c1": '{"answer": 3}', "c2": '{"answer": "Jane'}
    )

    result = score_suite(suite, run)

    assert [case_score(result, "valid_json", c) for c in ("c0", "c1", "c2")] == [
        1.0,
        1.0,
        0.0,
    ]
    assert [case_score(result, "answer_json", c) for c in ("c0", "c1", "c2")] == [
        1.0,
        0.0,
        0.0,
    ]
    assert result.gate[0].status == "fail"
    assert "2 of 3 cases fail" in result.gate[0].reason


def test_repeats_are_averaged_per_case_and_missing_cases_count_as_failed(
    dataset_file: Path,
) -> None:
    suite = Suite.from_dict(
        suite_dict(dataset_file, gate=["pass_rate(contains) >= 50%"])
    )
    records = [
        CallRecord(
            "r", "c0", "qa_answer", "v2", "offline/extractive", repeat, output_text=text
        )
        for repeat, text in enumerate(["Paris", "Lyon"])
    ]

    result = score_suite(suite, RunResult("r", records))

    assert case_score(result, "contains", "c0") == 0.5
    summary = result.summaries["contains"]
    assert (summary.n_cases, summary.n_scored, summary.n_passed) == (3, 1, 0)
    assert math.isnan(case_score(result, "contains", "c1"))
    assert result.gate[0].status == "fail"
    assert "2 of them unscored" in result.gate[0].reason


def test_a_run_of_the_sample_suite_passes_its_gate() -> None:
    result = run_suite("qa_offline")

    assert result.gate_passed, result.gate_table()
    assert result.verdict().passed
    assert set(result.case_scores["metric"]) == {
        "token_f1", "semantic_similarity", "contains", "concise", "grounded"
    }  # fmt: skip
    assert len(result.case_scores) == 5 * 53
    spend = result.spend().set_index("kind")
    assert spend.loc["task", "calls"] == 53
    assert spend.loc["judge", "calls"] == 0


def test_the_strict_sample_suite_fails_its_gate_with_reasons() -> None:
    result = run_suite("qa_strict")

    verdict = result.verdict()
    assert not verdict.passed
    assert any("fail rate of answer_json" in line for line in verdict.failures)
    assert result.summaries["answer_json"].fail_rate > 0.05


# -- loading: the sample suites, custom metrics, errors --------------------------


def test_sample_suites_load() -> None:
    offline = load_suite("qa_offline")
    strict = load_suite(SUITES / "qa_strict.yaml")
    judged = load_suite("qa_judged")

    assert offline.task.ref == "qa_answer@v2-full-context"
    assert [m.display_name for m in offline.metrics][-1] == "grounded"
    assert offline.metric_modules == ("metrics.py",)
    assert [r.text for r in strict.gate] == [
        "fail_rate(answer_json) <= 5%",
        "mean(token_f1) >= 0.3",
    ]
    assert judged.judge is None
    assert len(offline.hash) == 12


def test_the_suite_hash_ignores_the_task_but_not_thresholds() -> None:
    suite = load_suite("qa_offline")
    other_task = suite.with_task(version="v4-top-passage")
    other_threshold = Suite.from_dict(
        {**_yaml(SUITES / "qa_offline.yaml"), "metrics": ["token_f1"], "gate": []},
        path=SUITES / "qa_offline.yaml",
    )

    assert other_task.hash == suite.hash
    assert other_task.task.version == "v4-top-passage"
    assert other_threshold.hash != suite.hash


def test_a_custom_metric_file_next_to_the_suite_is_imported(
    tmp_path: Path, dataset_file: Path
) -> None:
    (tmp_path / "shout.py").write_text(
        "from llmbench.metrics import metric\n\n"
        "@metric('shouts_tmp', threshold=1.0)\n"
        "def shouts(output, case):\n"
        "    return output.isupper()\n"
    )
    text = json.dumps(
        suite_dict(
            dataset_file, metrics_module="shout.py", metrics=["shouts_tmp"], gate=[]
        )
    )
    try:
        suite = load_suite(write_suite(tmp_path, text))
        result = score_suite(
            suite, hand_made_run({"c0": "PARIS", "c1": "no", "c2": "NO"})
        )
    finally:
        _REGISTRY.pop("shouts_tmp", None)

    assert [case_score(result, "shouts_tmp", c) for c in ("c0", "c1", "c2")] == [
        1.0,
        0.0,
        1.0,
    ]


@pytest.mark.parametrize(
    ("change", "key", "reason"),
    [
        (
            {"metrics": ["token_f1", "no_such_metric"]},
            "metrics[1] (no_such_metric)",
            "unknown metric",
        ),
        (
            {"metrics": [{"name": "token_f1", "threshold": "high"}]},
            "metrics[0].threshold",
            "must be a number",
        ),
        (
            {"metrics": [{"name": "token_f1", "threshold": True}]},
            "metrics[0].threshold",
            "must be a number",
        ),
        (
            {"metrics": ["non_llm_context_recall"]},
            "metrics[0] (non_llm_context_recall)",
            "reference_contexts",
        ),
        (
            {"metrics": [{"name": "regex"}]},
            "metrics[0] (regex)",
            "needs the parameter 'pattern'",
        ),
        ({"metrics": ["contains", "contains"]}, "metrics[1]", "appears twice"),
        ({"metric": ["token_f1"]}, "metric", "did you mean 'metrics'"),
        ({"gate": ["mean(bleu) >= 0.2"]}, "gate[0]", "no metric labelled 'bleu'"),
        ({"gate": ["fail_rate(token_f1) <= 150%"]}, "gate[0]", "share of cases"),
        ({"gate": ["average token_f1 > 1"]}, "gate[0]", "cannot read"),
        (
            {"gate": [{"metric": "token_f1", "at_least": "lots"}]},
            "gate[0]",
            "must be a number",
        ),
        (
            {
                "metrics": ["semantic_similarity"],
                "gate": ["pass_rate(semantic_similarity) > 0.5"],
            },
            "gate[0]",
            "has no threshold",
        ),
        (
            {"task": {"prompt": "qa_answer", "version": "v9", "model": "m"}},
            "task.version",
            "no version 'v9'",
        ),
        (
            {"task": {"prompt": "qa_answer", "version": "v2-full-context"}},
            "task.model",
            "is missing",
        ),
        (
            {"judge": {"model": "openai/x", "api_key": "sk-1"}},
            "judge",
            "never go in suite files",
        ),
        ({"regression": {"alpha": 2}}, "regression.alpha", "between"),
        (
            {"metrics_module": "../outside.py"},
            "metrics_module",
            "outside the suite's folder",
        ),
        ({"dataset": "no_such_dataset"}, "dataset", "no_such_dataset"),
    ],
)
def test_a_malformed_suite_fails_on_load_naming_file_and_key(
    tmp_path: Path, dataset_file: Path, change: dict[str, object], key: str, reason: str
) -> None:
    data = {**suite_dict(dataset_file), **change}
    path = write_suite(tmp_path, json.dumps(data), name="broken.yaml")

    with pytest.raises(SuiteError) as error:
        load_suite(path)

    message = str(error.value)
    assert message.startswith(f"{path}: {key}:"), message
    assert reason in message


def test_invalid_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write_suite(tmp_path, "name: x\nmetrics: [token_f1,\ngate: {\n")

    with pytest.raises(SuiteError, match=rf"^{path}: line \d+: invalid YAML"):
        load_suite(path)


def test_a_dataset_lacking_a_template_variable_fails_on_load(tmp_path: Path) -> None:
    cases = tmp_path / "no_question.jsonl"
    cases.write_text(json.dumps({"id": "a", "answer": "x", "contexts": ["y"]}) + "\n")

    with pytest.raises(
        SuiteError, match=r"task\.version: template variable 'question'"
    ):
        Suite.from_dict(suite_dict(cases))


def test_python_suites_are_checked_the_same_way(dataset_file: Path) -> None:
    dataset = load_dataset(dataset_file)

    with pytest.raises(
        SuiteError, match=r"^<suite hand_made>: metrics\[0\]\.threshold"
    ):
        Suite.from_dict(
            suite_dict(dataset, metrics=[{"name": "token_f1", "threshold": "x"}])
        )


def test_a_missing_suite_lists_the_known_ones() -> None:
    with pytest.raises(SuiteError, match=r"no such suite; suites: .*qa_offline"):
        load_suite("qa_nowhere")


# -- gates ------------------------------------------------------------------------


def summary(metric: str = "m", **changes: object) -> MetricSummary:
    """A metric summary with plausible values; `changes` override them."""
    values: dict[str, object] = dict(
        metric=metric, n_cases=20, n_scored=20, mean=0.7, median=0.75, min=0.1,
        max=1.0, ci_low=0.6, ci_high=0.8, confidence=0.95, threshold=0.5,
        higher_is_better=True, n_passed=19,
    )  # fmt: skip
    values.update(changes)
    return MetricSummary(**values)  # type: ignore[arg-type]


def test_gate_rules_read_the_same_in_both_forms() -> None:
    expression = GateRule.parse("fail_rate(answer_json) <= 5%")
    mapping = GateRule.parse(
        {"metric": "answer_json", "statistic": "fail_rate", "at_most": "5%"}
    )

    assert expression == mapping
    assert expression.value == pytest.approx(0.05)
    assert expression.text == "fail_rate(answer_json) <= 5%"
    assert GateRule.parse({"metric": "m", "at_least": 0.8}).statistic == "mean"


def test_gate_verdicts_explain_themselves() -> None:
    rules = [GateRule.parse(t) for t in (
        "mean(m) >= 0.8", "fail_rate(m) <= 5%", "ci_low(m) > 0.5", "failed(m) < 2",
        "mean(judged) >= 0.8", "mean(nothing) >= 0.1",
    )]  # fmt: skip
    summaries = {
        "m": summary(),
        "judged": summary("judged", skipped="no judge model configured"),
        "nothing": summary("nothing", n_scored=0, n_passed=0),
    }

    results = evaluate_gate(rules, summaries)

    assert [r.status for r in results] == [
        "fail",
        "pass",
        "pass",
        "pass",
        "skipped",
        "fail",
    ]
    assert results[0].reason == (
        "mean of m is 0.7 (95% CI 0.6 to 0.8, 20 cases); needs at least 0.8: FAIL"
    )
    assert results[1].reason.startswith("fail rate of m is 5% (1 of 20 cases fail)")
    assert "skipped, no judge model configured" in results[4].reason
    assert "no case could be scored" in results[5].reason


# -- the LLM judge ----------------------------------------------------------------


def test_judged_suite_scores_through_the_judge_and_counts_its_spend(
    judge_server: LocalServer,
) -> None:
    judge = Judge(
        "openai/judge-stub",
        api_base=judge_server.base_url,
        input_usd_per_million=1.0,
        output_usd_per_million=4.0,
    )

    result = run_suite("qa_judged", judge=judge, limit=3)

    scores = result.case_scores.set_index(["metric", "case_id"])["score"]
    assert scores["faithfulness"].tolist() == [0.5, 0.5, 0.5]
    assert scores["answer_correctness"].tolist() == pytest.approx([2 / 3] * 3)
    assert [g.status for g in result.gate] == ["fail", "pass"]
    spend = result.spend().set_index("kind")
    chat_calls = judge_server.stats()["requests"]["chat"]
    # Per case: faithfulness asks 2 questions, correctness 3; the statement
    # split both ask for is the same request, answered once from the cache.
    assert spend.loc["judge", "calls"] == 3 * (2 + 3)
    assert chat_calls == sum(not r.cache_hit for r in judge.records) == 3 * (2 + 3) - 3
    assert spend.loc["judge", "cost_usd"] > 0
    assert spend.loc["task", "cost_usd"] == 0.0
    assert all(r.kind == "judge" for r in result.judge_records)


def test_without_a_judge_judged_metrics_are_skipped_and_say_so(
    judge_server: LocalServer,
) -> None:
    result = run_suite("qa_judged", limit=2)

    assert result.skipped.keys() == {"faithfulness", "answer_correctness"}
    assert [g.status for g in result.gate] == ["skipped", "skipped"]
    assert result.verdict().passed
    assert any("no judge model configured" in note for note in result.verdict().notes)
    assert judge_server.stats()["requests"]["chat"] == 0
    assert (
        result.summary().set_index("metric").loc["faithfulness", "status"] == "skipped"
    )


def test_a_judge_model_name_takes_its_server_from_the_environment(
    judge_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMBENCH_JUDGE_API_BASE", judge_server.base_url)

    result = run_suite("qa_judged", judge="openai/judge-env", limit=1)

    assert result.judge is not None and result.judge.model == "openai/judge-env"
    assert result.summaries["faithfulness"].mean == 0.5


def _yaml(path: Path) -> dict[str, object]:
    """A YAML file's mapping."""
    import yaml

    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


# -- views ------------------------------------------------------------------------


def test_the_text_report_and_the_banner_lead_with_the_verdict(
    dataset_file: Path,
) -> None:
    suite = Suite.from_dict(suite_dict(dataset_file, gate=["mean(token_f1) >= 0.9"]))
    result = score_suite(suite, hand_made_run(OUTPUTS))

    text = suite_views.text_report(result)
    banner = suite_views.verdict_html(result.verdict(), result)

    assert text.splitlines()[0].startswith("suite hand_made: qa_answer@v2-full-context")
    assert "gate: FAIL" in text
    assert text.rstrip().splitlines()[-2:] == [
        "verdict: FAIL",
        "  - mean of token_f1 is 0.556 (95% CI 0 to 1, 3 cases); "
        "needs at least 0.9: FAIL",
    ]
    assert "FAIL: suite hand_made" in banner
    assert "0 of 1 gate rule(s) pass" in banner
    assert suite_views.regression_markdown(None).startswith(
        "No baseline to compare with"
    )
    assert suite_views.headlines(result) == {
        "gate": "fail", "mean token_f1": 0.556, "mean contains": 0.667
    }  # fmt: skip


def test_the_fast_interval_agrees_with_the_case_bootstrap() -> None:
    import numpy as np

    from llmbench.stats import bootstrap_ci
    from llmbench.suite_results import mean_interval

    outcomes = (np.random.default_rng(5).random(3000) < 0.3).astype(float)

    fast = mean_interval(outcomes)
    slow = bootstrap_ci(outcomes)

    assert fast.estimate == slow.estimate == outcomes.mean()
    assert fast.low == pytest.approx(slow.low, abs=0.004)
    assert fast.high == pytest.approx(slow.high, abs=0.004)
