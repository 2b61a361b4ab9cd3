"""The ``llmbench cost`` command: an estimate before a run, the bill after it."""

from __future__ import annotations

import pytest

from llmbench.cli import EXIT_ERROR, EXIT_OK, main
from llmbench.prices import price_of
from llmbench.records import CallRecord
from llmbench.runs import RunStore

MINI = "openai/gpt-4o-mini"
HAIKU = "anthropic/claude-haiku-4-5"


def store_run(run_id: str, records: list[CallRecord]) -> None:
    """Write records as a stored run."""
    store = RunStore(run_id)
    for one in records:
        store.append(one)
    store.close()


def test_cost_estimate_prints_each_model_the_total_and_the_assumptions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["cost", "estimate", "--prompt", "qa_answer", "--models", MINI, HAIKU]
    argv += ["--versions", "v2-full-context", "v4-top-passage", "--dataset"]
    argv += ["qa_sample", "--repeats", "2", "--limit", "5", "--output-tokens", "30"]

    code = main(argv)

    out = capsys.readouterr().out
    assert code == EXIT_OK
    lines = out.splitlines()
    assert any(line.split()[:2] == [MINI, "20"] for line in lines)
    assert any(line.split()[:2] == [HAIKU, "20"] for line in lines)
    assert any(line.split()[:2] == ["total", "40"] for line in lines)
    assert "40 call(s) on 2 model(s): expected $" in out
    assert "Assumptions:" in out
    assert "30 output tokens each" in out


def test_cost_estimate_names_a_missing_prompt(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["cost", "estimate", "--prompt", "no_such_prompt", "--models", MINI]

    code = main(argv)

    assert code == EXIT_ERROR
    assert "no_such_prompt" in capsys.readouterr().err


def test_cost_report_accounts_for_a_stored_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    price = price_of(MINI)
    assert price is not None
    base = {"run_id": "r1", "prompt_name": "qa", "model": MINI, "repeat": 0}
    paid = price.cost(1000, 100)
    store_run(
        "r1",
        [
            CallRecord(**base, case_id="a", prompt_version="v1", input_tokens=1000,
                       output_tokens=100, cost_usd=paid),
            CallRecord(**base, case_id="b", prompt_version="v1", input_tokens=1000,
                       output_tokens=100, cost_usd=paid, cache_hit=True),
            CallRecord(**base, case_id="c", prompt_version="v1", status="not_run"),
            CallRecord(**base, case_id="a", prompt_version=None, kind="judge",
                       input_tokens=1000, output_tokens=100, cost_usd=paid),
        ],
    )  # fmt: skip

    code = main(["cost", "report", "latest"])

    out = capsys.readouterr().out
    assert code == EXIT_OK
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["task"][3:7] == ["2", "0", "1", "1"]  # calls, errors, not run, hits
    assert rows["task"][-2:] == [f"${paid:.2g}", f"${paid:.2g}"]  # paid, saved
    assert rows["judge"][3] == "1"
    assert "1 call(s) not run" in out
    assert "from the response cache" in out


def test_cost_report_of_an_unknown_run_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["cost", "report", "no-such-run"])

    assert code == EXIT_ERROR
    assert "no-such-run" in capsys.readouterr().err
