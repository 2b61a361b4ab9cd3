"""The trace explorer's charts, as matplotlib Figures built without pyplot.

- `latency_chart`: every answered call's latency per model and prompt
  version, with p50, p95 and p99 marked;
- `latency_timeline`: latency against start time, failures marked, so slow
  stretches and bursts of errors show where they happened;
- `token_chart`: input and output tokens per model and prompt version, in
  total and per call;
- `annotation_chart`: mean eval score per metric, model and prompt version.

Each takes spans as `llmbench.traces.spans_frame` returns them (annotations as
`llmbench.trace_annotations.annotations_frame` does) and returns a Figure
outside pyplot's figure list, so a notebook shows it once. A model keeps one
colour across the charts. An empty input gives a small figure that says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING

from llmbench.trace_summaries import DEFAULT_BY, token_usage

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

#: Marker colours of the percentiles on `latency_chart`.
PERCENTILE_COLORS = {"p50": "#212121", "p95": "#7b1fa2", "p99": "#c62828"}
FAILED = "#c62828"
INPUT, OUTPUT = "#5c7cab", "#f0a35e"

#: Latencies spanning more than this ratio are drawn on a log scale.
_LOG_SPREAD = 30.0


def new_figure(width: float, height: float) -> Figure:
    """A Figure outside pyplot with constrained layout (width, height in inches)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def model_colors(models: Sequence[str]) -> dict[str, str]:
    """One ``tab10`` colour per model, by sorted name."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    palette = colormaps["tab10"]
    ordered = sorted({str(m) for m in models})
    return {m: to_hex(palette(i % palette.N)) for i, m in enumerate(ordered)}


def group_label(values: Sequence[object]) -> str:
    """``model · version`` for a group key; a missing part reads ``(none)``."""
    return " · ".join("(none)" if _missing(v) else str(v) for v in values)


def latency_chart(spans: pd.DataFrame, by: Sequence[str] = DEFAULT_BY) -> Figure:
    """Each answered call's latency per group, with its p50, p95 and p99.

    Failed calls (see `latency_timeline`) and cache hits are left out. The
    x axis turns logarithmic when the latencies span more than 30x.
    """
    import numpy as np

    from llmbench.trace_views import answered

    calls = answered(spans)
    if calls.empty:
        return _nothing("No answered calls, so no latencies to show.")
    groups = list(calls.groupby(list(by), dropna=False, sort=True))
    colors = model_colors(calls["model"].fillna("(none)").astype(str).tolist())
    fig = new_figure(8.5, 1.2 + 0.42 * len(groups))
    ax = fig.subplots()

    rng = np.random.default_rng(0)
    for row, (_, group) in enumerate(reversed(groups)):
        values = group["latency_s"].astype(float).to_numpy()
        model = group_label((group["model"].iloc[0],))
        jitter = rng.uniform(-0.18, 0.18, size=len(values))
        ax.scatter(values, row + jitter, s=14, alpha=0.55, color=colors[model], lw=0)
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            ax.plot(
                [np.quantile(values, q)] * 2,
                [row - 0.32, row + 0.32],
                color=PERCENTILE_COLORS[name],
                lw=2,
                label=name if row == 0 else None,
            )
    ax.set_yticks(range(len(groups)))
    ax.set_yticklabels([group_label(_key(key)) for key, _ in reversed(groups)])
    _latency_axis(ax, calls["latency_s"])
    ax.set_title("Latency per call, by model and prompt version")
    fig.legend(loc="outside lower center", fontsize=8, frameon=False, ncol=3)
    return fig


def latency_timeline(spans: pd.DataFrame) -> Figure:
    """Latency of each call against its start time; failed calls as red crosses.

    A failed call is drawn at the time it took to fail (a timeout's full wait).
    """
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    if spans.empty:
        return _nothing("No spans in the window.")
    colors = model_colors(spans["model"].fillna("(none)").astype(str).tolist())
    fig = new_figure(8.5, 3.4)
    ax = fig.subplots()

    ok = spans[spans["status"] != "ERROR"]
    for model, group in ok.groupby(ok["model"].fillna("(none)").astype(str)):
        ax.scatter(
            group["start_time"],
            group["latency_s"],
            s=14,
            alpha=0.7,
            color=colors[str(model)],
            label=str(model),
            lw=0,
        )
    failed = spans[spans["status"] == "ERROR"]
    if not failed.empty:
        ax.scatter(
            failed["start_time"],
            failed["latency_s"].fillna(0.0),
            marker="x",
            s=30,
            color=FAILED,
            label=f"failed ({len(failed)})",
        )
    ax.set_ylabel("latency")
    ax.yaxis.set_major_formatter(_seconds_formatter())
    locator = AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    dates = ConciseDateFormatter(locator, tz=UTC)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(dates)
    ax.set_xlabel("start time (UTC)")
    ax.set_title("When the calls ran, and how long each took")
    fig.legend(loc="outside lower center", fontsize=8, frameon=False, ncol=4)
    return fig


def token_chart(spans: pd.DataFrame, by: Sequence[str] = DEFAULT_BY) -> Figure:
    """Input and output tokens per group: the totals, and the mean per call."""
    table = token_usage(spans, by=by)
    if table.empty:
        return _nothing("No spans, so no tokens to show.")
    labels = [
        group_label(tuple(row)) for row in table[list(by)].itertuples(index=False)
    ]
    fig = new_figure(9.5, 1.2 + 0.42 * len(table))
    total, mean = fig.subplots(1, 2, sharey=True)

    rows = list(range(len(table)))[::-1]
    for ax, prefix, title in (
        (total, "", "Tokens in total"),
        (mean, "mean_", "Tokens per call"),
    ):
        inputs = table[f"{prefix}input_tokens"].astype(float)
        outputs = table[f"{prefix}output_tokens"].astype(float)
        ax.barh(rows, inputs, color=INPUT, label="input")
        ax.barh(rows, outputs, left=inputs, color=OUTPUT, label="output")
        ax.set_title(title)
        ax.set_xlabel("tokens")
        ax.grid(axis="x", alpha=0.3)
    total.set_yticks(rows)
    total.set_yticklabels(labels)
    total.legend(fontsize=8, frameon=False, loc="lower right")
    return fig


def annotation_chart(annotations: pd.DataFrame) -> Figure:
    """Mean eval score per metric (columns) and model · version (rows).

    Each cell holds the mean over the spans annotated with that metric; an
    empty cell means no span of that group carries it.
    """
    import numpy as np

    scored = annotations.dropna(subset=["score"])
    if scored.empty:
        return _nothing("No eval scores are logged on these spans.")
    table = scored.assign(
        group=[
            group_label((m, v))
            for m, v in zip(scored["model"], scored["prompt_version"], strict=True)
        ]
    ).pivot_table(index="group", columns="metric", values="score", aggfunc="mean")
    fig = new_figure(1.6 + 1.1 * len(table.columns) + 2.5, 1.2 + 0.42 * len(table))
    ax = fig.subplots()

    values = table.to_numpy(dtype=float)
    image = ax.imshow(values, cmap="RdYlGn", vmin=0.0, vmax=1.0, aspect="auto")
    for (i, j), value in np.ndenumerate(values):
        if not np.isnan(value):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(table.columns)))
    ax.set_xticklabels([str(c) for c in table.columns], rotation=30, ha="right")
    ax.set_yticks(range(len(table.index)))
    ax.set_yticklabels([str(i) for i in table.index])
    ax.set_title("Mean eval score on the spans")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def _latency_axis(ax: Axes, latencies: pd.Series) -> None:
    """Seconds on x, logarithmic when the spread is wide."""
    positive = latencies[latencies > 0]
    if len(positive) and positive.max() / positive.min() > _LOG_SPREAD:
        ax.set_xscale("log")
    ax.xaxis.set_major_formatter(_seconds_formatter())
    ax.set_xlabel("latency")
    ax.grid(axis="x", alpha=0.3)


def _seconds_formatter() -> FuncFormatter:
    """A tick formatter writing ms below a second, seconds above."""
    from matplotlib.ticker import FuncFormatter

    from llmbench.trace_views import format_seconds

    return FuncFormatter(lambda value, _: format_seconds(value) if value > 0 else "0")


def _nothing(message: str) -> Figure:
    """A small figure that says there is nothing to draw."""
    fig = new_figure(6.0, 1.0)
    ax = fig.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", color="#555")
    return fig


def _key(key: object) -> tuple[object, ...]:
    """A groupby key as a tuple."""
    return key if isinstance(key, tuple) else (key,)


def _missing(value: object) -> bool:
    """True for None, NaN and pandas' NA."""
    import pandas as pd

    return value is None or bool(pd.isna(value))
