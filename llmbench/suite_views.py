"""Suite results for people: plain text for the terminal, HTML and tables for notebooks.

The same few views serve ``llmbench eval`` and ``notebooks/eval_suite.ipynb``:
the verdict first (with its reasons), then one row per metric with its mean,
interval and pass rate, the gate's rules, what the task and the judge spent,
and, against a baseline, the deltas and the cases that flipped. Tables come
back as pandas DataFrames of display strings, ready to print or show.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from llmbench.cells import as_float

if TYPE_CHECKING:
    import pandas as pd

    from llmbench.baselines import BaselineComparison
    from llmbench.suite_results import SuiteResult, Verdict

PASS_COLOR, FAIL_COLOR, SKIP_COLOR = "#2e7d32", "#c62828", "#8a6d00"


def run_line(result: SuiteResult) -> str:
    """``suite qa_offline: qa_answer@v2 on offline/extractive, 53 cases, run <id>``."""
    suite, run = result.suite, result.run
    return (
        f"suite {suite.name}: {suite.task.ref} on {suite.task.model}, "
        f"{len(result.cases)} cases x {suite.task.repeats} repeat(s), run {run.run_id} "
        f"({run.errors} failed calls, {run.cache_hits} from the cache)"
    )


def metric_table(result: SuiteResult) -> pd.DataFrame:
    """One row per metric, formatted: mean with its interval, threshold, pass rate."""
    import pandas as pd

    rows = []
    for label, s in result.summaries.items():
        if s.skipped:
            rows.append({"metric": label, "mean (95% CI)": "skipped: no judge"})
            continue
        rows.append(
            {
                "metric": label,
                "mean (95% CI)": _interval(s.mean, s.ci_low, s.ci_high),
                "median": _number(s.median),
                "threshold": "" if s.threshold is None else _number(s.threshold),
                "pass rate": _percent(s.pass_rate),
                "failed": "" if s.threshold is None else f"{s.n_failed}/{s.n_cases}",
                "unscored": str(s.n_nan),
            }
        )
    return pd.DataFrame(rows).fillna("")


def gate_table(result: SuiteResult) -> pd.DataFrame:
    """One row per gate rule: status and the reason in words."""
    import pandas as pd

    return pd.DataFrame(
        {
            "status": [g.status.upper() for g in result.gate],
            "rule": [g.rule.text for g in result.gate],
            "reason": [g.reason.partition("; needs")[0] for g in result.gate],
        }
    )


def spend_table(result: SuiteResult) -> pd.DataFrame:
    """Task and judge calls on separate rows: calls, tokens, USD."""
    spend = result.spend()
    spend["cost_usd"] = [_usd(v) for v in spend["cost_usd"]]
    spend["paid_usd"] = [_usd(v) for v in spend["paid_usd"]]
    return spend


def delta_table(comparison: BaselineComparison) -> pd.DataFrame:
    """One row per metric against the baseline, formatted for reading."""
    table = comparison.table()
    return table.assign(
        baseline=[_number(v) for v in table["baseline"]],
        current=[_number(v) for v in table["current"]],
        delta=[
            _interval(d, lo, hi, signed=True)
            for d, lo, hi in zip(
                table["delta"], table["ci_low"], table["ci_high"], strict=True
            )
        ],
        p_value=[_p(v) for v in table["p_value"]],
        mcnemar_p=[_p(v) for v in table["mcnemar_p"]],
    ).drop(columns=["ci_low", "ci_high"])


def text_report(
    result: SuiteResult, comparison: BaselineComparison | None = None
) -> str:
    """The whole result as plain text for a terminal or a CI log."""
    verdict = result.verdict(comparison)
    parts = [run_line(result), "", _plain(metric_table(result)), ""]

    parts.append(f"gate: {'PASS' if result.gate_passed else 'FAIL'}")
    parts += [f"  {g.status.upper():<7} {g.reason}" for g in result.gate]
    parts.append("")
    parts.append(_plain(spend_table(result)))

    if comparison is not None:
        parts += [
            "",
            f"against the baseline ({comparison.baseline.path or 'in memory'}):",
        ]
        parts += [f"  {note}" for note in comparison.notes]
        parts.append(_plain(delta_table(comparison)))
        flips = comparison.flips()
        worse = flips[flips["change"] == "pass → fail"]
        if len(worse):
            grouped = worse.groupby("case_id", sort=False)["metric"].agg(", ".join)
            shown = [f"{case} ({metrics})" for case, metrics in grouped.items()]
            parts.append(f"pass → fail: {'; '.join(shown)}")

    parts += ["", f"verdict: {verdict.word}"]
    parts += [f"  - {line}" for line in verdict.failures]
    parts += [
        f"  note: {line}" for line in verdict.notes if not line.startswith("baseline:")
    ]
    return "\n".join(parts)


def verdict_html(verdict: Verdict, result: SuiteResult) -> str:
    """The verdict as a large coloured banner with its reasons underneath."""
    color = PASS_COLOR if verdict.passed else FAIL_COLOR
    rules = sum(g.status != "skipped" for g in result.gate)
    passing = sum(g.status == "pass" for g in result.gate)
    summary = (
        f"{passing} of {rules} gate rule(s) pass on {len(result.cases)} cases of "
        f"{escape(result.suite.task.ref)} on {escape(result.suite.task.model)}"
    )
    items = "".join(
        f'<li style="color:{FAIL_COLOR}">{escape(line)}</li>'
        for line in verdict.failures
    )
    items += "".join(
        f'<li style="color:{PASS_COLOR}">{escape(g.reason)}</li>'
        for g in result.gate
        if g.status == "pass"
    )
    items += "".join(
        f'<li style="color:{SKIP_COLOR}">{escape(line)}</li>' for line in verdict.notes
    )
    return (
        f'<div style="border:3px solid {color};border-radius:8px;padding:12px 16px;'
        'margin:8px 0">'
        f'<div style="font-size:2.2em;font-weight:700;color:{color}">'
        f"{verdict.word}: suite {escape(result.suite.name)}</div>"
        f'<div style="font-size:1.05em;margin:4px 0 8px">{summary}</div>'
        f'<ul style="margin:0;padding-left:1.2em">{items}</ul></div>'
    )


def run_markdown(result: SuiteResult) -> str:
    """What ran, as a Markdown paragraph: suite, task, cases, run, description."""
    suite = result.suite
    text = f"{run_line(result)}.".replace(
        f"suite {suite.name}:", f"Suite **{suite.name}**:"
    )
    return f"{text}\n\n{suite.description}" if suite.description else text


def regression_markdown(comparison: BaselineComparison | None) -> str:
    """The comparison's verdict per metric, regressions first, as Markdown."""
    if comparison is None:
        return (
            "No baseline to compare with. Save one with `llmbench eval <suite> "
            "--save-baseline` (or `result.save_baseline()`) and check it in."
        )
    deltas = sorted(comparison.deltas, key=lambda d: (not d.regressed, not d.improved))
    head = (
        f"**{len(comparison.regressions)} significant regression(s)** against the "
        f"baseline ({escape(comparison.baseline.description)}); a regression is a "
        f"worse mean with p < {comparison.alpha:g} in a paired test, or more cases "
        f"flipping pass → fail than back with McNemar p < {comparison.alpha:g}."
    )
    notes = [f"- {n}" for n in comparison.notes if not n.startswith("baseline:")]
    lines = [f"- {'**' if d.regressed else ''}{d.verdict}{'**' if d.regressed else ''}"
             for d in deltas]  # fmt: skip
    return "\n".join([head, "", *lines, *(["", *notes] if notes else [])])


def flips_table(comparison: BaselineComparison | None, n: int = 10) -> Any:
    """Cases that flipped pass -> fail (then fail -> pass), with both outputs."""
    import pandas as pd

    if comparison is None:
        return pd.DataFrame()
    flips = comparison.flips().head(n)
    return _wrapped(flips)


def headlines(
    result: SuiteResult, comparison: BaselineComparison | None = None
) -> dict[str, Any]:
    """The figures a report index shows: the gate, metric means, regressions."""
    shown: dict[str, Any] = {"gate": result.verdict(comparison).headline}
    for label, summary in result.summaries.items():
        if not summary.skipped and summary.n_scored:
            shown[f"mean {label}"] = round(summary.mean, 3)
    if comparison is not None:
        shown["regressions"] = len(comparison.regressions)
    return shown


def worst_cases_table(
    result: SuiteResult, metric: str | None = None, n: int = 5
) -> Any:
    """`SuiteResult.worst_cases` with long texts wrapped, as a pandas Styler."""
    return _wrapped(result.worst_cases(metric, n))


def _wrapped(frame: pd.DataFrame) -> Any:
    """A frame as a Styler: scores with two decimals, long texts wrapped."""
    numeric = [c for c in frame.columns if frame[c].dtype.kind == "f"]
    return (
        frame.style.hide(axis="index")
        .format({c: "{:.2f}" for c in numeric}, na_rep="–")
        .set_properties(**{"text-align": "left", "white-space": "pre-wrap"})
    )


def _plain(frame: pd.DataFrame) -> str:
    """A frame as aligned text without its index."""
    return str(frame.to_string(index=False)) if len(frame) else "(none)"


def _is_missing(value: Any) -> bool:
    """None, NaN or pandas' NA."""
    return as_float(value) is None


def _number(value: Any) -> str:
    """A score with three significant digits, or "–"."""
    return "–" if _is_missing(value) else f"{float(value):.3g}"


def _percent(value: Any) -> str:
    """A share as a percentage, or "" when there is none."""
    return "" if _is_missing(value) else f"{100 * float(value):.0f}%"


def _p(value: Any) -> str:
    """A p-value as people read it."""
    from llmbench.stats import format_p

    return (
        ""
        if _is_missing(value)
        else format_p(float(value)).removeprefix("p ").lstrip("= ")
    )


def _usd(value: Any) -> str:
    """USD with enough digits for small amounts; "unknown" for None."""
    if _is_missing(value):
        return "unknown"
    amount = float(value)
    if amount == 0:
        return "$0"
    return f"${amount:,.2f}" if amount >= 1 else f"${amount:.6f}".rstrip("0")


def _interval(estimate: float, low: float, high: float, signed: bool = False) -> str:
    """``0.301 (0.249 to 0.352)``; signed adds + to positive numbers."""
    if any(_is_missing(v) for v in (estimate, low, high)):
        return "–"
    f = "+.3g" if signed else ".3g"
    return f"{estimate:{f}} ({low:{f}} to {high:{f}})"
