"""Charts: each returns a Figure outside pyplot, titled and labelled, with one
colour per version across charts."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from matplotlib.figure import Figure

from llmbench import plots
from llmbench.compare import Comparison

pytest_plugins = ["compare_fixtures"]

CHARTS: dict[str, Callable[[Comparison], Figure]] = {
    "score_distribution": plots.score_distribution,
    "win_tie_loss": plots.win_tie_loss,
    "cost_vs_quality": plots.cost_vs_quality,
    "tokens_per_version": plots.tokens_per_version,
}


@pytest.mark.parametrize("name", list(CHARTS))
def test_each_chart_is_a_labelled_figure_that_renders(
    offline_comparison: Comparison, name: str
) -> None:
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()

    fig = CHARTS[name](offline_comparison)
    png = io.BytesIO()
    fig.savefig(png, format="png")

    assert isinstance(fig, Figure)
    assert plt.get_fignums() == open_before  # nothing left open in pyplot
    axes = fig.axes[0]
    assert axes.get_title() or fig.get_suptitle()
    assert axes.get_ylabel() or axes.get_xlabel()
    assert png.getvalue().startswith(b"\x89PNG")


def test_versions_keep_their_colour() -> None:
    versions = ["v1", "v2", "v3"]

    colours = plots.version_colors(versions)

    assert list(colours) == versions
    assert len(set(colours.values())) == 3
    assert plots.version_colors(versions) == colours


def test_cost_axis_falls_back_to_tokens_when_nothing_cost(
    offline_comparison: Comparison,
) -> None:
    fig = plots.cost_vs_quality(offline_comparison)

    axes = fig.axes[0]
    assert axes.get_xlabel() == "tokens per call (input + output)"
    assert "no call had a cost" in axes.get_title()
    assert axes.get_ylabel() == "mean token_f1 (95% CI)"


def test_win_tie_loss_has_a_bar_per_other_version(
    offline_comparison: Comparison,
) -> None:
    fig = plots.win_tie_loss(offline_comparison, "v1-no-context")

    ticks = sorted(fig.axes[0].get_yticklabels(), key=lambda t: -t.get_position()[1])
    top_down = [t.get_text() for t in ticks]
    assert top_down == ["v2-full-context", "v3-instructions", "v4-top-passage"]
