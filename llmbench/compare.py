"""Prompt comparison: is version B better than A, on which cases, by how much?

`compare_prompts` runs the matrix prompt versions x models x cases x repeats
through the engine, scores every call against the dataset's references, and
returns a `Comparison` that answers the question at three depths:

- `Comparison.summary`: quality with confidence intervals beside tokens, cost
  and latency, one row per version and model;
- `Comparison.pairwise`: for each pair of versions, wins / ties / losses per
  case, the mean difference with a bootstrap interval, a paired test and a
  verdict in plain words;
- `Comparison.side_by_side` and `Comparison.flaky_cases`: the cases themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmbench.datasets import Dataset, load_dataset
from llmbench.engine import Engine, run_sync
from llmbench.errors import ConfigError
from llmbench.prompts import Prompt, load_prompt
from llmbench.runs import RunResult

if TYPE_CHECKING:
    import pandas as pd

    from llmbench.metrics import Judge
    from llmbench.stats import PairedComparison

logger = logging.getLogger(__name__)

#: Metrics that need nothing but the reference answer and run offline.
DEFAULT_METRICS: tuple[str, ...] = ("token_f1", "semantic_similarity", "exact_match")


@dataclass
class Comparison:
    """The scored result of one comparison run.

    Attributes:
        prompt: The prompt whose versions were compared.
        versions: The version labels, in the order given (the first is A).
        models: The model strings.
        dataset: The cases answered.
        run: The engine's run (records on disk under its run id).
        scores: Tidy scores, one row per call and metric.
        metrics: The metric names, the first being the headline metric.
    """

    prompt: Prompt
    versions: list[str]
    models: list[str]
    dataset: Dataset
    run: RunResult
    scores: pd.DataFrame
    metrics: list[str] = field(default_factory=list)

    @cached_property
    def records(self) -> pd.DataFrame:
        """One row per call (`CallRecord` columns), built once."""
        return self.run.to_frame()

    @property
    def headline_metric(self) -> str:
        """The metric verdicts are about unless another is named."""
        return self.metrics[0]

    @property
    def repeats(self) -> int:
        """Calls made per case, version and model (1 when nothing ran)."""
        records = self.records
        return int(records["repeat"].max()) + 1 if len(records) else 1

    @property
    def case_ids(self) -> list[str]:
        """The ids of the cases answered, in dataset order."""
        answered = set(self.records["case_id"])
        return [case.case_id for case in self.dataset if case.case_id in answered]

    def best_version(
        self,
        metric: str | None = None,
        model: str | None = None,
        among: Sequence[str] | None = None,
    ) -> str:
        """The version with the best mean score on one model.

        Ties on the score go to the version with fewer input tokens per call
        (the cheaper prompt), then to the earlier version.

        Args:
            metric: The metric to rank by; default the headline metric.
            model: The model; default the first.
            among: Only these versions; default all.
        """
        import math

        metric = metric or self.headline_metric
        model = model or self.models[0]
        candidates = list(among) if among is not None else self.versions
        if not candidates:
            raise ConfigError("best_version needs at least one version to rank")
        sign = 1.0 if _higher_is_better(metric) else -1.0
        records = self.records
        ok = records[(records["model"] == model) & (records["status"] == "ok")]
        input_tokens = ok.groupby("prompt_version")["input_tokens"].mean()

        def rank(version: str) -> tuple[float, float, int]:
            mean = float(self.case_means(metric, version, model).mean())
            quality = sign * mean if not math.isnan(mean) else -math.inf
            tokens = float(input_tokens.get(version, math.inf))
            return (-quality, tokens, self.versions.index(version))

        return min(candidates, key=rank)

    def challenger(
        self, baseline: str, metric: str | None = None, model: str | None = None
    ) -> str:
        """The best version other than `baseline` (B for a verdict against it).

        Returns the baseline itself when it is the only version.
        """
        others = [v for v in self.versions if v != baseline]
        return self.best_version(metric, model, among=others) if others else baseline

    def summary(self, confidence: float = 0.95) -> pd.DataFrame:
        """Per version and model: mean of every metric with its CI, and spend.

        Columns: ``prompt_version``, ``model``, then for each metric
        ``<metric>``, ``<metric>_low``, ``<metric>_high`` (bootstrap over case
        means), then ``calls``, ``errors``, ``input_tokens``, ``output_tokens``
        (means per call), ``cost_usd`` (total), ``latency_p50_s``,
        ``latency_p95_s``. A metric with no score at all for a version and
        model (every call failed) gets NaN for all three.
        """
        import math

        import pandas as pd

        from llmbench.stats import Interval, bootstrap_ci

        records = self.records
        rows: list[dict[str, Any]] = []
        for version in self.versions:
            for model in self.models:
                row: dict[str, Any] = {"prompt_version": version, "model": model}
                for name in self.metrics:
                    per_case = self.case_means(name, version, model).dropna()
                    interval = (
                        bootstrap_ci(per_case.to_numpy(), confidence=confidence)
                        if len(per_case)
                        else Interval(math.nan, math.nan, math.nan)
                    )
                    row[name] = interval.estimate
                    row[f"{name}_low"] = interval.low
                    row[f"{name}_high"] = interval.high
                calls = records[
                    (records["prompt_version"] == version) & (records["model"] == model)
                ]
                row.update(_spend(calls))
                rows.append(row)
        return pd.DataFrame(rows)

    def case_means(self, metric: str, version: str, model: str) -> pd.Series:
        """One score per case (the mean over repeats), indexed by case id."""
        chosen = self.scores[
            (self.scores["metric"] == metric)
            & (self.scores["prompt_version"] == version)
            & (self.scores["model"] == model)
        ]
        return chosen.groupby("case_id")["score"].mean()

    def pairwise(
        self, a: str, b: str, *, metric: str | None = None, model: str | None = None
    ) -> PairedComparison:
        """Compare version `b` with version `a` on one metric and model, per case."""
        from llmbench.stats import compare

        model = model or self.models[0]
        subset = self.scores[self.scores["model"] == model]
        return compare(subset, metric or self.headline_metric, a, b)

    def pairwise_table(self, metric: str | None = None) -> pd.DataFrame:
        """Every pair of versions on every model: counts, difference, p, verdict."""
        import pandas as pd

        rows = []
        for model in self.models:
            for a, b in combinations(self.versions, 2):
                result = self.pairwise(a, b, metric=metric, model=model)
                rows.append(
                    {
                        "model": model,
                        "a": a,
                        "b": b,
                        "wins": result.wins,
                        "ties": result.ties,
                        "losses": result.losses,
                        "difference": result.difference.estimate,
                        "low": result.difference.low,
                        "high": result.difference.high,
                        "p_value": result.p_value,
                        "significant": result.significant,
                        "verdict": result.verdict,
                    }
                )
        return pd.DataFrame(rows)

    def flaky_cases(self, metric: str | None = None) -> pd.DataFrame:
        """Cases whose score moves across repeats (empty with one repeat)."""
        from llmbench.stats import case_variance

        chosen = self.scores[self.scores["metric"] == (metric or self.headline_metric)]
        variance = case_variance(chosen)
        return variance[variance["flaky"]].reset_index(drop=True)

    def side_by_side(
        self, a: str, b: str, *, model: str | None = None, metric: str | None = None
    ) -> pd.DataFrame:
        """One row per case: question, reference, both outputs, scores, spend.

        Rows follow the dataset's order. Repeat 0 is shown for outputs; scores
        are means over repeats; ``delta`` is B's score minus A's.
        """
        import pandas as pd

        model = model or self.models[0]
        metric = metric or self.headline_metric
        records = self.records
        first = records[(records["model"] == model) & (records["repeat"] == 0)]
        columns = ["case_id", "output_text", "input_tokens", "output_tokens",
                   "cost_usd", "latency_s", "status", "error_message"]  # fmt: skip
        left = first[first["prompt_version"] == a][columns].set_index("case_id")
        right = first[first["prompt_version"] == b][columns].set_index("case_id")
        table = left.merge(
            right, how="outer", left_index=True, right_index=True, suffixes=("_a", "_b")
        )

        table = table.reindex([c for c in self.case_ids if c in table.index])
        table["score_a"] = self.case_means(metric, a, model)
        table["score_b"] = self.case_means(metric, b, model)
        table["delta"] = table["score_b"] - table["score_a"]
        cases = pd.DataFrame(
            {
                "question": {c.case_id: c.get("question", "") for c in self.dataset},
                "reference": {c.case_id: c.get("answer", "") for c in self.dataset},
            }
        )
        return cases.join(table, how="right").rename_axis("case_id").reset_index()

    def save(self, folder: Path) -> dict[str, Path]:
        """Write records, scores, summary and pairwise verdicts as CSV files."""
        folder.mkdir(parents=True, exist_ok=True)
        tables = {
            "records": self.records,
            "scores": self.scores,
            "summary": self.summary(),
            "pairwise": self.pairwise_table(),
        }
        paths = {}
        for name, table in tables.items():
            paths[name] = folder / f"{name}.csv"
            table.to_csv(paths[name], index=False)
        return paths


def _higher_is_better(metric: str) -> bool:
    """Whether a registered metric prefers high scores (True when unknown)."""
    from llmbench.errors import MetricError
    from llmbench.metrics import get_metric

    try:
        return get_metric(metric).higher_is_better
    except MetricError:
        return True


def _spend(calls: pd.DataFrame) -> dict[str, Any]:
    """Counts, mean tokens, total cost and latency percentiles of some calls."""
    ok = calls[calls["status"] == "ok"]
    # Cache hits took no time; their latency would drag the percentiles to 0.
    timed = ok[~ok["cache_hit"].astype(bool)]
    costs = calls["cost_usd"]
    return {
        "calls": len(calls),
        "errors": int((calls["status"] == "error").sum()),
        "input_tokens": float(ok["input_tokens"].mean()) if len(ok) else 0.0,
        "output_tokens": float(ok["output_tokens"].mean()) if len(ok) else 0.0,
        # A single unpriced call makes the total unknown rather than too low.
        "cost_usd": None if costs.isna().any() else float(costs.sum()),
        "latency_p50_s": float(timed["latency_s"].quantile(0.5))
        if len(timed)
        else None,
        "latency_p95_s": float(timed["latency_s"].quantile(0.95))
        if len(timed)
        else None,
    }


async def acompare_prompts(
    prompt: str | Prompt,
    versions: Sequence[str] | None = None,
    models: Sequence[str] = ("offline/extractive",),
    dataset: str | Path | Dataset = "qa_sample",
    *,
    repeats: int = 1,
    metrics: Sequence[str] = DEFAULT_METRICS,
    params: dict[str, Any] | None = None,
    engine: Engine | None = None,
    limit: int | None = None,
    judge: Judge | None = None,
) -> Comparison:
    """Run and score a comparison; awaitable, for notebooks.

    Args:
        prompt: A prompt name under ``data/prompts`` or a loaded `Prompt`.
        versions: Version labels to compare; None means all, in file order.
        models: litellm model strings.
        dataset: A dataset name, a path, or a loaded `Dataset`.
        repeats: Calls per case, model and version (variance needs >= 2).
        metrics: Metric names; the first is the headline for verdicts.
        params: Model parameters that override every version's.
        engine: The engine to use; default a new one with default settings.
        limit: Use only the first `limit` cases (quick looks).
        judge: The LLM judge for LLM-judged metrics (``faithfulness``...);
            None reads LLMBENCH_JUDGE_MODEL, and such a metric without any
            judge raises JudgeNotConfiguredError.

    Raises:
        ConfigError: No versions or no models to compare.
        PromptError, DatasetError: Bad prompt or dataset files.
    """
    loaded = prompt if isinstance(prompt, Prompt) else load_prompt(prompt)
    labels = list(versions) if versions else list(loaded.versions)
    if not labels or not models:
        raise ConfigError("a comparison needs at least one version and one model")
    data = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    cases = data.cases[:limit] if limit else data.cases

    requests = [
        request
        for label in labels
        for request in loaded.version(label).requests(
            cases, list(models), repeats, params
        )
    ]
    runner = engine or Engine()
    run = await runner.arun(
        requests, description=f"compare {loaded.name}: {', '.join(labels)}"
    )

    from llmbench.metrics import ascore

    scores = await ascore(run.to_frame(), list(metrics), cases=cases, judge=judge)
    return Comparison(loaded, labels, list(models), data, run, scores, list(metrics))


def compare_prompts(*args: Any, **kwargs: Any) -> Comparison:
    """`acompare_prompts` for scripts and the CLI (blocks until done)."""
    return run_sync(acompare_prompts(*args, **kwargs))
