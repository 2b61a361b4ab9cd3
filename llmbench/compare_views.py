"""Static views of a prompt comparison: the verdict and styled tables.

Everything here turns a `Comparison` into something a notebook displays and a
static HTML report keeps: Markdown for the verdict and the run, pandas Stylers
for the summary, the pairwise verdicts, flaky cases and worst losses. The cases
themselves, side by side, and the prompt diff are in `llmbench.case_cards`.

Numbers are formatted for reading: scores with two decimals and their interval
as ``0.30 (0.25–0.35)``, USD as `llmbench.estimates.format_usd` writes it,
tokens as whole numbers per call.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from llmbench.cells import as_float
from llmbench.estimates import format_usd

if TYPE_CHECKING:
    import pandas as pd
    from IPython.display import Markdown
    from pandas.io.formats.style import Styler

    from llmbench.compare import Comparison

#: Background colours of what got worse or was removed, and better or added.
REMOVED_BG = "#ffd7d5"
ADDED_BG = "#ccf2d1"

#: Table cells wrap at spaces, and break a word only when it cannot fit.
_CELL = "text-align:left;vertical-align:top;overflow-wrap:break-word;max-width:28em"


def format_interval(estimate: float, low: float, high: float, digits: int = 2) -> str:
    """An estimate with its interval: ``0.30 (0.25–0.35)``; "n/a" when missing.

    A bound below zero switches the dash to "to": ``-0.02 (-0.05 to 0.01)``.
    """
    if any(math.isnan(x) for x in (estimate, low, high)):
        return "n/a"
    shown = [_fixed(x, digits) for x in (estimate, low, high)]
    between = " to " if any(s.startswith("-") for s in shown[1:]) else "–"
    return f"{shown[0]} ({shown[1]}{between}{shown[2]})"


def format_seconds(value: Any) -> str:
    """Seconds for reading: ``0.23 s``; "n/a" when missing."""
    number = as_float(value)
    return "n/a" if number is None else f"{number:.2f} s"


def run_overview(comparison: Comparison) -> str:
    """One Markdown paragraph: what ran, how many calls, errors, hits, spend."""
    run = comparison.run
    shape = (
        f"{len(comparison.versions)} versions × {len(comparison.models)} "
        f"model(s) × {len(comparison.case_ids)} cases × {comparison.repeats} "
        "repeat(s)"
    )
    paid = format_usd(run.paid_usd)
    return (
        f"Run `{run.run_id}`: **{len(run.records)} calls** ({shape}) of prompt "
        f"`{comparison.prompt.name}` on dataset `{comparison.dataset.name}`; "
        f"{run.errors} failed, {run.cache_hits} answered from the cache, "
        f"{paid} paid. Headline metric: `{comparison.headline_metric}`."
    )


def verdict_markdown(
    comparison: Comparison, baseline: str | None = None, metric: str | None = None
) -> str:
    """The answer first: per model, the best version against the baseline.

    Each model gets a bold headline naming the best version and its mean
    score beside the baseline's, then `PairedComparison.verdict` verbatim.
    When the baseline itself is best, the strongest other version is shown.
    """
    baseline = baseline or comparison.versions[0]
    metric = metric or comparison.headline_metric
    others = [v for v in comparison.versions if v != baseline]
    if not others:
        return f"Only `{baseline}` was run: there is nothing to compare it with."

    paragraphs = []
    for model in comparison.models:
        best = comparison.best_version(metric, model)
        challenger = comparison.challenger(baseline, metric, model)
        result = comparison.pairwise(baseline, challenger, metric=metric, model=model)
        if best == baseline:
            headline = (
                f"On {model}, no version beats the baseline {baseline} on "
                f"{metric}; the strongest challenger is {challenger}"
            )
        else:
            headline = f"On {model}, {best} is the best version by {metric}"
        means = f"mean {result.mean_b:.3f} against {result.mean_a:.3f}"
        paragraphs.append(f"**{headline}** ({means}).\n\n{result.verdict}")
    return "\n\n".join(paragraphs)


def summary_table(comparison: Comparison, confidence: float = 0.95) -> Styler:
    """The summary as a readable table: scores with CIs, tokens, cost, latency.

    The best row of the headline metric on each model is bold.
    """
    import pandas as pd

    summary = comparison.summary(confidence=confidence)
    shown = pd.DataFrame(
        {"version": summary["prompt_version"], "model": summary["model"]}
    )
    for name in comparison.metrics:
        shown[name] = [
            format_interval(row[name], row[f"{name}_low"], row[f"{name}_high"])
            for _, row in summary.iterrows()
        ]
    shown["calls (errors)"] = [
        f"{calls} ({errors})"
        for calls, errors in zip(summary["calls"], summary["errors"], strict=True)
    ]
    shown["tokens in / out per call"] = [
        f"{i:,.0f} / {o:,.0f}"
        for i, o in zip(summary["input_tokens"], summary["output_tokens"], strict=True)
    ]
    shown["cost (total)"] = [format_usd(as_float(v)) for v in summary["cost_usd"]]
    shown["latency p50 / p95"] = [
        f"{format_seconds(p50)} / {format_seconds(p95)}"
        for p50, p95 in zip(
            summary["latency_p50_s"], summary["latency_p95_s"], strict=True
        )
    ]

    best = {m: comparison.best_version(model=m) for m in comparison.models}
    is_best = [
        best[m] == v
        for v, m in zip(summary["prompt_version"], summary["model"], strict=True)
    ]
    caption = (
        f"Mean per case with its {confidence:.0%} bootstrap interval; bold: the "
        f"best version on {comparison.headline_metric} for each model."
    )
    # Intervals may wrap under their estimate, so the table fits a notebook.
    labels = ("version", "model", *comparison.metrics)
    figures = [c for c in shown.columns if c not in labels]
    return (
        _styled(shown, caption)
        .apply(lambda _: ["font-weight:bold" if b else "" for b in is_best], axis=0)
        .set_properties(subset=figures, **{"white-space": "nowrap"})
    )


def pairwise_table(comparison: Comparison, metric: str | None = None) -> Styler:
    """Every pair of versions: wins / ties / losses of B, difference, p, verdict.

    Rows whose difference is unlikely to be noise are tinted green (B better)
    or red (B worse).
    """
    table = comparison.pairwise_table(metric=metric)
    shown = table[["model", "a", "b", "wins", "ties", "losses"]].copy()
    shown["difference B − A"] = [
        format_interval(d, lo, hi, digits=3)
        for d, lo, hi in zip(
            table["difference"], table["low"], table["high"], strict=True
        )
    ]
    shown["p"] = [_p_value(p) for p in table["p_value"]]
    shown["verdict"] = table["verdict"]

    colours = []
    for significant, difference in zip(
        table["significant"], table["difference"], strict=True
    ):
        colour = "" if not significant else ADDED_BG if difference > 0 else REMOVED_BG
        colours.append(f"background-color:{colour}" if colour else "")
    caption = (
        f"B against A on {metric or comparison.headline_metric}, case by case; "
        "tinted rows are unlikely to be noise (p < 0.05)."
    )
    styler = _styled(shown, caption)
    return styler.apply(lambda row: [colours[row.name]] * len(row), axis=1)


def flaky_table(comparison: Comparison, metric: str | None = None) -> Styler | Markdown:
    """Cases whose score moves across repeats, or a sentence saying why none.

    Returns:
        A styled table, or a Markdown sentence when there was one repeat or
        no case moved.
    """
    metric = metric or comparison.headline_metric
    if comparison.repeats < 2:
        return _markdown(
            "Each case ran once (`repeats = 1`), so nothing can be said about "
            "run-to-run variance; run with `repeats` of 2 or more to find flaky cases."
        )
    flaky = comparison.flaky_cases(metric)
    if flaky.empty:
        return _markdown(
            f"No case's {metric} moved across the {comparison.repeats} repeats "
            "by more than the flakiness threshold."
        )
    columns = ["prompt_version", "model", "case_id", "n_repeats", "mean", "min", "max"]
    shown = flaky.sort_values("range", ascending=False, kind="stable")[columns]
    caption = (
        f"{len(shown)} version-case pairs whose {metric} varies across "
        f"{comparison.repeats} repeats, widest spread first."
    )
    return _styled(shown.reset_index(drop=True), caption).format(
        {"mean": "{:.2f}", "min": "{:.2f}", "max": "{:.2f}"}
    )


def worst_losses(
    comparison: Comparison,
    a: str,
    b: str,
    *,
    model: str | None = None,
    metric: str | None = None,
    n: int = 5,
) -> pd.DataFrame:
    """The `n` cases where `b` falls furthest below `a` (only real losses)."""
    rows = comparison.side_by_side(a, b, model=model, metric=metric)
    losses = rows[rows["delta"] < 0].sort_values("delta", kind="stable")
    return losses.head(n).reset_index(drop=True)


def losses_table(
    comparison: Comparison, a: str, b: str, *, model: str | None = None, n: int = 5
) -> Styler | Markdown:
    """`worst_losses` as a readable table, or a sentence when B never loses."""
    if a == b:
        return _markdown(f"{a} is the baseline itself: there is nothing to lose to.")
    losses = worst_losses(comparison, a, b, model=model, n=n)
    if losses.empty:
        return _markdown(f"{b} scores lower than {a} on no case.")
    shown = losses[["case_id", "question", "reference"]].copy()
    shown[f"output of {a}"] = losses["output_text_a"]
    shown[f"output of {b}"] = losses["output_text_b"]
    shown["score A → B"] = [
        f"{sa:.2f} → {sb:.2f}"
        for sa, sb in zip(losses["score_a"], losses["score_b"], strict=True)
    ]
    caption = f"The cases {b} loses most against {a} (worst first)."
    return _styled(shown, caption)


def _styled(frame: pd.DataFrame, caption: str) -> Styler:
    """A Styler without the index, wrapping long text, with a caption."""
    return (
        frame.style.hide(axis="index")
        .set_caption(caption)
        .set_table_styles(
            [
                {"selector": "caption", "props": "caption-side:top;text-align:left"},
                {"selector": "td", "props": _CELL},
                {"selector": "th", "props": "text-align:left"},
            ]
        )
    )


def _fixed(value: float, digits: int) -> str:
    """A number with `digits` decimals, never shown as ``-0.00``."""
    text = f"{value:.{digits}f}"
    return text.removeprefix("-") if float(text) == 0 else text


def _markdown(text: str) -> Markdown:
    """Text that a notebook shows as Markdown."""
    from IPython.display import Markdown

    return Markdown(text)  # type: ignore[no-untyped-call]


def _p_value(p: float) -> str:
    """A p-value as people read it."""
    from llmbench.stats import format_p

    return format_p(p).removeprefix("p = ")
