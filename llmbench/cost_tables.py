"""Cost tables for reports: the plan, the budget's stop, savings, cost beside quality.

`llmbench.costs` holds the accounting itself (`accounting`, `project`,
`pareto_front`, `estimate_vs_actual`); this module builds the tables a cost
report shows around it, each a pandas DataFrame with USD in ``*_usd`` columns:

- before a run: `plan_requests` (the calls a comparison would make) and
  `estimate_by_model` (the estimate's range per model, with a total row);
- during: `budget_outcome` (what a budget let run, per model and version);
- after: `runs_frame` (several stored runs as one frame), `cache_savings`
  (paid, and saved by llmbench's response cache and by the provider's prompt
  cache), `grading_requests` (judge calls over a run's answers), and
  `cost_vs_quality` (a projection joined with the quality each version reached,
  the Pareto front marked), `cheapest_at_best_quality` and `estimate_gaps`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmbench.costs import pareto_front
from llmbench.errors import RunError
from llmbench.prices import price_of
from llmbench.records import ChatRequest

if TYPE_CHECKING:
    import pandas as pd

    from llmbench.datasets import Dataset
    from llmbench.estimates import CostEstimate

logger = logging.getLogger(__name__)

#: The label of the total row in `estimate_by_model`.
TOTAL = "total"

#: The columns of `estimate_by_model` worth showing at a glance.
ESTIMATE_COLUMNS = (
    "model",
    "calls",
    "input_tokens",
    "output_tokens_expected",
    "low_usd",
    "expected_usd",
    "high_usd",
    "price_source",
)

_ESTIMATE_SUMS = (
    "calls",
    "input_tokens",
    "output_tokens_low",
    "output_tokens_expected",
    "output_tokens_high",
)
_ESTIMATE_USD = ("low_usd", "expected_usd", "high_usd")


def plan_requests(
    prompt: str,
    versions: Sequence[str] | None = None,
    models: Sequence[str] = ("offline/extractive",),
    dataset: str | Path | Dataset = "qa_sample",
    *,
    repeats: int = 1,
    limit: int | None = None,
    params: Mapping[str, Any] | None = None,
) -> list[ChatRequest]:
    """The calls a comparison of ``versions`` x ``models`` x cases x repeats makes.

    The same matrix `llmbench.compare.acompare_prompts` runs, rendered without
    running it, to estimate its cost first.

    Args:
        prompt: A prompt name under ``data/prompts``.
        versions: Version labels; None means every version, in file order.
        models: litellm model strings.
        dataset: A dataset name, a path, or a loaded `Dataset`.
        repeats: Calls per case, version and model.
        limit: Only the first ``limit`` cases.
        params: Params that override every version's (``api_base``...).
    """
    from llmbench.datasets import Dataset, load_dataset
    from llmbench.prompts import load_prompt

    loaded = load_prompt(prompt)
    data = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    cases = data.cases[:limit] if limit else data.cases
    labels = list(versions) if versions else list(loaded.versions)
    return [
        request
        for label in labels
        for request in loaded.version(label).requests(
            cases, list(models), repeats, params
        )
    ]


def estimate_by_model(estimate: CostEstimate) -> pd.DataFrame:
    """The estimate's range per model, and a last row ``total`` for all of them.

    Columns: ``model``, ``calls``, ``input_tokens``, ``output_tokens_low``,
    ``output_tokens_expected``, ``output_tokens_high``, ``low_usd``,
    ``expected_usd``, ``high_usd`` (NaN for a model with no known price; the
    total covers the priced models only, as `CostEstimate` does) and
    ``price_source``.
    """
    import pandas as pd

    rows = estimate.to_frame()
    for column in _ESTIMATE_USD:
        rows[column] = pd.to_numeric(rows[column], errors="coerce")
    sums = {column: (column, "sum") for column in _ESTIMATE_SUMS}
    usd = {column: (column, lambda s: s.sum(min_count=1)) for column in _ESTIMATE_USD}
    table = rows.groupby("model", sort=True).agg(
        **sums, **usd, price_source=("price_source", "first")
    )

    total = {column: table[column].sum() for column in _ESTIMATE_SUMS}
    total.update(
        low_usd=estimate.low_usd,
        expected_usd=estimate.expected_usd,
        high_usd=estimate.high_usd,
        price_source="",
    )
    table.loc[TOTAL] = pd.Series(total)
    return table.rename_axis("model").reset_index()


def runs_frame(run_ids: str | Sequence[str]) -> pd.DataFrame:
    """The records of one or more stored runs as one frame, one row per call.

    Args:
        run_ids: A run id, ``latest``, or a list of them.

    Raises:
        RunError: A run does not exist, or the list is empty.
    """
    import pandas as pd

    from llmbench.runs import load_run

    ids = [run_ids] if isinstance(run_ids, str) else list(run_ids)
    if not ids:
        raise RunError("no run ids given: name at least one run, or 'latest'")
    frames = [load_run(run_id).to_frame() for run_id in ids]
    return pd.concat(frames, ignore_index=True)


def budget_outcome(frame: pd.DataFrame) -> pd.DataFrame:
    """What ran and what a budget stopped, per model and prompt version.

    Returns:
        One row per model and version: ``ok``, ``errors``, ``not_run`` (calls
        the budget stopped), ``paid_usd`` (cache hits and unknown prices count
        nothing) and ``cost_usd`` (what the answers cost, hits included).
    """
    import pandas as pd

    cost = pd.to_numeric(frame["cost_usd"], errors="coerce").fillna(0.0)
    hit = frame["cache_hit"].fillna(False).astype(bool)
    ok = frame["status"] == "ok"
    work = frame[["model", "prompt_version"]].assign(
        ok=ok.astype(int),
        errors=(frame["status"] == "error").astype(int),
        not_run=(frame["status"] == "not_run").astype(int),
        paid_usd=cost.where(ok & ~hit, 0.0),
        cost_usd=cost.where(ok, 0.0),
    )
    grouped = work.groupby(["model", "prompt_version"], dropna=False, sort=True)
    return grouped.sum().reset_index()


def cache_savings(frame: pd.DataFrame, by: Sequence[str] = ("model",)) -> pd.DataFrame:
    """What was paid, and what caching saved, per group of calls.

    Two caches save money. llmbench's response cache answers a repeated call
    without calling the provider: the whole response cost is saved. The
    provider's prompt cache bills the cached part of the input at a lower
    price: ``cached_tokens`` times (input price - cached-input price) is saved
    on each call that was paid.

    Args:
        frame: Records, one row per call; only ``ok`` calls count.
        by: Columns to group by; ``kind`` is added first.

    Returns:
        One row per group: ``paid_usd``, ``response_cache_saved_usd``,
        ``prompt_cache_saved_usd`` and ``without_caching_usd`` (their sum,
        what the same answers would have cost with no cache at all). Groups
        whose model has no known price get NaN.
    """
    import pandas as pd

    keys = ["kind", *[column for column in by if column != "kind"]]
    rows = frame[frame["status"] == "ok"]
    cost = pd.to_numeric(rows["cost_usd"], errors="coerce")
    hit = rows["cache_hit"].fillna(False).astype(bool)
    discount = rows["model"].map(_cached_discount_per_token)
    work = rows[keys].assign(
        paid_usd=cost.where(~hit, 0.0),
        response_cache_saved_usd=cost.where(hit, 0.0),
        prompt_cache_saved_usd=(rows["cached_tokens"].fillna(0) * discount).where(
            ~hit, 0.0
        ),
    )

    usd = ["paid_usd", "response_cache_saved_usd", "prompt_cache_saved_usd"]
    table = (
        work.groupby(keys, dropna=False, sort=True)[usd]
        .agg(lambda s: s.sum(min_count=1))
        .reset_index()
    )
    table["without_caching_usd"] = table[usd].sum(axis=1, min_count=len(usd))
    return table


def _cached_discount_per_token(model: str) -> float:
    """USD saved per input token read from the provider's prompt cache."""
    price = price_of(model)
    if price is None:
        return math.nan
    if price.cached_input_per_token_usd is None:
        return 0.0
    return price.input_per_token_usd - price.cached_input_per_token_usd


def grading_requests(
    frame: pd.DataFrame,
    dataset: Dataset,
    model: str,
    *,
    params: Mapping[str, Any] | None = None,
) -> list[ChatRequest]:
    """One judge call per distinct ``ok`` task answer: grade it against the reference.

    These are the calls an LLM judge makes, as ``kind="judge"`` requests, so a
    run's accounting keeps the judge's cost apart from the task's. The same
    answer to the same case (from two versions or models) is graded once,
    under the first version and model that gave it.

    Args:
        frame: A run's records; task calls with status ``ok`` are graded.
        dataset: The cases answered (for the question and the reference).
        model: The judge's litellm model string.
        params: Params for every judge call (``api_base``...).
    """
    answers = frame[(frame["kind"] == "task") & (frame["status"] == "ok")]
    cases = {case.case_id: case for case in dataset}
    system = (
        "You grade answers. Compare the answer with the reference and reply "
        "with one number from 0 (wrong) to 1 (fully right)."
    )

    requests = []
    graded: set[tuple[str, int, str]] = set()
    for row in answers.itertuples(index=False):
        case = cases.get(str(row.case_id))
        answer = (str(row.case_id), int(row.repeat), str(row.output_text))
        if case is None or answer in graded:
            continue
        graded.add(answer)
        user = (
            f"Question: {case.get('question', '')}\n"
            f"Reference: {case.get('answer', '')}\n"
            f"Answer: {row.output_text}"
        )
        requests.append(
            ChatRequest(
                case_id=case.case_id,
                model=model,
                messages=(
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ),
                params={"temperature": 0, "max_tokens": 8, **(params or {})},
                repeat=int(row.repeat),
                prompt_name=row.prompt_name,
                prompt_version=row.prompt_version,
                kind="judge",
                metadata={"graded_model": row.model},
            )
        )
    return requests


def quality_by_version(scores: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The quality each version reached: ``prompt_version``, ``model``, ``quality``.

    Quality is the mean over cases of each case's mean score (over repeats),
    as `Comparison.summary` computes it.

    Args:
        scores: Tidy scores, one row per call and metric (`Comparison.scores`:
            ``metric``, ``prompt_version``, ``model``, ``case_id``, ``score``).
        metric: The metric to read.

    Raises:
        RunError: No score of that metric.
    """
    chosen = scores[scores["metric"] == metric]
    if chosen.empty:
        scored = ", ".join(sorted(map(str, scores["metric"].unique())))
        raise RunError(f"no {metric!r} scores; scored metrics: {scored or 'none'}")

    keys = ["prompt_version", "model"]
    per_case = chosen.groupby([*keys, "case_id"], sort=False)["score"].mean()
    quality = per_case.groupby(level=keys, sort=False).mean()
    return quality.rename("quality").reset_index()


def cost_vs_quality(projection: pd.DataFrame, quality: pd.DataFrame) -> pd.DataFrame:
    """The projection's rows with the quality their version reached, front marked.

    Quality is matched on version and model where the comparison ran that
    model; otherwise the version's mean over the models it ran on stands in,
    and ``quality_basis`` says so: a version's quality on a model it never
    ran on is an assumption, not a measurement.

    Args:
        projection: `llmbench.costs.project` output.
        quality: `quality_by_version` output.

    Returns:
        The projection's columns plus ``quality``, ``quality_basis`` and
        ``pareto`` (on the front of lowest ``projected_usd`` and highest
        ``quality``).
    """
    import pandas as pd

    own = quality.set_index(["prompt_version", "model"])["quality"]
    measured_on = quality.groupby("prompt_version")["model"].agg(
        lambda models: ", ".join(sorted(map(str, models)))
    )
    mean = quality.groupby("prompt_version")["quality"].mean()

    values, bases = [], []
    for row in projection.itertuples(index=False):
        key = (row.prompt_version, row.model)
        if key in own.index:
            values.append(float(own.loc[key]))
            bases.append("measured on this model")
        elif row.prompt_version in mean.index:
            values.append(float(mean.loc[row.prompt_version]))
            bases.append(f"measured on {measured_on.loc[row.prompt_version]}")
        else:
            values.append(math.nan)
            bases.append("not measured")

    table = projection.assign(
        quality=pd.Series(values, index=projection.index, dtype=float),
        quality_basis=bases,
    )
    return table.assign(pareto=pareto_front(table, "projected_usd", "quality"))


def cheapest_at_best_quality(table: pd.DataFrame) -> pd.Series | None:
    """The cheapest row among those of the highest quality, or None.

    Args:
        table: `cost_vs_quality` output.
    """
    priced = table.dropna(subset=["quality", "projected_usd"])
    if priced.empty:
        return None
    best = priced[priced["quality"] >= priced["quality"].max() - 1e-12]
    return best.loc[best["projected_usd"].idxmin()]


def estimate_gaps(
    comparison: pd.DataFrame, frame: pd.DataFrame, kinds: Sequence[str] = ("task",)
) -> list[str]:
    """Where the estimate and the actual cost part, one sentence per model.

    Args:
        comparison: `llmbench.costs.estimate_vs_actual` output.
        frame: The run's records (for the share of input read from the
            provider's prompt cache).
        kinds: The kinds of call the estimate covered.
    """
    ok = frame[(frame["status"] == "ok") & frame["kind"].isin(list(kinds))]
    sentences = []
    for row in comparison.itertuples(index=False):
        if not row.actual_calls or not row.estimated_calls:
            continue
        calls = ok[ok["model"] == row.model]
        cached = float(calls["cached_tokens"].sum())
        parts = [
            _tokens_gap("input", row.estimated_input_tokens, row.actual_input_tokens),
            _tokens_gap(
                "output", row.estimated_output_tokens, row.actual_output_tokens
            ),
        ]
        if cached and row.actual_input_tokens:
            share = cached / row.actual_input_tokens
            parts.append(f"{share:.0%} of the input came from the prompt cache")
        error = row.relative_error
        verdict = (
            "no cost to compare"
            if error is None or math.isnan(error)
            else f"estimate {_signed_share(error)} the actual cost"
        )
        sentences.append(f"{row.model}: {verdict}; " + "; ".join(parts) + ".")
    return sentences


def _tokens_gap(what: str, estimated: float, actual: float) -> str:
    """``input tokens 1,200 estimated, 1,000 actual (+20%)``."""
    change = f" ({_signed_share(estimated / actual - 1)})" if actual else ""
    return f"{what} tokens {estimated:,.0f} estimated, {actual:,.0f} actual{change}"


def _signed_share(fraction: float) -> str:
    """A relative difference in words: ``31% above``, ``4% below``."""
    if abs(fraction) < 0.005:
        return "within 1% of"
    word = "above" if fraction > 0 else "below"
    return f"{abs(fraction):.0%} {word}"
