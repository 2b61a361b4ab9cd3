"""Case cards and diffs: word-level marks, the prompt diff, cards for a
comparison's cases."""

from __future__ import annotations

from llmbench import case_cards
from llmbench.compare import Comparison
from llmbench.compare_views import ADDED_BG

pytest_plugins = ["compare_fixtures"]

V1, V2 = "v1-no-context", "v2-full-context"


def test_word_diff_marks_only_the_words_that_differ() -> None:
    left, right = case_cards.word_diff_html("the cat sat <here>", "the dog sat <here>")

    assert left.startswith("the <del")
    assert ">cat </del>" in left and "dog" not in left
    assert ">dog </ins>" in right and "cat" not in right
    assert left.endswith("</del>sat &lt;here&gt;")
    assert case_cards.word_diff_html("same words", "same words") == ("same words",) * 2


def test_word_diff_leaves_unrelated_texts_unmarked() -> None:
    left, right = case_cards.word_diff_html("I don't know.", "Gold has the symbol Au.")

    assert (left, right) == ("I don&#x27;t know.", "Gold has the symbol Au.")


def test_prompt_diff_shows_added_lines_in_green(offline_comparison: Comparison) -> None:
    page = case_cards.prompt_diff_html(offline_comparison.prompt, V1, V2)
    same = case_cards.prompt_diff_html(offline_comparison.prompt, V2, V2)

    assert f"background:{ADDED_BG}" in page
    assert "+  Context:" in page
    assert "qa_answer@v1-no-context" in page
    assert "have the same content" in same


def test_case_cards_show_both_outputs_and_the_spend(
    offline_comparison: Comparison,
) -> None:
    first = offline_comparison.case_ids[0]

    html = case_cards.side_by_side_html(offline_comparison, V1, V2, limit=2)

    assert html.count('class="llmbench-case"') == 2
    assert f"<strong>{first}</strong>" in html
    assert "score 0.00" in html  # v1 knows nothing without context
    assert "in / " in html and "out tokens" in html
    assert "B wins" in html
