"""How fast llmbench scores a run, and how that compares with ragas.evaluate().

Scores 10,000 synthetic calls with five deterministic metrics (exact_match,
token_f1, contains, valid_json, length_bounds) through `llmbench.metrics.score`
and prints the seconds and rows per second (target: under 1 s). Then scores a
200-row sample with ragas' non-LLM metrics through ``ragas.evaluate()`` and
with llmbench's equivalents, and prints the time per row-metric of each.

    .venv/bin/python benchmarks/metrics_throughput.py [--rows 10000] [--sample 200]

Nothing here touches the network: every metric is offline.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
import warnings
from collections.abc import Callable
from typing import Any

import llmbench  # noqa: F401  (sets the offline switches before ragas imports)

DETERMINISTIC = [
    "exact_match",
    "token_f1",
    "contains",
    "valid_json",
    {"name": "length_bounds", "min_words": 1, "max_words": 60},
]
#: llmbench's metric -> the ragas class computing the same thing.
RAGAS_EQUIVALENTS = {
    "exact_match": "ExactMatch",
    "contains": "StringPresence",
    "string_similarity": "NonLLMStringSimilarity",
    "bleu": "BleuScore",
    "rouge": "RougeScore",
}
#: The words synthetic answers and outputs are drawn from.
VOCABULARY = (
    "paris france capital river seine tower museum louvre city north south "
    "water boils degrees sea level mountain highest everest nepal china border "
    "the a an of in is was built opened year"
)


def synthetic_run(rows: int, seed: int = 0) -> tuple[Any, Any]:
    """A records frame and its cases: answers, near-misses, JSON, long outputs."""
    import pandas as pd

    rng = random.Random(seed)
    words = VOCABULARY.split()
    records, cases = [], []
    for i in range(rows):
        answer = " ".join(rng.choices(words, k=rng.randint(2, 8)))
        kind = i % 4
        if kind == 0:
            output = answer.capitalize() + "."
        elif kind == 1:
            output = f"I think it is {answer} and more."
        elif kind == 2:
            output = json.dumps({"answer": answer, "confidence": rng.random()})
        else:
            output = " ".join(rng.choices(words, k=rng.randint(5, 80)))
        case_id = f"case-{i}"
        records.append(
            {
                "run_id": "bench",
                "case_id": case_id,
                "prompt_name": "qa",
                "prompt_version": "v1",
                "model": "offline/extractive",
                "repeat": 0,
                "kind": "task",
                "status": "ok",
                "output_text": output,
                "latency_s": rng.random(),
                "cost_usd": 0.0,
            }
        )
        cases.append({"case_id": case_id, "answer": answer, "question": "?"})
    return pd.DataFrame(records), pd.DataFrame(cases)


def timed_fresh(
    score_run: Callable[[Any, Any], Any], rows: int, repeats: int = 3
) -> list[float]:
    """Wall times of scoring `repeats` freshly generated runs (no warm caches)."""
    times = []
    for seed in range(1, repeats + 1):
        frame, cases = synthetic_run(rows, seed=seed)
        start = time.perf_counter()
        score_run(frame, cases)
        times.append(time.perf_counter() - start)
    return times


def ragas_evaluate_seconds(frame: Any, cases: Any) -> float:
    """Wall time of ragas.evaluate() over the sample with the equivalent metrics."""
    from ragas import EvaluationDataset, evaluate
    from ragas.metrics import _bleu_score, _rouge_score, _string

    joined = frame.merge(cases, on="case_id")
    dataset = EvaluationDataset.from_list(
        [
            {"user_input": q, "response": r, "reference": a}
            for q, r, a in zip(
                joined["question"], joined["output_text"], joined["answer"], strict=True
            )
        ]
    )
    metrics = [
        _string.ExactMatch(),
        _string.StringPresence(),
        _string.NonLLMStringSimilarity(),
        _bleu_score.BleuScore(),
        _rouge_score.RougeScore(),
    ]
    start = time.perf_counter()
    result = evaluate(
        dataset, metrics=metrics, show_progress=False, raise_exceptions=True
    )
    seconds = time.perf_counter() - start
    assert len(result.to_pandas()) == len(joined)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--skip-ragas", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    from llmbench.metrics import score

    equivalents = list(RAGAS_EQUIVALENTS)
    warm_frame, warm_cases = synthetic_run(50, seed=99)
    score(
        warm_frame, [*DETERMINISTIC, "string_similarity", "bleu", "rouge"], warm_cases
    )

    times = timed_fresh(lambda f, c: score(f, DETERMINISTIC, c), args.rows)
    best, n_metrics = min(times), len(DETERMINISTIC)
    print(f"llmbench: {args.rows:,} rows x {n_metrics} deterministic metrics")
    print(f"  fresh runs: {', '.join(f'{t:.3f}' for t in times)} s")
    print(
        f"  best {best:.3f} s: {args.rows / best:,.0f} rows/s, "
        f"{args.rows * n_metrics / best:,.0f} row-metrics/s"
    )

    big = timed_fresh(lambda f, c: score(f, equivalents, c), args.rows, repeats=1)[0]
    small = min(timed_fresh(lambda f, c: score(f, equivalents, c), args.sample))
    per_ours = small / (args.sample * len(equivalents)) * 1e3
    print(f"llmbench, ragas-equivalent metrics ({', '.join(equivalents)}):")
    print(f"  {args.rows:,} rows: {big:.3f} s")
    print(f"  {args.sample} rows: {small:.3f} s ({per_ours:.3f} ms/row-metric)")
    if args.skip_ragas:
        return

    import_start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import ragas  # noqa: F401
    print(f"ragas import: {time.perf_counter() - import_start:.1f} s")
    sample, sample_cases = synthetic_run(args.sample, seed=7)
    runs = [ragas_evaluate_seconds(sample, sample_cases) for _ in range(3)]
    per_ragas = min(runs) / (args.sample * len(equivalents)) * 1e3
    print(f"ragas.evaluate(), {args.sample} rows x {len(equivalents)} metrics:")
    print(f"  runs: {', '.join(f'{t:.3f}' for t in runs)} s")
    print(f"  best {min(runs):.3f} s ({per_ragas:.3f} ms/row-metric)")
    print(f"  ratio: ragas.evaluate() takes {per_ragas / per_ours:,.1f}x as long")


if __name__ == "__main__":
    main()
