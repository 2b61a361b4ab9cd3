"""Costs: what a run paid, what the cache saved, what another model would cost.

The input is a run's records as a DataFrame (``RunResult.to_frame()``, one row
per call, the `CallRecord` columns). ``cost_usd`` on a record is what the
response cost when it was produced: a cache hit carries it too but paid nothing
now, and a missing ``cost_usd`` means the price is unknown, never zero. Task
calls and an LLM judge's calls are kept apart by the ``kind`` column.

Estimates before a run (`estimate`) and the price lookup (`price_of`,
`call_cost`, `set_price`) are re-exported here, so a notebook imports costs
from one place.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llmbench.errors import RunError
from llmbench.estimates import (
    CostEstimate,
    EstimateRow,
    estimate,
    format_usd,
    group_label,
)
from llmbench.prices import Price, call_cost, price_of, set_price
from llmbench.records import ChatRequest
from llmbench.tokens import TokenCounter

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = [
    "CostEstimate",
    "EstimateRow",
    "Price",
    "accounting",
    "call_cost",
    "estimate",
    "estimate_vs_actual",
    "format_usd",
    "pareto_front",
    "price_of",
    "project",
    "set_price",
]

_KIND_ORDER = {"task": 0, "judge": 1}


def accounting(
    frame: pd.DataFrame, by: Sequence[str] = ("model", "prompt_version")
) -> pd.DataFrame:
    """What a run's calls cost, grouped, with task and judge calls apart.

    Args:
        frame: A run's records, one row per call.
        by: Columns to group by; ``kind`` is always added first.

    Returns:
        One row per group with: ``calls`` (made or served from the cache;
        calls not run are counted in ``not_run``), ``errors``, ``cache_hits``,
        ``unknown_price_calls`` (ok calls of a model with no known price),
        ``input_tokens``, ``output_tokens``, ``cached_tokens`` (of every call,
        hits included), ``cost_usd`` (USD paid now: cache hits and unknown
        prices count nothing) and ``saved_usd`` (what the cache hits would have
        cost). Both USD columns are NaN for a group with no priced call.

    Raises:
        RunError: A grouping column or ``cost_usd`` is missing.
    """
    import pandas as pd

    keys = ["kind", *[column for column in by if column != "kind"]]
    rows = _with_defaults(frame, required=("cost_usd", *keys[1:]))

    status = rows["status"]
    made = status != "not_run"
    hit = rows["cache_hit"].fillna(False).astype(bool) & made
    cost = pd.to_numeric(rows["cost_usd"], errors="coerce")
    work = rows[keys].assign(
        calls=made.astype(int),
        errors=(status == "error").astype(int),
        not_run=(~made).astype(int),
        cache_hits=hit.astype(int),
        unknown_price_calls=((status == "ok") & cost.isna()).astype(int),
        priced_calls=(made & cost.notna()).astype(int),
        input_tokens=rows["input_tokens"].where(made, 0),
        output_tokens=rows["output_tokens"].where(made, 0),
        cached_tokens=rows["cached_tokens"].where(made, 0),
        cost_usd=cost.where(made & ~hit, 0.0).fillna(0.0),
        saved_usd=cost.where(hit, 0.0).fillna(0.0),
    )

    table = work.groupby(keys, dropna=False, sort=True).sum().reset_index()
    unpriced = table["priced_calls"] == 0
    table.loc[unpriced, ["cost_usd", "saved_usd"]] = float("nan")
    table = table.drop(columns="priced_calls")
    order = table["kind"].map(_KIND_ORDER).fillna(len(_KIND_ORDER))
    return table.iloc[order.argsort(kind="stable")].reset_index(drop=True)


def project(
    frame: pd.DataFrame,
    models: Sequence[str],
    per: int = 1000,
    requests: Sequence[ChatRequest] | None = None,
) -> pd.DataFrame:
    """What ``per`` requests of each prompt version would cost on each model.

    The tokens of a request are the mean of the version's ``ok`` task calls in
    ``frame``: those of the target model itself when it ran the version, else
    of every model that did. Token counts depend on the tokenizer, so carrying
    them to another model is an approximation; when the run's ``requests``
    are given, input tokens are recounted with the target model's tokenizer
    from the rendered messages (the records do not keep them), and only the
    output and cached shares are carried over.

    Args:
        frame: A run's records, one row per call.
        models: Models to price, as litellm model strings.
        per: How many requests the cost is for.
        requests: The run's requests, to recount input tokens per model.

    Returns:
        One row per prompt version and model: ``observed_calls``, the mean
        ``input_tokens``, ``output_tokens`` and ``cached_tokens`` used,
        ``tokens_basis`` (where they come from), ``price_source``,
        ``per_requests`` and ``projected_usd`` (NaN when the model has no
        known price).
    """
    import pandas as pd

    rows = _with_defaults(frame, required=("model",))
    rows = rows[(rows["status"] == "ok") & (rows["kind"] == "task")]
    keys = [c for c in ("prompt_name", "prompt_version") if c in frame.columns]
    if not keys:
        rows = rows.assign(prompt_version=None)
        keys = ["prompt_version"]
    messages = _messages_by_version(requests or (), keys)
    counter = TokenCounter()

    table: list[dict[str, Any]] = []
    for key, group in rows.groupby(keys, dropna=False, sort=True):
        labels = tuple(group_label(part) for part in key)
        ran_on = sorted(str(model) for model in group["model"].unique())
        for model in models:
            own = group[group["model"] == model]
            basis_rows = own if len(own) else group
            input_tokens = float(basis_rows["input_tokens"].mean())
            output_tokens = float(basis_rows["output_tokens"].mean())
            cached_tokens = float(basis_rows["cached_tokens"].mean())
            basis = (
                "observed on this model"
                if len(own)
                else f"observed on {', '.join(ran_on)}"
            )

            rendered = messages.get(labels)
            if not len(own) and rendered:
                recounted = sum(counter.count(model, m) for m in rendered) / len(
                    rendered
                )
                share = cached_tokens / input_tokens if input_tokens else 0.0
                input_tokens, cached_tokens = recounted, recounted * share
                basis = f"input recounted for this model; output {basis}"

            price = price_of(model)
            cost = (
                per * price.cost(input_tokens, output_tokens, cached_tokens)
                if price is not None
                else float("nan")
            )
            table.append(
                {
                    **dict(zip(keys, labels, strict=True)),
                    "model": model,
                    "observed_calls": len(basis_rows),
                    "input_tokens": input_tokens,
                    "output_tokens": output_tokens,
                    "cached_tokens": cached_tokens,
                    "tokens_basis": basis,
                    "price_source": "unknown" if price is None else price.source,
                    "per_requests": per,
                    "projected_usd": cost,
                }
            )
    columns = [*keys, "model", "observed_calls", "input_tokens", "output_tokens"]
    columns += ["cached_tokens", "tokens_basis", "price_source", "per_requests"]
    return pd.DataFrame(table, columns=[*columns, "projected_usd"])


def pareto_front(frame: pd.DataFrame, cost_col: str, quality_col: str) -> pd.Series:
    """Which rows no other row beats on both cost (lower) and quality (higher).

    A row is dominated when another costs no more and scores no less, and is
    strictly better on one of the two. Rows with a missing cost or quality are
    never on the front. Identical rows are both on it.

    Returns:
        A boolean Series aligned with ``frame``, named ``pareto``.
    """
    import numpy as np
    import pandas as pd

    cost = pd.to_numeric(frame[cost_col], errors="coerce").to_numpy(dtype=float)
    quality = pd.to_numeric(frame[quality_col], errors="coerce").to_numpy(dtype=float)
    valid = np.flatnonzero(~(np.isnan(cost) | np.isnan(quality)))
    c, q = cost[valid], quality[valid]

    on_front = np.zeros(len(frame), dtype=bool)
    for position, row in enumerate(valid):
        no_worse = (c <= c[position]) & (q >= q[position])
        better = (c < c[position]) | (q > q[position])
        on_front[row] = not bool(np.any(no_worse & better))
    return pd.Series(on_front, index=frame.index, name="pareto")


def estimate_vs_actual(estimate: CostEstimate, frame: pd.DataFrame) -> pd.DataFrame:
    """How the estimate before a run compares with what the run's calls cost.

    Only the kinds of call the estimate covered are compared, and only ``ok``
    calls. The actual cost is what the responses cost (``cost_usd``, cache
    hits included, as the estimate ignores the cache); ``paid_usd`` is what
    was paid now.

    Returns:
        One row per model: calls, input and output tokens and USD estimated
        and actual, ``relative_error`` ((estimated - actual) / actual; NaN when
        the actual cost is zero or unknown) and ``within_range`` (the actual
        cost lies between the low and high estimates).
    """
    import pandas as pd

    planned = estimate.to_frame()
    for column in ("low_usd", "expected_usd", "high_usd"):
        planned[column] = pd.to_numeric(planned[column], errors="coerce")
    est = planned.groupby("model", sort=True).agg(
        estimated_calls=("calls", "sum"),
        estimated_input_tokens=("input_tokens", "sum"),
        estimated_output_tokens=("output_tokens_expected", "sum"),
        estimated_low_usd=("low_usd", lambda s: s.sum(min_count=1)),
        estimated_usd=("expected_usd", lambda s: s.sum(min_count=1)),
        estimated_high_usd=("high_usd", lambda s: s.sum(min_count=1)),
    )

    rows = _with_defaults(frame, required=("model", "cost_usd"))
    rows = rows[(rows["status"] == "ok") & rows["kind"].isin(set(planned["kind"]))]
    cost = pd.to_numeric(rows["cost_usd"], errors="coerce")
    rows = rows.assign(cost=cost, paid=cost.where(~rows["cache_hit"].astype(bool), 0.0))
    actual = rows.groupby("model", sort=True).agg(
        actual_calls=("model", "size"),
        actual_input_tokens=("input_tokens", "sum"),
        actual_output_tokens=("output_tokens", "sum"),
        actual_usd=("cost", lambda s: s.sum(min_count=1)),
        paid_usd=("paid", lambda s: s.sum(min_count=1)),
    )

    table = est.join(actual, how="outer")
    counts = [c for c in table.columns if c.endswith(("_calls", "_tokens"))]
    table[counts] = table[counts].fillna(0).astype(int)
    positive = table["actual_usd"].where(table["actual_usd"] > 0)
    table["relative_error"] = (table["estimated_usd"] - positive) / positive
    tolerance = 1e-12
    table["within_range"] = (
        table["estimated_low_usd"] - tolerance <= table["actual_usd"]
    ) & (table["actual_usd"] <= table["estimated_high_usd"] + tolerance)
    return table.reset_index()


def _with_defaults(frame: pd.DataFrame, required: Sequence[str]) -> pd.DataFrame:
    """The records with optional columns filled in; required ones checked."""
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise RunError(
            f"the records have no column(s) {missing}; expected the CallRecord "
            f"columns (have: {', '.join(map(str, frame.columns))})"
        )

    defaults: dict[str, Any] = {
        "kind": "task",
        "status": "ok",
        "cache_hit": False,
        "input_tokens": 0,
        "output_tokens": 0,
        "cached_tokens": 0,
    }
    filled = frame.assign(
        **{k: v for k, v in defaults.items() if k not in frame.columns}
    )
    return filled.assign(
        kind=filled["kind"].fillna("task"),
        cache_hit=filled["cache_hit"].fillna(False).astype(bool),
        **{
            column: filled[column].fillna(0)
            for column in ("input_tokens", "output_tokens", "cached_tokens")
        },
    )


def _messages_by_version(
    requests: Sequence[ChatRequest], keys: Sequence[str]
) -> dict[tuple[str | None, ...], list[tuple[dict[str, str], ...]]]:
    """The rendered messages of task requests, by prompt name and version."""
    found: dict[tuple[str | None, ...], list[tuple[dict[str, str], ...]]] = {}
    for request in requests:
        if request.kind != "task":
            continue
        labels = tuple(group_label(getattr(request, key)) for key in keys)
        found.setdefault(labels, []).append(request.messages)
    return found
