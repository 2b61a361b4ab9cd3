"""Charts for notebooks and reports, as matplotlib Figures.

Each function takes the object a notebook already holds and returns a
`matplotlib.figure.Figure` built without pyplot, so nothing is left open in
pyplot's figure list and a notebook shows each chart once (display it, or let
it be a cell's last value, with the inline backend active). Charts of the same
notebook share colours: a prompt version has one colour everywhere
(`version_colors`).

Sections:
    comparison charts: `score_distribution`, `win_tie_loss`,
        `cost_vs_quality`, `tokens_per_version` (for a `Comparison`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from llmbench.compare import Comparison

#: Outcome colours: B better, the same, worse.
WIN, TIE, LOSS = "#2e7d32", "#b0b0b0", "#c62828"

#: Marker per model in charts that show several models on one axis.
MODEL_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def version_colors(versions: Sequence[str]) -> dict[str, str]:
    """One colour per version, stable for a given order of versions."""
    from matplotlib import colormaps

    tab10 = colormaps["tab10"]
    palette = [tab10(i) for i in range(tab10.N)]
    return {
        version: _hex(palette[i % len(palette)]) for i, version in enumerate(versions)
    }


def new_figure(width: float, height: float) -> Figure:
    """A Figure outside pyplot with constrained layout (width, height in inches)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


# -- comparison charts ---------------------------------------------------------


def score_distribution(comparison: Comparison, metric: str | None = None) -> Figure:
    """Per version, the spread of per-case scores: a box plot with the points.

    One panel per model; each point is one case (its mean over repeats).
    """
    import numpy as np

    metric = metric or comparison.headline_metric
    colors = version_colors(comparison.versions)
    models = comparison.models
    fig = new_figure(max(6.0, 1.5 * len(comparison.versions) * len(models)), 4.0)
    axes = fig.subplots(1, len(models), sharey=True, squeeze=False)[0]
    rng = np.random.default_rng(0)

    for ax, model in zip(axes, models, strict=True):
        data = [
            comparison.case_means(metric, v, model).dropna().to_numpy()
            for v in comparison.versions
        ]
        boxes = ax.boxplot(
            data,
            patch_artist=True,
            widths=0.55,
            showfliers=False,
            medianprops={"color": "black"},
        )
        for patch, version in zip(boxes["boxes"], comparison.versions, strict=True):
            patch.set_facecolor(colors[version])
            patch.set_alpha(0.35)
        for i, version in enumerate(comparison.versions):
            jitter = rng.uniform(-0.15, 0.15, len(data[i]))
            ax.scatter(1 + i + jitter, data[i], s=14, color=colors[version], zorder=3)
        _version_ticks(ax, comparison.versions)
        ax.set_title(model, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel(f"{metric} per case (score)")
    fig.suptitle(f"{metric} per case, by prompt version")
    return fig


def win_tie_loss(
    comparison: Comparison, baseline: str | None = None, metric: str | None = None
) -> Figure:
    """For each other version, how many cases it wins, ties and loses vs the baseline.

    Horizontal stacked bars, one per version and model; a star marks pairs
    whose difference is unlikely to be noise (p < 0.05).
    """
    from matplotlib.ticker import MaxNLocator

    baseline = baseline or comparison.versions[0]
    metric = metric or comparison.headline_metric
    others = [v for v in comparison.versions if v != baseline]
    labels, results = [], []
    for model in comparison.models:
        for version in others:
            results.append(
                comparison.pairwise(baseline, version, metric=metric, model=model)
            )
            suffix = f"\n{model}" if len(comparison.models) > 1 else ""
            labels.append(f"{version}{suffix}")

    fig = new_figure(8.0, 1.0 + 0.55 * max(1, len(labels)))
    ax = fig.subplots()
    positions = list(range(len(labels)))[::-1]
    wins = [r.wins for r in results]
    ties = [r.ties for r in results]
    losses = [r.losses for r in results]
    ax.barh(positions, wins, color=WIN, label="wins (better)")
    ax.barh(positions, ties, left=wins, color=TIE, label="ties")
    lefts = [w + t for w, t in zip(wins, ties, strict=True)]
    ax.barh(positions, losses, left=lefts, color=LOSS, label="losses (worse)")
    for y, result in zip(positions, results, strict=True):
        mark = " *" if result.significant else ""
        text = f"{result.difference.estimate:+.3f}{mark}" if result.n else "no pairs"
        ax.text(result.n + 0.2, y, text, va="center")

    ax.set_yticks(positions, labels)
    total = max((r.n for r in results), default=1)
    ax.set_xlim(0, total * 1.2 + 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("cases")
    ax.set_title(
        f"Cases each version wins, ties and loses against {baseline} on {metric}\n"
        "(number: mean difference; *: p < 0.05)",
        fontsize=10,
    )
    fig.legend(loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    return fig


def cost_vs_quality(comparison: Comparison, metric: str | None = None) -> Figure:
    """Mean score (with its CI) against spend per call, per version and model.

    The x axis is USD per 1,000 calls. When no call cost anything (offline or
    unpriced models), it is tokens per call instead, and the title says so.
    """
    metric = metric or comparison.headline_metric
    summary = comparison.summary()
    colors = version_colors(comparison.versions)
    per_call_usd = [
        math.nan if cost is None or calls == 0 else float(cost) / calls
        for cost, calls in zip(summary["cost_usd"], summary["calls"], strict=True)
    ]
    priced = any(not math.isnan(c) and c > 0 for c in per_call_usd)
    if priced:
        xs = [c * 1000 for c in per_call_usd]
        xlabel, note = "cost per 1,000 calls (USD)", ""
    else:
        xs = list(summary["input_tokens"] + summary["output_tokens"])
        xlabel = "tokens per call (input + output)"
        note = "\n(no call had a cost: tokens per call stand in for cost)"

    fig = new_figure(7.5, 4.5)
    ax = fig.subplots()
    several = len(comparison.models) > 1
    markers = dict(zip(comparison.models, MODEL_MARKERS * 10, strict=False))
    unknown = []
    for x, (_, row) in zip(xs, summary.iterrows(), strict=True):
        y, low, high = row[metric], row[f"{metric}_low"], row[f"{metric}_high"]
        if math.isnan(x) or math.isnan(y):
            unknown.append(f"{row['prompt_version']} on {row['model']}")
            continue
        ax.errorbar(
            x, y, yerr=[[y - low], [high - y]], fmt=markers[row["model"]],
            color=colors[row["prompt_version"]], capsize=4, markersize=8,
        )  # fmt: skip
        if not several:
            ax.annotate(
                row["prompt_version"], (x, y), textcoords="offset points",
                xytext=(6, 4), fontsize=8,
            )  # fmt: skip
    if several:
        _version_model_legend(ax, colors, markers)

    if unknown:
        note += f"\nnot shown (unknown cost or no score): {', '.join(unknown)}"
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"mean {metric} (95% CI)")
    ax.set_title(f"Quality against cost: {metric} per version{note}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.margins(x=0.2, y=0.1)
    return fig


def tokens_per_version(comparison: Comparison) -> Figure:
    """Mean input and output tokens per call, per version; one panel per model.

    Input tokens are the solid part of each bar, output tokens the hatched part.
    """
    summary = comparison.summary()
    colors = version_colors(comparison.versions)
    fills = [colors[v] for v in comparison.versions]
    models = comparison.models
    fig = new_figure(max(6.0, 1.5 * len(comparison.versions) * len(models)), 4.0)
    axes = fig.subplots(1, len(models), sharey=True, squeeze=False)[0]
    positions = list(range(len(comparison.versions)))

    for ax, model in zip(axes, models, strict=True):
        rows = summary[summary["model"] == model].set_index("prompt_version")
        rows = rows.reindex(comparison.versions)
        ax.bar(positions, rows["input_tokens"], 0.6, color=fills)
        ax.bar(
            positions, rows["output_tokens"], 0.6, bottom=rows["input_tokens"],
            color=fills, alpha=0.45, hatch="//", edgecolor="white",
        )  # fmt: skip
        _version_ticks(ax, comparison.versions, positions=positions)
        ax.set_title(model, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("tokens per call (mean)")
    fig.suptitle("Tokens per call: input (solid) and output (hatched)")
    return fig


def _version_model_legend(
    ax: Axes, colors: dict[str, str], markers: dict[str, str]
) -> None:
    """A legend naming versions by colour and models by marker."""
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=color, marker="o", linestyle="", label=version)
        for version, color in colors.items()
    ]
    handles += [
        Line2D([], [], color="#555", marker=marker, linestyle="", label=model)
        for model, marker in markers.items()
    ]
    ax.legend(handles=handles, fontsize=8, loc="best", framealpha=0.8)


def _version_ticks(
    ax: Axes, versions: Sequence[str], positions: Sequence[float] | None = None
) -> None:
    """Version labels under the x axis, slanted when they would collide."""
    ticks = (
        list(positions) if positions is not None else list(range(1, len(versions) + 1))
    )
    slant = 20 if max((len(v) for v in versions), default=0) * len(versions) > 48 else 0
    ax.set_xticks(
        ticks, list(versions), rotation=slant, ha="right" if slant else "center"
    )


def _hex(rgb: Sequence[float]) -> str:
    """An RGB triple in [0, 1] as ``#rrggbb``."""
    return "#" + "".join(f"{round(255 * c):02x}" for c in rgb[:3])
