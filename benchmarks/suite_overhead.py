"""What a suite adds on top of scoring: per-case aggregation, intervals, gate.

Scores 10,000 synthetic calls with the deterministic metrics of
``metrics_throughput.py`` twice: through `llmbench.metrics.score` alone, and
through `llmbench.suites.score_suite` (the same scoring, then case scores,
bootstrap intervals per metric, the gate). Prints the best of three times
of each and the difference, which should stay a small fraction of the scoring time.

    .venv/bin/python benchmarks/suite_overhead.py [--rows 10000]

Nothing here touches the network.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import llmbench  # noqa: F401  (sets the offline switches first)

sys.path.insert(0, str(Path(__file__).parent))
from metrics_throughput import DETERMINISTIC, synthetic_run


def suite_for(cases: object) -> object:
    """A suite over the synthetic cases, gated on every metric."""
    from llmbench.datasets import Case, Dataset
    from llmbench.suites import Suite

    rows = cases.to_dict("records")  # type: ignore[attr-defined]
    dataset = Dataset(
        name="synthetic",
        path=Path("synthetic.jsonl"),
        cases=[
            Case(str(r["case_id"]), {k: v for k, v in r.items() if k != "case_id"})
            for r in rows
        ],
    )
    return Suite.from_dict(
        {
            "name": "synthetic",
            "dataset": dataset,
            "task": {
                "prompt": "qa_answer",
                "version": "v1-no-context",
                "model": "offline/extractive",
            },
            "metrics": DETERMINISTIC,
            "gate": [
                "mean(token_f1) >= 0.1",
                "pass_rate(exact_match) >= 1%",
                "fail_rate(length_bounds) <= 50%",
            ],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    from llmbench.metrics import score
    from llmbench.records import CallRecord
    from llmbench.runs import RunResult
    from llmbench.suites import score_suite

    frame, cases = synthetic_run(args.rows, seed=3)
    suite = suite_for(cases)
    records = [CallRecord.from_dict(row) for row in frame.to_dict("records")]
    run = RunResult("bench", records)
    score(frame.head(50), DETERMINISTIC, cases.head(50))  # warm imports

    scoring = whole = float("inf")
    for _ in range(3):  # best of three: the machine may be busy
        start = time.perf_counter()
        score(run.to_frame(), DETERMINISTIC, suite.dataset)  # type: ignore[attr-defined]
        scoring = min(scoring, time.perf_counter() - start)

        start = time.perf_counter()
        result = score_suite(suite, run)  # type: ignore[arg-type]
        whole = min(whole, time.perf_counter() - start)

    print(f"{args.rows:,} calls x {len(DETERMINISTIC)} deterministic metrics")
    print(f"  score() alone:   {scoring:.3f} s")
    gate = "pass" if result.gate_passed else "fail"
    print(f"  score_suite():   {whole:.3f} s (gate {gate})")
    print(f"  suite overhead:  {whole - scoring:.3f} s")


if __name__ == "__main__":
    main()
