"""Gates: the aggregate conditions a suite must meet, and their verdicts in words.

A gate rule reads one statistic of one metric over the suite's cases and
compares it with a number. In a suite file a rule is a short expression or a
mapping; both mean the same:

    gate:
      - mean(faithfulness) >= 0.8
      - fail_rate(answer_json) <= 5%
      - metric: answer_json
        statistic: fail_rate
        at_most: 5%

Statistics (over cases; a case's score is the mean over its repeats):

    mean, median, min, max   of the scored cases
    ci_low, ci_high          the bounds of the mean's bootstrap interval
    pass_rate, fail_rate     share of all cases that pass / fail the metric's
                             threshold; a case that could not be scored counts
                             as failed, so errors cannot raise a pass rate
    failed                   how many cases fail (unscored ones included)

Comparisons: ``>=``, ``>``, ``<=``, ``<`` (or ``at_least``, ``above``,
``at_most``, ``below`` in the mapping form). A value written with ``%`` is a
share (``5%`` is 0.05). Every rule of a gate must hold for the gate to pass.
A rule on a metric that was skipped (an LLM-judged metric without a judge) is
reported as skipped and does not fail the gate; one on a metric that ran but
could not score a single case fails.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

STATISTICS = (
    "mean",
    "median",
    "min",
    "max",
    "ci_low",
    "ci_high",
    "pass_rate",
    "fail_rate",
    "failed",
)
#: Statistics that count pass/fail outcomes, so the metric needs a threshold.
OUTCOME_STATISTICS = frozenset({"pass_rate", "fail_rate", "failed"})
RATE_STATISTICS = frozenset({"pass_rate", "fail_rate"})

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}
#: The mapping form's words for each comparison.
OPERATOR_WORDS = {"at_least": ">=", "above": ">", "at_most": "<=", "below": "<"}
_READ_AS = {">=": "at least", ">": "above", "<=": "at most", "<": "below"}

_EXPRESSION = re.compile(
    r"^\s*(?P<statistic>\w+)\s*\(\s*(?P<metric>[^()\s]+)\s*\)\s*"
    r"(?P<op>>=|<=|>|<)\s*(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"\s*(?P<percent>%)?\s*$"
)

GateStatus = Literal["pass", "fail", "skipped"]


@dataclass(frozen=True)
class GateRule:
    """One condition of a gate: ``statistic(metric) op value``.

    Attributes:
        statistic: One of `STATISTICS`.
        metric: The metric's label in the suite.
        op: ``>=``, ``>``, ``<=`` or ``<``.
        value: The number compared with (a share in 0-1 for rates).
        percent: Whether the value was written as a percentage (it is then
            shown as one).
    """

    statistic: str
    metric: str
    op: str
    value: float
    percent: bool = False

    @property
    def text(self) -> str:
        """The rule as an expression, e.g. ``fail_rate(answer_json) <= 5%``."""
        return f"{self.statistic}({self.metric}) {self.op} {self._show(self.value)}"

    @classmethod
    def parse(cls, entry: Any) -> GateRule:
        """Read a rule from its expression or mapping form.

        Raises:
            ValueError: The entry is not a rule; the message says why.
        """
        if isinstance(entry, GateRule):
            return entry
        if isinstance(entry, str):
            return cls._from_expression(entry)
        if isinstance(entry, Mapping):
            return cls._from_mapping(entry)
        raise ValueError(
            f"a gate rule is an expression such as 'mean(token_f1) >= 0.3' or a "
            f"mapping with metric, statistic and at_least/at_most; got {entry!r}"
        )

    @classmethod
    def _from_expression(cls, text: str) -> GateRule:
        """Parse ``statistic(metric) op value[%]``."""
        found = _EXPRESSION.match(text)
        if found is None:
            raise ValueError(
                f"cannot read {text!r}; write it as 'statistic(metric) op value', "
                "for example 'mean(token_f1) >= 0.3' or 'fail_rate(valid_json) <= 5%'"
            )
        return cls._build(
            found["statistic"],
            found["metric"],
            found["op"],
            float(found["value"]),
            percent=found["percent"] is not None,
        )

    @classmethod
    def _from_mapping(cls, entry: Mapping[str, Any]) -> GateRule:
        """Parse ``{metric, statistic, at_least|above|at_most|below}``."""
        unknown = set(entry) - {"metric", "statistic", *OPERATOR_WORDS}
        if unknown:
            raise ValueError(
                f"unknown key(s) {', '.join(sorted(map(str, unknown)))} in a gate "
                "rule; use metric, statistic and one of " + ", ".join(OPERATOR_WORDS)
            )
        if not isinstance(entry.get("metric"), str):
            raise ValueError("a gate rule needs 'metric': the metric's label")
        words = [word for word in OPERATOR_WORDS if word in entry]
        if len(words) != 1:
            raise ValueError(
                "a gate rule needs exactly one of " + ", ".join(OPERATOR_WORDS)
            )

        value, percent = _number(entry[words[0]])
        statistic = str(entry.get("statistic", "mean"))
        return cls._build(
            statistic, entry["metric"], OPERATOR_WORDS[words[0]], value, percent
        )

    @classmethod
    def _build(
        cls, statistic: str, metric: str, op: str, value: float, percent: bool
    ) -> GateRule:
        """Check the parts and make the rule."""
        if statistic not in STATISTICS:
            raise ValueError(
                f"unknown statistic {statistic!r}; use one of {', '.join(STATISTICS)}"
            )
        if percent:
            value /= 100
        if not math.isfinite(value):
            raise ValueError(f"the value of {statistic}({metric}) is not finite")
        if statistic in RATE_STATISTICS and not 0.0 <= value <= 1.0:
            raise ValueError(
                f"{statistic} is a share of cases: give 0-1 or 0%-100%, not {value:g}"
            )
        return cls(statistic, metric, op, value, percent)

    def _show(self, value: float) -> str:
        """A value as this rule writes it (a percentage for rates written so)."""
        if self.percent:
            return f"{100 * value:.3g}%"
        if self.statistic == "failed":
            return f"{value:.0f}"
        return f"{value:.3g}"


@dataclass(frozen=True)
class MetricSummary:
    """One metric's aggregates over a suite's cases: what gates read.

    Attributes:
        metric: The metric's label.
        n_cases: Cases in the suite run.
        n_scored: Cases with a score.
        mean: Mean case score (NaN when none scored); likewise the next three.
        median: Median case score.
        min: Lowest case score.
        max: Highest case score.
        ci_low: Lower bound of the mean's bootstrap interval.
        ci_high: Upper bound of the mean's bootstrap interval.
        confidence: The interval's coverage.
        threshold: The pass threshold, or None when the metric has none.
        higher_is_better: The metric's direction.
        n_passed: Cases whose score passes the threshold.
        skipped: Why the metric was not computed at all, or None.
    """

    metric: str
    n_cases: int
    n_scored: int
    mean: float
    median: float
    min: float
    max: float
    ci_low: float
    ci_high: float
    confidence: float
    threshold: float | None
    higher_is_better: bool
    n_passed: int
    skipped: str | None = None

    @property
    def n_nan(self) -> int:
        """Cases without a score."""
        return self.n_cases - self.n_scored

    @property
    def n_failed(self) -> int:
        """Cases that did not pass, unscored ones included (0 without threshold)."""
        return 0 if self.threshold is None else self.n_cases - self.n_passed

    @property
    def pass_rate(self) -> float:
        """Share of all cases that passed; NaN without a threshold or cases."""
        if self.threshold is None or self.n_cases == 0:
            return math.nan
        return self.n_passed / self.n_cases

    @property
    def fail_rate(self) -> float:
        """Share of all cases that failed (unscored count as failed)."""
        if self.threshold is None or self.n_cases == 0:
            return math.nan
        return self.n_failed / self.n_cases

    def statistic(self, name: str) -> float:
        """The value of one of `STATISTICS`."""
        if name == "failed":
            return float(self.n_failed)
        value: float = getattr(self, name)
        return value


@dataclass(frozen=True)
class GateResult:
    """A rule's verdict.

    Attributes:
        rule: The rule.
        status: ``pass``, ``fail`` or ``skipped``.
        observed: The statistic's value, or None when there was none.
        reason: The verdict in words, with the numbers behind it.
    """

    rule: GateRule
    status: GateStatus
    observed: float | None
    reason: str

    @property
    def passed(self) -> bool:
        """Whether the rule did not fail (a skipped rule does not fail)."""
        return self.status != "fail"


def evaluate_gate(
    rules: list[GateRule], summaries: Mapping[str, MetricSummary]
) -> list[GateResult]:
    """Check every rule against the metrics' summaries, in order.

    Args:
        rules: The gate's rules.
        summaries: The suite run's summary per metric label.

    Returns:
        One `GateResult` per rule.
    """
    return [_check(rule, summaries.get(rule.metric)) for rule in rules]


def _check(rule: GateRule, summary: MetricSummary | None) -> GateResult:
    """One rule's verdict with its reason."""
    if summary is None:
        return GateResult(rule, "fail", None, f"{rule.text}: no metric by that name")
    if summary.skipped:
        return GateResult(
            rule, "skipped", None, f"{rule.text}: skipped, {summary.skipped}"
        )
    if summary.n_scored == 0 and rule.statistic not in OUTCOME_STATISTICS:
        return GateResult(
            rule,
            "fail",
            None,
            f"{rule.text}: FAIL, no case could be scored "
            f"(0 of {summary.n_cases}; the detail column says why)",
        )

    observed = summary.statistic(rule.statistic)
    ok = _holds(rule.op, observed, rule.value)
    status: GateStatus = "pass" if ok else "fail"
    return GateResult(rule, status, observed, _reason(rule, summary, observed, ok))


def _holds(op: str, observed: float, value: float) -> bool:
    """``observed op value``, with values a rounding error apart counted equal."""
    if math.isclose(observed, value, rel_tol=1e-9, abs_tol=1e-12):
        observed = value
    return OPERATORS[op](observed, value)


def _reason(rule: GateRule, summary: MetricSummary, observed: float, ok: bool) -> str:
    """``<statistic> of <metric> is <value> (<context>); needs <op> <value>: PASS``."""
    name = rule.statistic.replace("_", " ")
    if rule.statistic in OUTCOME_STATISTICS:
        context = f"{summary.n_failed} of {summary.n_cases} cases fail"
        if summary.n_nan:
            context += f", {summary.n_nan} of them unscored"
    else:
        context = (
            f"{summary.confidence:.0%} CI {summary.ci_low:.3g} to "
            f"{summary.ci_high:.3g}, {summary.n_scored} cases"
        )
        if summary.n_nan:
            context += f"; {summary.n_nan} unscored cases left out"
    shown = rule._show(observed)
    verdict = "pass" if ok else "FAIL"
    return (
        f"{name} of {rule.metric} is {shown} ({context}); needs "
        f"{_READ_AS[rule.op]} {rule._show(rule.value)}: {verdict}"
    )


def _number(value: Any) -> tuple[float, bool]:
    """A rule's value: a number, or a string such as ``"5%"``; (value, percent)."""
    if isinstance(value, bool):
        raise ValueError(f"a gate value must be a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value), False
    if isinstance(value, str):
        text = value.strip()
        percent = text.endswith("%")
        try:
            return float(text.rstrip("%").strip()), percent
        except ValueError:
            pass
    raise ValueError(f"a gate value must be a number such as 0.8 or 5%, got {value!r}")
