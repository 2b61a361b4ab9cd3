"""The prompt comparison notebook in JupyterLab: run it, use its explorer.

What a person does: open the notebook, Run All, find the case-by-case explorer,
pick another version B, step to the next case. The outputs the explorer shows
are checked against the run's stored records, so a view that does not follow
the controls fails.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from llmbench.runs import load_run

if TYPE_CHECKING:
    from conftest import LabPage
    from playwright.sync_api import Locator

NOTEBOOK = "prompt_comparison.ipynb"
CASES = 8
#: JupyterLab's news prompt (a call home), turned off by llmbench.jupyter_setup.
ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"


def words(text: str) -> str:
    return " ".join(text.split())


def dropdown(explorer: Locator, label: str) -> Locator:
    """The <select> of the explorer's dropdown described by `label`."""
    labelled = explorer.locator(".widget-dropdown").filter(
        has=explorer.page.locator(
            "label.widget-label", has_text=re.compile(f"^{label}$")
        )
    )
    return labelled.locator("select")


def shown_case(explorer: Locator) -> str:
    """The id of the case the explorer's card shows."""
    return explorer.locator(".llmbench-case > div").first.locator("strong").inner_text()


def side(explorer: Locator, index: int) -> Locator:
    """Side A (0) or B (1) of the case card the explorer shows."""
    return explorer.locator(".llmbench-case div[style*='border-left']").nth(index)


@pytest.mark.browser
def test_the_explorer_renders_and_follows_its_controls(
    lab_page: LabPage, lab_state: Path
) -> None:
    page = lab_page.page
    path = lab_page.copy_notebook(NOTEBOOK, {"limit": CASES})
    open_s = lab_page.open_notebook(path)

    clicked = lab_page.run_all()
    explorer = page.locator(".jp-OutputArea-output .widget-vbox").filter(
        has=page.locator(".llmbench-case")
    )
    explorer.wait_for(state="attached", timeout=90_000)
    explorer.scroll_into_view_if_needed()
    explorer.wait_for(state="visible")
    widget_s = time.monotonic() - clicked
    lab_page.wait_until_all_ran()
    all_ran_s = time.monotonic() - clicked
    lab_page.screenshot("prompt_comparison-explorer")
    lab_page.screenshot("prompt_comparison-explorer-widget", explorer)

    records = load_run("latest", root=lab_state / "runs").to_frame()
    answers = records[records["kind"] == "task"].set_index(
        ["case_id", "prompt_version"]
    )["output_text"]
    version_a = dropdown(explorer, "A").input_value()
    version_b = dropdown(explorer, "B").input_value()
    case = dropdown(explorer, "Case")
    case_labels = case.locator("option").all_inner_texts()
    first_case = shown_case(explorer)
    options = dropdown(explorer, "B").locator("option").all_inner_texts()
    others = [v for v in options if v not in (version_a, version_b)]
    # Switch B to a version whose answer to this case reads differently.
    new_b = next(
        (
            v
            for v in others
            if words(answers[first_case, v]) != words(answers[first_case, version_b])
        ),
        others[0],
    )
    before_b = words(side(explorer, 1).inner_text())

    dropdown(explorer, "B").select_option(new_b)
    side(explorer, 1).get_by_text(f"B: {new_b}").wait_for()
    after_b = words(side(explorer, 1).inner_text())
    explorer.get_by_role("button", name="Next ▶").click()
    explorer.get_by_text(f"case 2 of {CASES}").wait_for()
    second_case = shown_case(explorer)
    lab_page.screenshot("prompt_comparison-explorer-next-case", explorer)
    lab_page.save()

    assert words(answers[first_case, version_b]) in before_b
    assert words(answers[first_case, new_b]) in after_b
    assert after_b != before_b
    assert second_case != first_case
    assert case.evaluate("select => select.selectedIndex") == 1
    assert case_labels[1].startswith(second_case)
    assert words(answers[second_case, version_a]) in words(
        side(explorer, 0).inner_text()
    )
    assert words(answers[second_case, new_b]) in words(side(explorer, 1).inner_text())
    assert len(case_labels) == CASES
    assert lab_page.error_outputs(path) == []
    assert lab_page.widgets_shown_as_text() == []
    assert lab_page.overflow_px(explorer) <= 0.5
    assert lab_page.page_errors == []
    assert lab_page.foreign_requests() == []
    assert ANNOUNCEMENTS in lab_page.page_config()["disabledExtensions"]
    lab_page.record(
        "prompt_comparison",
        {
            "open_to_idle_kernel_s": round(open_s, 2),
            "run_all_to_widget_s": round(widget_s, 2),
            "run_all_to_last_cell_s": round(all_ran_s, 2),
            "outputs_wider_than_the_notebook": lab_page.outputs_overflowing(),
        },
    )
    print(f"run all -> explorer rendered in {widget_s:.1f} s; screenshots in "
          f"{lab_page.output_dir}")  # fmt: skip
