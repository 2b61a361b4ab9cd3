"""Baselines: a suite run saved as a file, to compare later runs with.

A baseline is one JSON file, ``data/baselines/<suite>.json`` by default, made
to be checked in beside the suite: no server, no database. It holds the suite's
name and hash, the task (prompt version and its content hash, model, params),
the dataset (name, case count, hash), the date and run id, each metric's
direction and threshold, and one line per case with its scores, pass/fail per
metric and the task's output.

The comparison itself (deltas, paired tests, flipped cases, the regression
rule) is in `llmbench.regressions`; its names are re-exported here.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmbench.errors import RunError
from llmbench.regressions import (
    BaselineComparison,
    MetricDelta,
    compare_to_baseline,
    metric_delta,
)

if TYPE_CHECKING:
    import pandas as pd

    from llmbench.suite_results import SuiteResult
    from llmbench.suites import Suite

__all__ = [
    "FORMAT",
    "Baseline",
    "BaselineComparison",
    "MetricDelta",
    "baseline_from_result",
    "compare_to_baseline",
    "find_baseline",
    "load_baseline",
    "metric_delta",
    "save_baseline",
]

logger = logging.getLogger(__name__)

FORMAT = "llmbench-baseline/1"


@dataclass(frozen=True)
class Baseline:
    """A saved suite run to compare later runs with.

    Attributes:
        suite: The suite's name.
        suite_hash: `Suite.hash` when the baseline was made.
        task: ``prompt``, ``version``, ``prompt_hash``, ``model``, ``params``,
            ``repeats`` of the run.
        dataset: ``name``, ``cases`` and ``hash`` of the dataset.
        created_at: UTC ISO-8601 time the baseline was saved.
        run_id: The run it was made from.
        metrics: Label -> ``name``, ``higher_is_better``, ``threshold``.
        case_scores: One row per case and metric: ``case_id``, ``metric``,
            ``score`` (NaN when unscored), ``passed`` (<NA> without threshold).
        outputs: Case id -> the task's output.
        gate_passed: Whether the run passed its gate, if known.
        path: The file it was read from or written to.
    """

    suite: str
    suite_hash: str
    task: Mapping[str, Any]
    dataset: Mapping[str, Any]
    created_at: str
    run_id: str
    metrics: Mapping[str, Mapping[str, Any]]
    case_scores: pd.DataFrame
    outputs: Mapping[str, str] = field(default_factory=dict)
    gate_passed: bool | None = None
    path: Path | None = None

    @property
    def description(self) -> str:
        """``qa_answer@v4 on offline/extractive, run <id> of <date>``."""
        task = self.task
        return (
            f"{task.get('prompt')}@{task.get('version')} on {task.get('model')}, "
            f"run {self.run_id} of {self.created_at[:10]}"
        )


def baseline_from_result(result: SuiteResult) -> Baseline:
    """The `Baseline` a suite result would be saved as."""
    from llmbench.metrics import get_metric
    from llmbench.suite_files import dataset_hash

    suite = result.suite
    task = suite.task
    prompt_hash = next(
        (
            r.metadata.get("prompt_hash")
            for r in result.run.records
            if r.kind == "task" and r.metadata
        ),
        None,
    )
    metrics = {
        spec.display_name: {
            "name": spec.name,
            "higher_is_better": get_metric(spec.name).higher_is_better,
            "threshold": result.summaries[spec.display_name].threshold,
        }
        for spec in suite.metrics
    }
    return Baseline(
        suite=suite.name,
        suite_hash=suite.hash,
        task={
            "prompt": task.prompt,
            "version": task.version,
            "prompt_hash": prompt_hash,
            "model": task.model,
            "params": dict(task.params),
            "repeats": task.repeats,
        },
        dataset={
            "name": suite.dataset.name,
            "cases": len(result.cases),
            "hash": dataset_hash(suite.dataset),
        },
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        run_id=result.run.run_id,
        metrics=metrics,
        case_scores=result.case_scores[["case_id", "metric", "score", "passed"]].copy(),
        outputs=result.outputs(),
        gate_passed=result.gate_passed,
    )


def save_baseline(
    result: SuiteResult | Baseline, path: str | Path | None = None
) -> Path:
    """Write a suite run (or a `Baseline`) as a baseline file.

    Args:
        result: The suite run to keep.
        path: Where; default the suite's baseline, ``data/baselines/<suite>.json``.

    Returns:
        The file written. One line per case, so diffs of the file read well.
    """
    baseline = result if isinstance(result, Baseline) else baseline_from_result(result)
    if path is None:
        if isinstance(result, Baseline):
            raise RunError("save_baseline needs a path for a Baseline object")
        path = result.suite.default_baseline
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)

    header = {
        "format": FORMAT,
        "suite": baseline.suite,
        "suite_hash": baseline.suite_hash,
        "created_at": baseline.created_at,
        "run_id": baseline.run_id,
        "gate_passed": baseline.gate_passed,
        "task": dict(baseline.task),
        "dataset": dict(baseline.dataset),
        "metrics": {k: dict(v) for k, v in baseline.metrics.items()},
    }
    lines = [json.dumps(row, default=str) for row in _case_rows(baseline)]
    body = json.dumps(header, indent=2, default=str)[:-2]
    text = body + ',\n  "cases": [\n    ' + ",\n    ".join(lines) + "\n  ]\n}\n"
    temporary = target.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(target)
    logger.info("saved baseline of suite %s to %s", baseline.suite, target)
    return target


def load_baseline(path: str | Path) -> Baseline:
    """Read a baseline file.

    Raises:
        RunError: The file is missing, not JSON, or not a baseline; the
            message names the file and what is wrong.
    """
    import pandas as pd

    target = Path(path)
    try:
        data = json.loads(target.read_text())
    except OSError as exc:
        raise RunError(f"{target}: cannot read the baseline: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise RunError(f"{target}:{exc.lineno}: not JSON: {exc.msg}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RunError(f"{target}: not an llmbench baseline (format {FORMAT!r})")

    try:
        rows = [
            {
                "case_id": str(case["case_id"]),
                "metric": metric,
                "score": math.nan if value is None else float(value),
                "passed": case.get("passed", {}).get(metric),
            }
            for case in data["cases"]
            for metric, value in case["scores"].items()
        ]
        frame = pd.DataFrame(rows, columns=["case_id", "metric", "score", "passed"])
        frame["passed"] = frame["passed"].astype("boolean")
        return Baseline(
            suite=str(data["suite"]),
            suite_hash=str(data["suite_hash"]),
            task=data["task"],
            dataset=data["dataset"],
            created_at=str(data["created_at"]),
            run_id=str(data["run_id"]),
            metrics=data["metrics"],
            case_scores=frame,
            outputs={
                str(c["case_id"]): str(c.get("output") or "") for c in data["cases"]
            },
            gate_passed=data.get("gate_passed"),
            path=target,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RunError(
            f"{target}: malformed baseline: {type(exc).__name__}: {exc}"
        ) from exc


def find_baseline(suite: Suite, choice: str | Path | None = "auto") -> Path | None:
    """The baseline file to compare a suite run with, or None for no comparison.

    Args:
        suite: The suite.
        choice: ``"auto"`` for the suite's own baseline (its ``baseline`` key,
            else ``data/baselines/<suite>.json``) when that file exists; a
            path (which must exist); or None.

    Raises:
        RunError: An explicit path that does not exist.
    """
    if choice is None:
        return None
    if str(choice) == "auto":
        path = suite.default_baseline
        return path if path.is_file() else None
    path = Path(choice)
    if not path.is_file():
        raise RunError(f"{path}: no such baseline file")
    return path


def _case_rows(baseline: Baseline) -> list[dict[str, Any]]:
    """One JSON-ready dict per case: id, scores, passed, output."""
    rows: dict[str, dict[str, Any]] = {}
    for case_id, metric, value, passed in baseline.case_scores[
        ["case_id", "metric", "score", "passed"]
    ].itertuples(index=False):
        row = rows.setdefault(case_id, {"case_id": case_id, "scores": {}, "passed": {}})
        row["scores"][metric] = None if _missing(value) else round(float(value), 6)
        row["passed"][metric] = None if _missing(passed) else bool(passed)
    for case_id, row in rows.items():
        row["output"] = baseline.outputs.get(case_id, "")
    return list(rows.values())


def _missing(value: Any) -> bool:
    """None, NaN or <NA>."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN
    except TypeError:
        return True  # <NA> refuses bool()
