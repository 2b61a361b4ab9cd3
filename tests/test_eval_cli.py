"""``llmbench eval``: the summary it prints and the exit code CI reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llmbench.cli import EXIT_ERROR, EXIT_FAILED, EXIT_OK, main
from llmbench.testing import LocalServer

pytest_plugins = ["suite_fixtures"]

SUITES = Path(__file__).resolve().parents[1] / "data" / "suites"


def test_a_passing_suite_prints_its_summary_and_exits_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["eval", "qa_offline"])

    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert out.startswith(
        "suite qa_offline: qa_answer@v2-full-context on offline/extractive"
    )
    assert "gate: PASS" in out
    assert "mean of token_f1 is 0.301" in out
    assert "verdict: PASS" in out


def test_a_failing_gate_exits_1_with_the_reasons(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["eval", str(SUITES / "qa_strict.yaml")])

    out = capsys.readouterr().out
    assert code == EXIT_FAILED
    assert "gate: FAIL" in out
    assert (
        "  - fail rate of answer_json is 28.3% (15 of 53 cases fail); "
        "needs at most 5%: FAIL" in out
    )


def test_the_checked_in_baseline_is_compared_on_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["eval", "qa_offline", "--baseline", "auto"])

    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert "task changed: qa_answer@v4-top-passage on offline/extractive" in out
    assert "improved" in out
    assert "pass → fail: gk-24 (token_f1, semantic_similarity, contains)" in out


def test_a_significant_regression_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "v2.json"
    assert main(["eval", "qa_offline", "--save-baseline", str(saved)]) == EXIT_OK
    assert f"baseline saved to {saved}" in capsys.readouterr().out
    # the same suite, ungated and on the weaker prompt version
    data = yaml.safe_load((SUITES / "qa_offline.yaml").read_text())
    data["task"]["version"] = "v4-top-passage"
    data["gate"] = []
    data["metrics"] = data["metrics"][:3]
    del data["metrics_module"]
    suite = tmp_path / "qa_offline_v4.yaml"
    suite.write_text(yaml.safe_dump(data))

    code = main(["eval", str(suite), "--baseline", str(saved)])

    out = capsys.readouterr().out
    assert code == EXIT_FAILED
    assert "verdict: FAIL" in out
    assert "  - token_f1 regressed: mean 0.17 against the baseline's 0.301" in out
    assert "the suite changed since the baseline" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "qa_nowhere"], "no such suite"),
        (["eval", "qa_offline", "--baseline", "missing.json"], "no such baseline file"),
    ],
)
def test_bad_input_exits_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(args)

    assert code == EXIT_ERROR
    assert message in capsys.readouterr().err


def test_a_malformed_suite_file_exits_2_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "typo.yaml"
    suite.write_text(
        "dataset: qa_sample\n"
        "task: {prompt: qa_answer, version: v2-full-context,\n"
        "       model: offline/extractive}\n"
        "metrics: [{name: token_f1, threshold: high}]\n"
    )

    code = main(["eval", str(suite)])

    assert code == EXIT_ERROR
    assert (
        f"llmbench: {suite}: metrics[0].threshold: must be a number"
        in capsys.readouterr().err
    )


@pytest.fixture
def judge_env(
    judge_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> LocalServer:
    """The scripted judge, whose URL the CLI reads from LLMBENCH_JUDGE_API_BASE."""
    monkeypatch.setenv("LLMBENCH_JUDGE_API_BASE", judge_server.base_url)
    return judge_server


def test_judged_metrics_use_the_judge_model_given(
    judge_env: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["eval", "qa_judged", "--judge-model", "openai/judge-stub", "--limit", "2"]
    )

    out = capsys.readouterr().out
    assert code == EXIT_FAILED  # scripted faithfulness is 0.5, the gate wants 0.8
    assert "mean of faithfulness is 0.5" in out
    judge_row = next(
        line for line in out.splitlines() if line.lstrip().startswith("judge")
    )
    chat_calls = judge_env.stats()["requests"]["chat"]
    # See suite_fixtures: 5 judge calls per case, one of them a cache replay.
    assert int(judge_row.split()[1]) == 2 * (2 + 3)
    assert chat_calls == 2 * (2 + 3) - 2


def test_without_a_judge_model_judged_metrics_are_skipped(
    judge_env: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["eval", "qa_judged", "--limit", "2"])

    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert "skipped: no judge" in out
    assert (
        "SKIPPED mean(faithfulness) >= 0.8: skipped, no judge model configured" in out
    )
    assert judge_env.stats()["requests"]["chat"] == 0
