"""Cost estimates before a run: count input tokens, guess output, price the range.

`estimate` takes the requests a run would make and says what they would cost:
input tokens are counted exactly with the model's tokenizer (through litellm,
from the tokenizer files it bundles); output tokens cannot be known before the
call, so each request gets a low / expected / high guess from, in order:

1. earlier runs of the same prompt version on the same model (``history``):
   the mean is expected, the 10th and 90th percentiles are low and high;
2. ``output_tokens`` when given: expected and low, with the request's
   ``max_tokens`` cap (if any) as high;
3. the request's ``max_tokens`` cap: high is the cap, expected half of it, low
   no output at all;
4. a default of `DEFAULT_OUTPUT_TOKENS` expected, 0 low, four times it high.

Every guess is written down as a sentence in `CostEstimate.assumptions`.

`llmbench.costs` re-exports `estimate` beside the accounting after a run, so a
notebook imports costs from one place.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from llmbench.prices import price_of
from llmbench.records import ChatRequest
from llmbench.tokens import TokenCounter

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

#: Expected output tokens per call when nothing else says.
DEFAULT_OUTPUT_TOKENS = 256

#: The share of a ``max_tokens`` cap a call is assumed to use when no run says.
CAP_SHARE = 0.5

GroupKey = tuple[str, str, str | None, str | None]  # kind, model, prompt name, version


class OutputGuess(NamedTuple):
    """Output tokens of one call: low, expected, high, and where they came from."""

    low: float
    expected: float
    high: float
    basis: str


@dataclass(frozen=True)
class EstimateRow:
    """The estimate for one model and prompt version.

    Attributes:
        kind: ``task`` or ``judge``.
        model: The model string.
        prompt_name: The prompt, or None.
        prompt_version: The prompt version's label, or None.
        calls: Number of calls.
        input_tokens: Input tokens of all calls, counted exactly.
        output_tokens_low: Output tokens of all calls, low guess.
        output_tokens_expected: Output tokens of all calls, expected.
        output_tokens_high: Output tokens of all calls, high guess.
        low_usd: Cost in USD with the low output guess; None when unpriced.
        expected_usd: Expected cost in USD; None when unpriced.
        high_usd: Cost in USD with the high output guess; None when unpriced.
        price_source: ``override``, ``litellm``, ``offline`` or ``unknown``.
        output_basis: Where the output guess came from (``history``,
            ``output_tokens``, ``max_tokens``, ``default``; joined with ``+``
            when calls differ).
    """

    kind: str
    model: str
    prompt_name: str | None
    prompt_version: str | None
    calls: int
    input_tokens: int
    output_tokens_low: float
    output_tokens_expected: float
    output_tokens_high: float
    low_usd: float | None
    expected_usd: float | None
    high_usd: float | None
    price_source: str
    output_basis: str


@dataclass(frozen=True)
class CostEstimate:
    """What a set of requests would cost, before making them.

    Attributes:
        rows: One row per kind, model and prompt version.
        calls: All calls, priced or not.
        low_usd: Total of the priced rows with low output guesses.
        expected_usd: Total expected cost of the priced rows.
        high_usd: Total of the priced rows with high output guesses.
        unknown_models: Models with no known price; left out of the totals.
        assumptions: Every guess the estimate rests on, one sentence each.
    """

    rows: tuple[EstimateRow, ...]
    calls: int
    low_usd: float
    expected_usd: float
    high_usd: float
    unknown_models: tuple[str, ...]
    assumptions: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The rows as a DataFrame, one row per kind, model and prompt version."""
        import pandas as pd

        columns = list(EstimateRow.__dataclass_fields__)
        return pd.DataFrame([vars(row) for row in self.rows], columns=columns)

    def summary(self) -> str:
        """The estimate in plain words: totals, unpriced models, assumptions."""
        models = len({row.model for row in self.rows})
        lines = [
            f"{self.calls} call(s) on {models} model(s): expected "
            f"{format_usd(self.expected_usd)}, between {format_usd(self.low_usd)} "
            f"and {format_usd(self.high_usd)}."
        ]
        if self.unknown_models:
            unknown = [row for row in self.rows if row.expected_usd is None]
            calls = sum(row.calls for row in unknown)
            lines.append(
                f"No price is known for {', '.join(self.unknown_models)} "
                f"({calls} call(s)); not in the totals."
            )
        lines.append("Assumptions:")
        lines.extend(f"- {sentence}" for sentence in self.assumptions)
        return "\n".join(lines)


def format_usd(amount: float | None) -> str:
    """A USD amount for people: cents for dollars, two digits for fractions."""
    if amount is None or math.isnan(amount):
        return "unknown"
    if amount == 0:
        return "$0"
    if abs(amount) >= 1:
        return f"${amount:,.2f}"
    return f"${amount:.2g}" if abs(amount) < 0.01 else f"${amount:.3f}"


def estimate(
    requests: Sequence[ChatRequest],
    output_tokens: int | None = None,
    history: pd.DataFrame | None = None,
) -> CostEstimate:
    """What ``requests`` would cost, as a low / expected / high range.

    Args:
        requests: The calls a run would make (repeats included).
        output_tokens: Expected output tokens per call where ``history`` has
            no earlier calls of the same prompt version and model.
        history: Records of earlier runs (a run's DataFrame, or several
            concatenated); only ``ok`` calls count.

    Returns:
        The estimate per kind, model and prompt version, the totals, the
        unpriced models, and the assumptions as sentences. Prompt caching and
        llmbench's response cache are not assumed: both only lower the cost.
    """
    counter = TokenCounter()
    observed = _output_history(history)
    groups: dict[GroupKey, list[tuple[int, OutputGuess]]] = defaultdict(list)

    for request in requests:
        key: GroupKey = (
            request.kind,
            request.model,
            request.prompt_name,
            request.prompt_version,
        )
        input_tokens = counter.count(request.model, request.messages)
        cap = _max_tokens(request.params)
        guess = _guess_output(observed.get(key), output_tokens, cap)
        groups[key].append((input_tokens, guess))

    rows = tuple(_estimate_row(key, calls) for key, calls in groups.items())
    priced = [row for row in rows if row.expected_usd is not None]
    unknown = tuple(sorted({row.model for row in rows if row.expected_usd is None}))
    return CostEstimate(
        rows=rows,
        calls=len(requests),
        low_usd=sum(row.low_usd or 0.0 for row in priced),
        expected_usd=sum(row.expected_usd or 0.0 for row in priced),
        high_usd=sum(row.high_usd or 0.0 for row in priced),
        unknown_models=unknown,
        assumptions=_assumptions(rows, output_tokens, counter.notes(), observed),
    )


def _max_tokens(params: Mapping[str, Any]) -> int | None:
    """The request's output cap (``max_tokens`` or ``max_completion_tokens``)."""
    for name in ("max_tokens", "max_completion_tokens"):
        value = params.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


class _Observed(NamedTuple):
    """Output tokens of earlier calls of one kind, model and prompt version."""

    calls: int
    mean: float
    p10: float
    p90: float


def _output_history(history: pd.DataFrame | None) -> dict[GroupKey, _Observed]:
    """Output-token statistics of earlier ``ok`` calls, by kind, model and version."""
    if history is None or len(history) == 0:
        return {}

    frame = history
    if "status" in frame.columns:
        frame = frame[frame["status"] == "ok"]
    keys = ["kind", "model", "prompt_name", "prompt_version"]
    frame = frame.assign(**{k: None for k in keys if k not in frame.columns})
    frame = frame.assign(kind=frame["kind"].fillna("task"))

    observed: dict[GroupKey, _Observed] = {}
    for key, group in frame.groupby(keys, dropna=False, sort=False):
        tokens = group["output_tokens"].astype(float).dropna()
        if len(tokens) == 0:
            continue
        kind, model, name, version = (group_label(part) for part in key)
        observed[(kind or "task", model or "", name, version)] = _Observed(
            len(tokens),
            float(tokens.mean()),
            float(tokens.quantile(0.1)),
            float(tokens.quantile(0.9)),
        )
    return observed


def group_label(value: Any) -> str | None:
    """A group label as a string, or None for a missing one (None or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _guess_output(
    observed: _Observed | None, output_tokens: int | None, cap: int | None
) -> OutputGuess:
    """Low, expected and high output tokens of one call, by the rules above."""
    if observed is not None:
        low = min(observed.p10, observed.mean)
        high = max(observed.p90, observed.mean)
        if cap is not None:
            low, high = min(low, cap), min(high, cap)
        expected = min(observed.mean, cap) if cap is not None else observed.mean
        return OutputGuess(low, expected, high, "history")

    if output_tokens is not None:
        high = max(cap, output_tokens) if cap is not None else output_tokens
        return OutputGuess(output_tokens, output_tokens, high, "output_tokens")

    if cap is not None:
        return OutputGuess(0, cap * CAP_SHARE, cap, "max_tokens")

    return OutputGuess(0, DEFAULT_OUTPUT_TOKENS, 4 * DEFAULT_OUTPUT_TOKENS, "default")


def _estimate_row(key: GroupKey, calls: list[tuple[int, OutputGuess]]) -> EstimateRow:
    """Sum one group's calls and price them."""
    kind, model, prompt_name, prompt_version = key
    input_tokens = sum(tokens for tokens, _ in calls)
    low = sum(guess.low for _, guess in calls)
    expected = sum(guess.expected for _, guess in calls)
    high = sum(guess.high for _, guess in calls)
    basis = "+".join(sorted({guess.basis for _, guess in calls}))

    price = price_of(model)
    if price is None:
        costs: tuple[float | None, ...] = (None, None, None)
    else:
        costs = tuple(price.cost(input_tokens, out) for out in (low, expected, high))
    return EstimateRow(
        kind=kind,
        model=model,
        prompt_name=prompt_name,
        prompt_version=prompt_version,
        calls=len(calls),
        input_tokens=input_tokens,
        output_tokens_low=low,
        output_tokens_expected=expected,
        output_tokens_high=high,
        low_usd=costs[0],
        expected_usd=costs[1],
        high_usd=costs[2],
        price_source="unknown" if price is None else price.source,
        output_basis=basis,
    )


def _assumptions(
    rows: Sequence[EstimateRow],
    output_tokens: int | None,
    tokenizer_notes: list[str],
    observed: Mapping[GroupKey, _Observed],
) -> tuple[str, ...]:
    """The sentences that say what the estimate assumed."""
    bases = {part for row in rows for part in row.output_basis.split("+")}
    sentences = [
        "Input tokens are counted from the rendered messages with each model's "
        "tokenizer, as litellm counts them."
    ]
    sentences.extend(tokenizer_notes)

    if "history" in bases:
        used = sum(1 for row in rows if "history" in row.output_basis)
        sentences.append(
            f"Output tokens for {used} model/prompt-version pair(s) come from "
            f"{sum(o.calls for o in observed.values())} earlier call(s): the mean "
            "is expected, the 10th and 90th percentiles are low and high."
        )
    if "output_tokens" in bases:
        sentences.append(
            f"Calls without earlier runs are assumed to produce {output_tokens} "
            "output tokens each (as given); high is the max_tokens cap where set."
        )
    if "max_tokens" in bases:
        sentences.append(
            f"Calls with a max_tokens cap and no earlier runs are assumed to use "
            f"{CAP_SHARE:.0%} of the cap; low is no output, high the full cap."
        )
    if "default" in bases:
        sentences.append(
            f"Calls with neither earlier runs nor a max_tokens cap are assumed to "
            f"produce {DEFAULT_OUTPUT_TOKENS} output tokens (low 0, high "
            f"{4 * DEFAULT_OUTPUT_TOKENS}); pass output_tokens to change this."
        )

    sentences.append(
        "All input is priced at the full input rate: no provider prompt-cache "
        "discount and no llmbench response-cache hits are assumed, so repeated "
        "runs cost less."
    )
    unknown = sorted({row.model for row in rows if row.expected_usd is None})
    if unknown:
        sentences.append(
            f"No price is known for {', '.join(unknown)}; add it to prices.yaml "
            "or call set_price() to include it."
        )
    return tuple(sentences)
