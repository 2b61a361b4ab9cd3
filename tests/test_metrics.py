"""Metrics: the registry, each built-in metric, the scores frame, ragas parity."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest

from llmbench.datasets import Case
from llmbench.errors import JudgeNotConfiguredError, MetricError
from llmbench.metrics import (
    SCORE_COLUMNS,
    MetricSpec,
    Score,
    get_metric,
    metric,
    score,
    summarize,
    vectorized_metric,
)
from llmbench.metrics.base import _REGISTRY
from llmbench.metrics.deterministic import normalize_answer, token_f1_score
from llmbench.records import CallRecord


def records(outputs: list[str], **fields: Any) -> pd.DataFrame:
    """A records frame with one ok task call per output, case ids c0, c1..."""
    rows = [
        CallRecord(
            run_id="run-1",
            case_id=f"c{i}",
            prompt_name="qa",
            prompt_version="v1",
            model="offline/extractive",
            repeat=0,
            output_text=text,
            **fields,
        ).to_dict()
        for i, text in enumerate(outputs)
    ]
    return pd.DataFrame(rows)


def scores_of(frame: pd.DataFrame, name: str) -> list[float]:
    """One metric's scores, in call order."""
    return frame.loc[frame["metric"] == name, "score"].tolist()


@pytest.fixture
def scratch_metrics() -> Iterator[None]:
    """Drop metrics a test registers, so tests stay independent."""
    before = set(_REGISTRY)
    yield
    for name in set(_REGISTRY) - before:
        del _REGISTRY[name]


# -- the registry -------------------------------------------------------------


def test_unknown_metric_names_the_known_ones() -> None:
    with pytest.raises(MetricError) as caught:
        get_metric("exact_mach")

    assert "unknown metric 'exact_mach'" in str(caught.value)
    assert "exact_match" in str(caught.value)
    assert "token_f1" in str(caught.value)


def test_a_decorated_function_scores_with_params(scratch_metrics: None) -> None:
    @metric("starts_with", threshold=1.0)
    def starts_with(output: str, case: Mapping[str, Any], prefix: str = "") -> bool:
        return output.startswith(prefix + case["topic"])

    frame = records(["Re: cats", "cats"])
    cases = {"c0": {"topic": "cats"}, "c1": {"topic": "cats"}}

    result = score(frame, [{"name": "starts_with", "prefix": "Re: "}], cases)

    assert scores_of(result, "starts_with") == [1.0, 0.0]
    assert result["passed"].tolist() == [True, False]


def test_a_row_metric_sees_record_fields_and_may_explain(scratch_metrics: None) -> None:
    @metric("fast_enough")
    def fast_enough(output: str, case: Mapping[str, Any]) -> Score:
        return Score(float(case["latency_s"] < 1.0), f"took {case['latency_s']}s")

    result = score(records(["a"], latency_s=0.25), ["fast_enough"])

    assert scores_of(result, "fast_enough") == [1.0]
    assert result["detail"].tolist() == ["took 0.25s"]


def test_a_row_that_raises_scores_nan_and_the_rest_go_on(scratch_metrics: None) -> None:
    @metric("picky")
    def picky(output: str, case: Mapping[str, Any]) -> float:
        if output == "bad":
            raise ValueError("cannot read this")
        return 1.0

    result = score(records(["good", "bad"]), ["picky"])

    assert scores_of(result, "picky")[0] == 1.0
    assert math.isnan(scores_of(result, "picky")[1])
    assert result["detail"].tolist()[1] == "ValueError: cannot read this"


def test_vectorized_metric_of_the_wrong_length_is_an_error(
    scratch_metrics: None,
) -> None:
    @vectorized_metric("short")
    def short(rows: pd.DataFrame) -> list[float]:
        return [1.0]

    with pytest.raises(MetricError, match="returned 1 scores for 2 rows"):
        score(records(["a", "b"]), ["short"])


def test_registering_a_taken_name_is_refused(scratch_metrics: None) -> None:
    with pytest.raises(MetricError, match="already registered"):
        metric("exact_match")(lambda output, case: 1.0)


def test_specs_parse_from_suite_entries() -> None:
    spec = MetricSpec.parse(
        {"name": "regex", "pattern": r"\d+", "threshold": 1, "label": "has_number"}
    )
    nested = MetricSpec.parse({"name": "length_bounds", "params": {"max_words": 5}})

    assert spec == MetricSpec("regex", {"pattern": r"\d+"}, 1.0, "has_number")
    assert nested.params == {"max_words": 5}
    assert MetricSpec.parse("token_f1").display_name == "token_f1"
    with pytest.raises(MetricError, match="mapping with 'name'"):
        MetricSpec.parse({"pattern": "x"})


def test_missing_or_unknown_params_are_caught_before_scoring() -> None:
    frame = records(["a"])

    with pytest.raises(MetricError, match="needs the parameter 'pattern'"):
        score(frame, ["regex"])
    with pytest.raises(MetricError, match="bad parameters"):
        score(frame, [{"name": "token_f1", "colour": "red"}])


def test_the_same_metric_twice_needs_labels() -> None:
    frame = records(["42"])
    twice = [{"name": "regex", "pattern": "4"}, {"name": "regex", "pattern": "2"}]
    labelled = [{**twice[0], "label": "four"}, {**twice[1], "label": "two"}]

    with pytest.raises(MetricError, match="give each a 'label'"):
        score(frame, twice)
    result = score(frame, labelled)

    assert result["metric"].tolist() == ["four", "two"]


# -- deterministic metrics ----------------------------------------------------


def test_normalization_follows_squad() -> None:
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert normalize_answer("An apple, a day.") == "apple day"


def test_token_f1_matches_hand_computed_values() -> None:
    # 2 shared tokens; precision 2/3, recall 2/2: F1 = 0.8.
    assert token_f1_score("the cat sat down", "a cat sat") == pytest.approx(0.8)
    assert token_f1_score("cat cat dog", "cat dog dog") == pytest.approx(2 / 3)
    assert token_f1_score("dog", "cat") == 0.0
    assert token_f1_score("", "") == 1.0


def test_string_metrics_against_references() -> None:
    frame = records(["The Paris.", "It is paris, France", "Berlin"])
    cases = [
        Case("c0", {"answer": "Paris"}),
        Case("c1", {"answer": ["Lyon", "Paris, France"]}),
        Case("c2", {"answer": "Paris"}),
    ]

    result = score(frame, ["exact_match", "token_f1", "contains"], cases)

    assert scores_of(result, "exact_match") == [1.0, 0.0, 0.0]
    assert scores_of(result, "token_f1") == pytest.approx([1.0, 2 * 0.5 / 1.5, 0.0])
    assert scores_of(result, "contains") == [1.0, 1.0, 0.0]


def test_contains_a_given_substring_and_regex() -> None:
    frame = records(["Order #123 shipped", "No number here"])

    result = score(
        frame,
        [
            {"name": "contains", "substring": "SHIPPED"},
            {"name": "regex", "pattern": r"#\d+"},
            {
                "name": "regex",
                "pattern": r"no number here",
                "ignore_case": True,
                "full": True,
                "label": "whole",
            },
        ],
    )

    assert scores_of(result, "contains") == [1.0, 0.0]
    assert scores_of(result, "regex") == [1.0, 0.0]
    assert scores_of(result, "whole") == [0.0, 1.0]


def test_bad_regex_pattern_is_a_metric_error() -> None:
    with pytest.raises(MetricError, match="bad pattern"):
        score(records(["x"]), [{"name": "regex", "pattern": "("}])


def test_json_metrics() -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
    }
    frame = records(['{"answer": "Paris"}', '```json\n{"answer": 3}\n```', "Paris"])

    result = score(frame, ["valid_json", {"name": "json_schema", "schema": schema}])

    assert scores_of(result, "valid_json") == [1.0, 1.0, 0.0]
    assert scores_of(result, "json_schema") == [1.0, 0.0, 0.0]
    details = result.loc[result["metric"] == "json_schema", "detail"].tolist()
    assert details[0] is None
    assert details[1] == "schema: 3 is not of type 'string'"
    assert details[2].startswith("invalid JSON")


def test_json_schema_reads_the_case_schema_when_no_param() -> None:
    frame = records(['{"n": 1}', '{"n": 1}'])
    cases = {
        "c0": {"schema": {"type": "object", "required": ["n"]}},
        "c1": {"schema": '{"type": "object", "required": ["m"]}'},
    }

    result = score(frame, ["json_schema"], cases)

    assert scores_of(result, "json_schema") == [1.0, 0.0]


def test_length_latency_and_cost_bounds() -> None:
    frame = records(["one two three", "one"], latency_s=0.5)
    frame.loc[1, "latency_s"] = 3.0
    frame["cost_usd"] = pd.Series([0.002, None], dtype=object)

    result = score(
        frame,
        [
            {"name": "length_bounds", "min_words": 2, "max_chars": 20},
            {"name": "latency_bound", "max_s": 1.0},
            {"name": "cost_bound", "max_usd": 0.001},
        ],
    )

    assert scores_of(result, "length_bounds") == [1.0, 0.0]
    assert scores_of(result, "latency_bound") == [1.0, 0.0]
    cost = scores_of(result, "cost_bound")
    assert cost[0] == 0.0 and math.isnan(cost[1])
    assert "price unknown" in result["detail"].tolist()[-1]


def test_length_bounds_without_bounds_is_an_error() -> None:
    with pytest.raises(MetricError, match="at least one of"):
        score(records(["x"]), ["length_bounds"])


def test_semantic_similarity_ranks_paraphrases_above_unrelated_text() -> None:
    frame = records(["Paris is France's capital city", "I like turtles"])
    cases = {c: {"answer": "The capital of France is Paris"} for c in ("c0", "c1")}

    result = score(frame, ["semantic_similarity"], cases)

    close, far = scores_of(result, "semantic_similarity")
    assert close > 0.8
    assert far < 0.3


# -- the scores frame ---------------------------------------------------------


def test_scores_frame_shape_and_nan_reasons(caplog: pytest.LogCaptureFixture) -> None:
    frame = pd.concat(
        [
            records(["Paris", "Rome", "Oslo"]),
            pd.DataFrame(
                [
                    CallRecord(
                        "run-1",
                        "c0",
                        "qa",
                        "v1",
                        "m",
                        1,
                        status="error",
                        error_type="Timeout",
                    ).to_dict(),
                    CallRecord(
                        "run-1", "c0", None, None, "judge-x", 0, kind="judge"
                    ).to_dict(),
                ]
            ),
        ],
        ignore_index=True,
    )
    cases = {"c0": {"answer": "Paris"}, "c1": {"question": "no answer here"}}

    result = score(frame, ["exact_match"], cases)

    assert tuple(result.columns) == SCORE_COLUMNS
    assert len(result) == 4  # the judge call is not scored
    assert str(result["passed"].dtype) == "boolean"
    assert result["score"].tolist()[0] == 1.0
    assert result["detail"].tolist()[1:] == [
        "case has no 'answer'",
        "case has no 'answer'",
        "call error (Timeout)",
    ]
    assert result["passed"].isna().tolist() == [False, True, True, True]
    assert "exact_match 3 of 4" in caplog.text
    assert "missing from the cases given" in caplog.text


def test_thresholds_set_passed_and_respect_direction(scratch_metrics: None) -> None:
    @metric("errors_found", higher_is_better=False, threshold=1.0)
    def errors_found(output: str, case: Mapping[str, Any]) -> float:
        return float(output.count("!"))

    frame = records(["fine", "bad!!"])
    cases = {"c0": {"answer": "fine"}, "c1": {"answer": "bad"}}

    result = score(
        frame, ["errors_found", {"name": "token_f1", "threshold": 0.5}], cases
    )

    assert result["passed"].tolist() == [True, False, True, True]


def test_summarize_counts_nans_instead_of_hiding_them() -> None:
    frame = records(["Paris", "Rome", "Oslo"])
    cases = {"c0": {"answer": "Paris"}, "c1": {"answer": "Paris"}}

    table = summarize(score(frame, ["exact_match", "token_f1"], cases))

    row = table.set_index("metric").loc["exact_match"]
    assert (row["n"], row["n_scored"], row["n_nan"]) == (3, 2, 1)
    assert row["mean"] == 0.5
    assert row["pass_rate"] == 0.5
    assert pd.isna(table.set_index("metric").loc["token_f1", "pass_rate"])


def test_cases_may_be_a_frame_with_id_column() -> None:
    cases = pd.DataFrame({"id": [0, 1], "answer": ["a", "b"]})
    frame = records(["a", "a"])
    frame["case_id"] = ["0", "1"]

    result = score(frame, ["exact_match"], cases)

    assert scores_of(result, "exact_match") == [1.0, 0.0]


# -- ragas non-LLM metrics: same numbers as ragas 0.4.3 -----------------------

PAIRS = [
    (
        "The Eiffel Tower is in Paris. It was built in 1889.",
        "The Eiffel Tower is located in Paris. It opened in 1889.",
    ),
    (
        "Water boils at 100 degrees Celsius at sea level.",
        "At sea level water boils at 100 C.",
    ),
    ("Cats sleep a lot", "Dogs bark loudly at night"),
    ("Mount Everest is the highest mountain", "Mount Everest is the highest mountain"),
]
CONTEXTS = [
    (
        ["Paris is the capital of France.", "Berlin is in Germany.", "Noise text."],
        ["Paris is the capital of France.", "The Eiffel Tower is in Paris."],
    ),
    (["Completely unrelated passage."], ["Water boils at 100 C."]),
    (
        ["Water boils at 100 C at sea level.", "Ice melts at 0 C."],
        ["Water boils at 100 C.", "Ice melts at 0 degrees."],
    ),
]


def ragas_single_turn(metric_obj: Any, **sample: Any) -> float:
    """Score one sample with a legacy ragas metric, directly."""
    from ragas.dataset_schema import SingleTurnSample

    return float(asyncio.run(metric_obj.single_turn_ascore(SingleTurnSample(**sample))))


@pytest.fixture(scope="module")
def ragas_metrics() -> Any:
    """ragas' own metric classes (importing ragas takes a few seconds)."""
    # The private modules: ragas.metrics' own names warn that they are moving.
    from types import SimpleNamespace

    from ragas.metrics._bleu_score import BleuScore
    from ragas.metrics._context_precision import NonLLMContextPrecisionWithReference
    from ragas.metrics._context_recall import NonLLMContextRecall
    from ragas.metrics._rouge_score import RougeScore
    from ragas.metrics._string import NonLLMStringSimilarity

    return SimpleNamespace(
        BleuScore=BleuScore,
        NonLLMContextPrecisionWithReference=NonLLMContextPrecisionWithReference,
        NonLLMContextRecall=NonLLMContextRecall,
        RougeScore=RougeScore,
        NonLLMStringSimilarity=NonLLMStringSimilarity,
    )


@pytest.mark.parametrize("distance", ["levenshtein", "jaro_winkler"])
def test_string_bleu_rouge_agree_with_ragas(ragas_metrics: Any, distance: str) -> None:
    from ragas.metrics._string import DistanceMeasure

    frame = records([response for _, response in PAIRS])
    cases = {f"c{i}": {"answer": reference} for i, (reference, _) in enumerate(PAIRS)}
    similarity = ragas_metrics.NonLLMStringSimilarity(
        distance_measure=DistanceMeasure(distance)
    )
    bleu, rouge = ragas_metrics.BleuScore(), ragas_metrics.RougeScore()

    ours = score(
        frame,
        [{"name": "string_similarity", "distance": distance}, "bleu", "rouge"],
        cases,
    )

    for metric_name, theirs in (
        ("string_similarity", similarity),
        ("bleu", bleu),
        ("rouge", rouge),
    ):
        expected = [
            ragas_single_turn(theirs, reference=ref, response=resp)
            for ref, resp in PAIRS
        ]
        assert scores_of(ours, metric_name) == pytest.approx(expected, abs=1e-9)


def test_non_llm_context_metrics_agree_with_ragas(ragas_metrics: Any) -> None:
    frame = records(["-"] * len(CONTEXTS))
    cases = {
        f"c{i}": {"contexts": retrieved, "reference_contexts": reference}
        for i, (retrieved, reference) in enumerate(CONTEXTS)
    }
    precision = ragas_metrics.NonLLMContextPrecisionWithReference()
    recall = ragas_metrics.NonLLMContextRecall()

    ours = score(frame, ["non_llm_context_precision", "non_llm_context_recall"], cases)

    for name, theirs in (
        ("non_llm_context_precision", precision),
        ("non_llm_context_recall", recall),
    ):
        expected = [
            ragas_single_turn(theirs, retrieved_contexts=r, reference_contexts=e)
            for r, e in CONTEXTS
        ]
        assert scores_of(ours, name) == pytest.approx(expected, abs=1e-9)
    assert scores_of(ours, "non_llm_context_recall") == pytest.approx([0.5, 0.0, 1.0])


def test_context_metrics_need_reference_contexts() -> None:
    frame = records(["-"])

    result = score(frame, ["non_llm_context_recall"], {"c0": {"contexts": ["a"]}})

    assert math.isnan(result["score"].iloc[0])
    assert result["detail"].iloc[0] == "case has no 'reference_contexts'"


def test_offline_embeddings_fit_both_ragas_interfaces() -> None:
    from llmbench.metrics.judge_metrics import (
        offline_legacy_embeddings,
        offline_ragas_embeddings,
    )

    legacy = offline_legacy_embeddings()
    modern = offline_ragas_embeddings()

    query = legacy.embed_query("Where is Paris?")
    texts = asyncio.run(modern.aembed_texts(["Where is Paris?", "Cats"]))
    assert len(query) == 256
    assert np.linalg.norm(query) == pytest.approx(1.0, abs=1e-5)
    assert texts[0] == pytest.approx(query, abs=1e-6)
    assert len(texts) == 2


# -- LLM judge: never a silent default ---------------------------------------


def test_judge_metric_without_a_judge_raises_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def record_connect(self: socket.socket, address: Any) -> Any:
        attempts.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", record_connect)
    monkeypatch.delenv("LLMBENCH_JUDGE_MODEL", raising=False)
    frame = records(["Paris"])
    cases = {"c0": {"question": "Capital?", "contexts": ["Paris is the capital."]}}

    with pytest.raises(JudgeNotConfiguredError, match="never falls back"):
        score(frame, ["faithfulness"], cases)
    skipped = score(frame, ["exact_match", "faithfulness"], cases, skip_unjudged=True)

    assert attempts == []
    judged = skipped[skipped["metric"] == "faithfulness"]
    assert math.isnan(judged["score"].iloc[0])
    assert judged["detail"].iloc[0] == "not scored: no judge model configured"
