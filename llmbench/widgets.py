"""Interactive views for notebooks (ipywidgets).

`ComparisonExplorer` walks through a prompt comparison case by case: pick
versions A and B, a model and the metric that decides wins, narrow the cases
to B's losses, B's wins or the flaky ones, then step through them. Each case
shows the question and reference, both outputs side by side with the words
that differ marked, and each side's score, tokens, cost and latency.

    from llmbench.widgets import explore
    explore(comparison)            # as a notebook cell's last line

The widgets are public attributes, so code (and tests) can drive the view:
set ``explorer.version_b.value`` or ``explorer.case.value`` and read
``explorer.view.value``. Without a live front end (papermill) the explorer
displays as plain text; the static cards of `llmbench.case_cards` cover
reports.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from llmbench.case_cards import case_card_html

if TYPE_CHECKING:
    import pandas as pd

    from llmbench.compare import Comparison

logger = logging.getLogger(__name__)

#: Case filters: value -> label shown in the dropdown.
FILTERS = {
    "all": "All cases",
    "losses": "B loses",
    "wins": "B wins",
    "flaky": "Flaky (A or B)",
}


def _full_width() -> w.Layout:
    """A layout filling the output area's width (each widget needs its own)."""
    return w.Layout(width="100%")


def _readable(html: str) -> str:
    """`html` with body-text line spacing.

    An HTML widget sets its content's line height to a control's height (28
    px), which spreads paragraphs of text far apart.
    """
    return f'<div style="line-height:1.45">{html}</div>'


class ComparisonExplorer:
    """Browse a `Comparison` case by case, two versions side by side.

    Attributes:
        comparison: The comparison shown.
        version_a: Dropdown of version A (the reference side).
        version_b: Dropdown of version B (the side judged better or worse).
        model: Dropdown of the model whose outputs are shown.
        metric: Dropdown of the metric that scores and orders the cases.
        filter: Dropdown of which cases to walk through (see `FILTERS`).
        case: Dropdown of the case shown, among the filtered cases.
        previous: Button to the previous case.
        next: Button to the next case.
        position: Where the shown case is in the filtered list.
        view: The case card (HTML).
        widget: The whole explorer, a box of the widgets above.
    """

    def __init__(
        self,
        comparison: Comparison,
        a: str | None = None,
        b: str | None = None,
        *,
        model: str | None = None,
        metric: str | None = None,
    ) -> None:
        versions = comparison.versions
        self.comparison = comparison
        self._rows: pd.DataFrame | None = None
        self._busy = False

        def dropdown(label: str, options: Any, value: Any) -> w.Dropdown:
            return w.Dropdown(
                options=options,
                value=value,
                description=label,
                layout=w.Layout(width="auto", min_width="12em", flex="1 1 auto"),
            )

        self.version_a = dropdown("A", versions, a or versions[0])
        self.version_b = dropdown(
            "B", versions, b or versions[min(1, len(versions) - 1)]
        )
        self.model = dropdown("Model", comparison.models, model or comparison.models[0])
        self.metric = dropdown(
            "Metric", comparison.metrics, metric or comparison.headline_metric
        )
        self.filter = dropdown("Show", [(v, k) for k, v in FILTERS.items()], "all")
        self.case = w.Dropdown(
            options=[],
            description="Case",
            layout=w.Layout(width="auto", flex="1 1 auto"),
        )
        self.previous = w.Button(description="◀ Previous", layout=w.Layout(width="8em"))
        self.next = w.Button(description="Next ▶", layout=w.Layout(width="8em"))
        self.position = w.HTML(layout=w.Layout(width="auto"))
        # Width "auto" lets the box stretch it to its width minus the widget's
        # own margin; "100%" would overflow the box by that margin.
        self.view = w.HTML(layout=w.Layout(width="auto"))

        for control in (self.version_a, self.version_b, self.model, self.metric):
            control.observe(self._on_selection, names="value")
        self.filter.observe(self._on_selection, names="value")
        self.case.observe(self._on_case, names="value")
        self.previous.on_click(lambda _: self.step(-1))
        self.next.on_click(lambda _: self.step(1))

        def row(*children: w.Widget) -> w.HBox:
            wrap = w.Layout(width="100%", display="flex", flex_flow="row wrap")
            return w.HBox(list(children), layout=wrap)

        self.widget = w.VBox(
            [
                row(self.version_a, self.version_b, self.model),
                row(self.metric, self.filter),
                row(self.previous, self.next, self.case, self.position),
                self.view,
            ],
            layout=_full_width(),
        )
        self._reload()

    @property
    def case_ids(self) -> list[str]:
        """The case ids the current filter lets through, in dataset order."""
        return [value for _, value in self.case.options]

    def step(self, offset: int) -> None:
        """Move `offset` cases forward (negative: back) within the filtered cases."""
        ids = self.case_ids
        if not ids or self.case.value not in ids:
            return
        index = min(max(ids.index(self.case.value) + offset, 0), len(ids) - 1)
        self.case.value = ids[index]

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)  # type: ignore[no-untyped-call]

    def _on_selection(self, _change: Any) -> None:
        """A version, model, metric or filter changed: rebuild the case list."""
        if not self._busy:
            self._reload()

    def _on_case(self, _change: Any) -> None:
        """Another case was picked: redraw."""
        if not self._busy:
            self._render()

    def _reload(self) -> None:
        """Recompute the side-by-side rows and the filtered case list, then draw."""
        a, b = self.version_a.value, self.version_b.value
        self._rows = self.comparison.side_by_side(
            a, b, model=self.model.value, metric=self.metric.value
        ).set_index("case_id", drop=False)
        chosen = self._filtered(self._rows)

        current = self.case.value
        options = [
            (self._case_label(row), str(row["case_id"])) for _, row in chosen.iterrows()
        ]
        self._busy = True
        try:
            self.case.options = options
            ids = [value for _, value in options]
            self.case.value = current if current in ids else (ids[0] if ids else None)
        finally:
            self._busy = False
        self._render()

    def _filtered(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The rows the filter lets through."""
        kind = self.filter.value
        if kind == "losses":
            return rows[rows["delta"] < -1e-9]
        if kind == "wins":
            return rows[rows["delta"] > 1e-9]
        if kind == "flaky":
            flaky = self.comparison.flaky_cases(self.metric.value)
            mine = flaky[
                flaky["prompt_version"].isin(
                    [self.version_a.value, self.version_b.value]
                )
                & (flaky["model"] == self.model.value)
            ]
            return rows[rows["case_id"].isin(set(mine["case_id"]))]
        return rows

    def _render(self) -> None:
        """Draw the chosen case (or say why there is none) and the position."""
        ids = self.case_ids
        case_id = self.case.value
        a, b = self.version_a.value, self.version_b.value
        self.previous.disabled = not ids or case_id == ids[0]
        self.next.disabled = not ids or case_id == ids[-1]
        if self._rows is None or case_id is None:
            label = FILTERS[self.filter.value]
            self.position.value = "0 cases"
            self.view.value = _readable(
                f"<p>No cases match “{label}” for {a} against {b} "
                f"on {self.model.value}.</p>"
            )
            return

        where = f"{ids.index(case_id) + 1} of {len(ids)}"
        self.position.value = f"case {where}"
        row = self._rows.loc[case_id].to_dict()
        card = case_card_html(
            row,
            a,
            b,
            heading=f"({where}: {FILTERS[self.filter.value]})",
            repeat_scores=(
                self._repeat_scores(a, case_id),
                self._repeat_scores(b, case_id),
            ),
        )
        self.view.value = _readable(card)

    def _repeat_scores(self, version: str, case_id: str) -> list[float]:
        """The score of every repeat of one case, in repeat order."""
        scores = self.comparison.scores
        chosen = scores[
            (scores["metric"] == self.metric.value)
            & (scores["prompt_version"] == version)
            & (scores["model"] == self.model.value)
            & (scores["case_id"] == case_id)
        ].sort_values("repeat")
        return [float(s) for s in chosen["score"]]

    @staticmethod
    def _case_label(row: pd.Series) -> str:
        """A case's dropdown label: its id, score change and question start."""
        question = str(row.get("question") or "")
        short = question if len(question) <= 48 else question[:47] + "…"
        delta = row.get("delta")
        change = (
            f" ({delta:+.2f})" if isinstance(delta, float) and delta == delta else ""
        )
        return f"{row['case_id']}{change}: {short}"


def explore(
    comparison: Comparison,
    a: str | None = None,
    b: str | None = None,
    *,
    model: str | None = None,
    metric: str | None = None,
) -> ComparisonExplorer:
    """A `ComparisonExplorer`; as a cell's last line it shows itself.

    Args:
        comparison: The comparison to browse.
        a: Version A; default the first version.
        b: Version B; default the second (or the first when there is one).
        model: The model; default the first.
        metric: The metric deciding wins and losses; default the headline.
    """
    return ComparisonExplorer(comparison, a, b, model=model, metric=metric)
