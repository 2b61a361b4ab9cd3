"""Cost charts for notebooks and reports, as matplotlib Figures.

Each function takes a run's records or a cost table and returns a
`matplotlib.figure.Figure` built without pyplot, so nothing stays open in
pyplot's figure list and a notebook shows each chart once. A prompt version
keeps one colour (matplotlib's ``tab10``, in the order the versions sort) and
a model one marker across the charts.

Charts: `cost_by_version` (bars per model and prompt version),
`token_distributions` (input and output tokens per call), `cost_vs_quality`
(projected cost against quality, the Pareto front marked), `cache_savings`
(paid against saved), `projection` (cost per 1,000 requests on each model)
and `estimate_range` (the estimate's range against the actual cost).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from llmbench.costs import accounting

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Marker per model, in the order the models sort.
MODEL_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")

#: Colours of paid money and of the two kinds of saving.
PAID, PROMPT_CACHE, RESPONSE_CACHE = "#37474f", "#4fc3f7", "#81c784"


def new_figure(width: float, height: float) -> Figure:
    """A Figure outside pyplot with constrained layout (width, height in inches)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def version_colors(versions: Sequence[str]) -> dict[str, str]:
    """One ``tab10`` colour per version, by sorted label."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    palette = colormaps["tab10"]
    ordered = sorted({str(v) for v in versions})
    return {v: to_hex(palette(i % palette.N)) for i, v in enumerate(ordered)}


def cost_by_version(frame: pd.DataFrame) -> Figure:
    """Task cost per prompt version, one bar per model: paid, and saved by the cache.

    The solid part of a bar is what was paid; the hatched part is what
    llmbench's response cache saved. Judge calls are left out (see the
    accounting table).
    """
    import numpy as np

    table = accounting(frame, by=("model", "prompt_version"))
    table = table[table["kind"] == "task"].fillna({"cost_usd": 0.0, "saved_usd": 0.0})
    versions = sorted(table["prompt_version"].dropna().astype(str).unique())
    models = sorted(table["model"].astype(str).unique())
    fig = new_figure(max(6.5, 1.6 * len(versions) * max(1, len(models)) / 1.5), 4.2)
    ax = fig.subplots()

    width = 0.8 / max(1, len(models))
    base = np.arange(len(versions))
    for m, model in enumerate(models):
        rows = table[table["model"] == model].set_index("prompt_version")
        rows = rows.reindex(versions).fillna({"cost_usd": 0.0, "saved_usd": 0.0})
        xs = base + (m - (len(models) - 1) / 2) * width
        color = _model_color(m)
        ax.bar(xs, rows["cost_usd"], width * 0.92, color=color, label=model)
        ax.bar(
            xs,
            rows["saved_usd"],
            width * 0.92,
            bottom=rows["cost_usd"],
            color=color,
            alpha=0.35,
            hatch="//",
            edgecolor="white",
        )
        for x, paid, saved in zip(xs, rows["cost_usd"], rows["saved_usd"], strict=True):
            ax.text(x, paid + saved, _usd(paid + saved), ha="center", va="bottom",
                    fontsize=7)  # fmt: skip

    _slanted_ticks(ax, versions, list(base))
    ax.set_ylabel("USD")
    # Stacked bars pin the axis to their tops; leave room for the labels.
    top = float((table["cost_usd"] + table["saved_usd"]).max()) if len(table) else 0.0
    if top > 0:
        ax.set_ylim(0, top * 1.15)
    ax.set_title(
        "Cost by model and prompt version (task calls): paid solid, "
        "saved by the response cache hatched",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig


def token_distributions(frame: pd.DataFrame) -> Figure:
    """Input and output tokens per call, per prompt version: box plots with points."""
    import numpy as np

    calls = frame[(frame["status"] == "ok") & (frame["kind"] == "task")]
    versions = sorted(calls["prompt_version"].dropna().astype(str).unique())
    colors = version_colors(versions)
    fig = new_figure(max(7.0, 2.0 * len(versions)), 4.0)
    axes = fig.subplots(1, 2)
    rng = np.random.default_rng(0)

    for ax, column in zip(axes, ("input_tokens", "output_tokens"), strict=True):
        data = [
            calls.loc[calls["prompt_version"] == v, column].to_numpy(dtype=float)
            for v in versions
        ]
        boxes = ax.boxplot(
            data, patch_artist=True, widths=0.55, showfliers=False,
            medianprops={"color": "black"},
        )  # fmt: skip
        for patch, version in zip(boxes["boxes"], versions, strict=True):
            patch.set_facecolor(colors[version])
            patch.set_alpha(0.35)
        for i, (values, version) in enumerate(zip(data, versions, strict=True), 1):
            jitter = rng.uniform(-0.15, 0.15, len(values))
            ax.scatter(i + jitter, values, s=8, color=colors[version], zorder=3)
        _slanted_ticks(ax, versions, list(range(1, len(versions) + 1)))
        ax.set_title(column.replace("_", " ") + " per call", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("tokens")
    fig.suptitle("Token distributions by prompt version")
    return fig


def cost_vs_quality(table: pd.DataFrame, metric: str = "quality") -> Figure:
    """Projected cost against quality per version and model; the Pareto front marked.

    Args:
        table: `llmbench.cost_tables.cost_vs_quality` output.
        metric: The quality metric's name, for the axis label.
    """
    rows = table.dropna(subset=["projected_usd", "quality"])
    colors = version_colors(list(table["prompt_version"].astype(str)))
    models = sorted(table["model"].astype(str).unique())
    markers = {m: MODEL_MARKERS[i % len(MODEL_MARKERS)] for i, m in enumerate(models)}
    per = int(table["per_requests"].iloc[0]) if len(table) else 1000
    fig = new_figure(8.5, 5.0)
    ax = fig.subplots()

    for row in rows.itertuples(index=False):
        ax.scatter(
            row.projected_usd, row.quality, s=60, marker=markers[str(row.model)],
            color=colors[str(row.prompt_version)], alpha=0.85, zorder=3,
        )  # fmt: skip
    front = rows[rows["pareto"]].sort_values("projected_usd")
    if len(front):
        ax.step(front["projected_usd"], front["quality"], where="post",
                color="black", linewidth=1, zorder=2, label="Pareto front")  # fmt: skip
        ax.scatter(front["projected_usd"], front["quality"], s=180,
                   facecolors="none", edgecolors="black", zorder=4)  # fmt: skip
        for row in front.itertuples(index=False):
            ax.annotate(f"{row.prompt_version}\n{row.model}",
                        (row.projected_usd, row.quality), textcoords="offset points",
                        xytext=(8, -4), fontsize=7)  # fmt: skip

    _legend(ax, colors, markers)
    if len(rows) and (rows["projected_usd"] > 0).all():
        ax.set_xscale("log")
    ax.set_xlabel(f"projected cost per {per:,} requests (USD)")
    ax.set_ylabel(metric)
    ax.set_title("Cost vs quality, Pareto front marked")
    ax.grid(alpha=0.3)
    return fig


def cache_savings(savings: pd.DataFrame) -> Figure:
    """Per model: what was paid, and what each cache saved, as stacked bars.

    Args:
        savings: `llmbench.cost_tables.cache_savings` output.
    """
    table = savings.fillna(0.0)
    labels = [
        f"{row.model} ({row.kind})" if row.kind != "task" else str(row.model)
        for row in table.itertuples(index=False)
    ]
    fig = new_figure(8.0, 1.4 + 0.55 * max(1, len(labels)))
    ax = fig.subplots()
    ys = list(range(len(labels)))[::-1]

    parts = [
        ("paid_usd", "paid", PAID),
        ("prompt_cache_saved_usd", "saved by the prompt cache", PROMPT_CACHE),
        ("response_cache_saved_usd", "saved by the response cache", RESPONSE_CACHE),
    ]
    left = [0.0] * len(labels)
    for column, label, color in parts:
        values = [float(v) for v in table[column]]
        ax.barh(ys, values, left=left, color=color, label=label)
        left = [a + b for a, b in zip(left, values, strict=True)]
    for y, total in zip(ys, left, strict=True):
        ax.text(total, y, f" {_usd(total)} without caching", va="center", fontsize=7)

    ax.set_yticks(ys, labels)
    ax.set_xlabel("USD")
    ax.set_title("Cache savings: paid vs saved")
    ax.legend(fontsize=8, loc="lower right")
    ax.margins(x=0.3)
    return fig


def projection(table: pd.DataFrame) -> Figure:
    """Projected cost per 1,000 requests: one group of bars per model, one per version.

    Args:
        table: `llmbench.costs.project` output.
    """
    import numpy as np

    rows = table.dropna(subset=["projected_usd"])
    models = list(dict.fromkeys(table["model"].astype(str)))
    versions = sorted(rows["prompt_version"].dropna().astype(str).unique())
    colors = version_colors(versions)
    per = int(table["per_requests"].iloc[0]) if len(table) else 1000
    fig = new_figure(8.5, 1.2 + 0.45 * max(1, len(models)) * max(1, len(versions)) / 2)
    ax = fig.subplots()

    height = 0.8 / max(1, len(versions))
    base = np.arange(len(models))[::-1]
    for v, version in enumerate(versions):
        costs = rows[rows["prompt_version"] == version].set_index("model")
        values = costs["projected_usd"].reindex(models).to_numpy(dtype=float)
        ys = base + ((len(versions) - 1) / 2 - v) * height
        ax.barh(ys, values, height * 0.9, color=colors[version], label=version)

    unpriced = [m for m in models if m not in set(rows["model"].astype(str))]
    labels = [f"{m} (no price)" if m in unpriced else m for m in models]
    ax.set_yticks(list(base), labels)
    if len(rows) and (rows["projected_usd"] > 0).all():
        ax.set_xscale("log")
    ax.set_xlabel(f"USD per {per:,} requests")
    ax.set_title(f"Projected cost per {per:,} requests, by model and prompt version")
    ax.legend(fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return fig


def estimate_range(table: pd.DataFrame) -> Figure:
    """Per model, the estimate's low-high range and expected value against the actual.

    Args:
        table: `llmbench.costs.estimate_vs_actual` output.
    """
    rows = table.dropna(subset=["estimated_usd"])
    fig = new_figure(8.0, 1.4 + 0.6 * max(1, len(rows)))
    ax = fig.subplots()
    ys = list(range(len(rows)))[::-1]

    for y, row in zip(ys, rows.itertuples(index=False), strict=True):
        ax.plot([row.estimated_low_usd, row.estimated_high_usd], [y, y],
                color="#90a4ae", linewidth=6, solid_capstyle="butt")  # fmt: skip
        ax.scatter(row.estimated_usd, y, marker="|", s=400, color="black", zorder=3)
        if not math.isnan(row.actual_usd):
            ax.scatter(row.actual_usd, y, marker="o", s=50, color="#d84315", zorder=4)

    ax.scatter([], [], marker="|", color="black", label="expected")
    ax.scatter([], [], marker="o", color="#d84315", label="actual")
    ax.plot([], [], color="#90a4ae", linewidth=6, label="estimated range")
    ax.set_yticks(ys, [str(m) for m in rows["model"]])
    ax.set_xlabel("USD")
    ax.set_title("Estimate vs actual, per model")
    ax.legend(fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return fig


def _legend(ax: Axes, colors: dict[str, str], markers: dict[str, str]) -> None:
    """A legend with a colour per version and a marker per model."""
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], marker="o", linestyle="", color=c, label=v)
        for v, c in colors.items()
    ]
    handles += [
        Line2D([], [], marker=mk, linestyle="", color="grey", label=m)
        for m, mk in markers.items()
    ]
    handles.append(Line2D([], [], color="black", linewidth=1, label="Pareto front"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))


def _model_color(index: int) -> str:
    """A colour per model position, from ``Dark2`` (apart from the versions')."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    palette = colormaps["Dark2"]
    return str(to_hex(palette(index % palette.N)))


def _slanted_ticks(ax: Axes, labels: Sequence[str], positions: list[float]) -> None:
    """Labels under the x axis, slanted when they would collide."""
    slant = 20 if max((len(x) for x in labels), default=0) * len(labels) > 48 else 0
    ax.set_xticks(positions, list(labels), rotation=slant,
                  ha="right" if slant else "center")  # fmt: skip


def _usd(amount: float) -> str:
    """A short USD label for a chart."""
    from llmbench.estimates import format_usd

    return format_usd(amount)
