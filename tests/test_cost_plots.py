"""Cost charts: each returns a Figure with the data drawn and a title that says what."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from llmbench import cost_plots, cost_tables
from llmbench.costs import estimate, estimate_vs_actual, project
from llmbench.records import RECORD_COLUMNS, CallRecord, ChatRequest

MINI = "openai/gpt-4o-mini"
FOUR_O = "openai/gpt-4o"


def records() -> pd.DataFrame:
    """Two models x two versions x two cases, a cache hit, a judge call."""
    rows = []
    for model in (MINI, FOUR_O):
        for version, tokens in (("v1", 100), ("v2", 400)):
            for case in ("c1", "c2"):
                call = CallRecord(
                    run_id="r1", case_id=case, prompt_name="qa",
                    prompt_version=version, model=model, repeat=0,
                    input_tokens=tokens, output_tokens=20, cached_tokens=tokens // 2,
                    cost_usd=0.001 * tokens / 100, cache_hit=case == "c2",
                )  # fmt: skip
                rows.append(call)
    rows.append(
        CallRecord(run_id="r1", case_id="c1", prompt_name="qa", prompt_version="v1",
                   model=MINI, repeat=0, kind="judge", cost_usd=0.0001)
    )  # fmt: skip
    return pd.DataFrame([r.to_dict() for r in rows], columns=list(RECORD_COLUMNS))


def title(fig: Figure) -> str:
    """The figure's title, or its first axes' title."""
    suptitle = fig.get_suptitle()
    return suptitle or fig.axes[0].get_title()


def test_cost_by_version_draws_paid_and_saved_bars_per_model() -> None:
    fig = cost_plots.cost_by_version(records())

    ax = fig.axes[0]
    assert "Cost by model and prompt version" in title(fig)
    assert len(ax.patches) == 2 * 2 * 2  # paid and saved, per model and version
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    assert heights == [0.001, 0.001, 0.001, 0.001, 0.004, 0.004, 0.004, 0.004]


def test_token_distributions_has_an_input_and_an_output_panel() -> None:
    fig = cost_plots.token_distributions(records())

    assert title(fig) == "Token distributions by prompt version"
    assert [ax.get_title() for ax in fig.axes] == [
        "input tokens per call",
        "output tokens per call",
    ]


def test_cost_vs_quality_marks_the_pareto_front() -> None:
    projection = project(records(), [MINI, FOUR_O])
    quality = pd.DataFrame(
        {"prompt_version": ["v1", "v2"], "model": [MINI, MINI], "quality": [0.2, 0.6]}
    )
    table = cost_tables.cost_vs_quality(projection, quality)

    fig = cost_plots.cost_vs_quality(table, "token_f1")

    ax = fig.axes[0]
    assert title(fig) == "Cost vs quality, Pareto front marked"
    assert ax.get_ylabel() == "token_f1"
    labels = [text.get_text() for text in ax.texts]
    assert sorted(labels) == [f"v1\n{MINI}", f"v2\n{MINI}"]
    assert ax.get_legend() is not None


def test_cache_savings_projection_and_estimate_range_charts() -> None:
    frame = records()
    requests = [ChatRequest("c1", MINI, ({"role": "user", "content": "Q?"},))]
    versus = estimate_vs_actual(estimate(requests), frame)

    charts = {
        "Cache savings: paid vs saved": cost_plots.cache_savings(
            cost_tables.cache_savings(frame)
        ),
        "Projected cost per 1,000 requests, by model and prompt version": (
            cost_plots.projection(project(frame, [MINI, FOUR_O, "acme/none"]))
        ),
        "Estimate vs actual, per model": cost_plots.estimate_range(versus),
    }

    for expected, fig in charts.items():
        assert isinstance(fig, Figure)
        assert title(fig) == expected
    labels = [
        t.get_text() for t in charts[next(iter(charts))].axes[0].get_yticklabels()
    ]
    assert labels == [f"{MINI} (judge)", FOUR_O, MINI]
