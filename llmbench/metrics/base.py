"""The metric registry: what a metric is, how one is declared, how one is found.

A metric turns one call's output (and its case) into a score. Three kinds exist:

- a *row* metric is a plain function ``f(output, case, **params)`` returning a
  float or a bool, declared with `metric`;
- a *vectorized* metric takes the whole batch of calls as a pandas DataFrame
  and returns one score per row, declared with `vectorized_metric`: use it when
  thousands of rows must be fast;
- a *judge* metric asks an LLM (see `llmbench.metrics.judge`); it is async and
  needs a judge model.

Every metric is registered under its name, so a suite file can name it (with
parameters) and `get_metric` finds it. A score is a float; NaN means the call
could not be scored, and the reason travels in the ``detail`` column.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from llmbench.errors import MetricError

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

MetricKind = Literal["row", "vectorized", "judge"]


class Score(NamedTuple):
    """A row metric's score with a short explanation.

    Attributes:
        value: The score; None or NaN when the row could not be scored.
        detail: Why, in a few words (shown in the ``detail`` column).
    """

    value: float | bool | None
    detail: str | None = None


class Scores(NamedTuple):
    """A vectorized metric's scores with per-row explanations.

    Attributes:
        values: One score per row (NaN where the row could not be scored).
        details: One detail per row (None where there is nothing to say).
    """

    values: Any
    details: list[str | None]


@dataclass(frozen=True)
class Metric:
    """A registered metric.

    Attributes:
        name: The registry name, as written in suites.
        func: The scoring function (its signature depends on `kind`).
        kind: ``row``, ``vectorized`` or ``judge``.
        higher_is_better: Whether a larger score is better (False for errors,
            distances, latencies).
        threshold: The default pass threshold, or None when the metric has no
            natural one. Boolean metrics pass at 1.0.
        needs: Case or record fields the metric reads besides the output; a
            row lacking one is not scored (NaN) and the detail names it.
        description: One line shown by `available_metrics`.
    """

    name: str
    func: Callable[..., Any]
    kind: MetricKind = "row"
    higher_is_better: bool = True
    threshold: float | None = None
    needs: tuple[str, ...] = ()
    description: str = ""

    def check_params(self, params: Mapping[str, Any]) -> None:
        """Raise MetricError when `params` do not fit the function's signature."""
        signature = inspect.signature(self.func)
        fixed = 1 if self.kind == "vectorized" else 2
        if self.kind == "judge":
            return
        try:
            signature.bind_partial(*([None] * fixed), **params)
        except TypeError as exc:
            raise MetricError(f"metric {self.name!r}: bad parameters: {exc}") from exc

        for name, parameter in list(signature.parameters.items())[fixed:]:
            required = parameter.default is inspect.Parameter.empty
            variadic = parameter.kind in (
                inspect.Parameter.VAR_KEYWORD,
                inspect.Parameter.VAR_POSITIONAL,
            )
            if required and not variadic and name not in params:
                raise MetricError(
                    f"metric {self.name!r} needs the parameter {name!r}; "
                    f"give it in the suite as {{name: {self.name}, {name}: ...}}"
                )


@dataclass(frozen=True)
class MetricSpec:
    """A metric as a suite asks for it: a name, parameters, a threshold.

    Attributes:
        name: The registered metric's name.
        params: Keyword parameters for the metric function.
        threshold: The pass threshold; None keeps the metric's default.
        label: The name shown in results; defaults to `name`. Give one when
            the same metric appears twice with different parameters.
    """

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    label: str | None = None

    @property
    def display_name(self) -> str:
        """The name shown in the ``metric`` column."""
        return self.label or self.name

    @classmethod
    def parse(cls, value: str | Mapping[str, Any] | MetricSpec) -> MetricSpec:
        """Read a spec from a suite entry.

        Accepts a bare name (``"token_f1"``), or a mapping such as
        ``{"name": "regex", "pattern": "^\\\\d+$", "threshold": 1}`` where the
        keys other than ``name``, ``threshold``, ``label`` and ``params`` are
        parameters (``params`` may also hold them as a nested mapping).
        """
        if isinstance(value, MetricSpec):
            return value
        if isinstance(value, str):
            return cls(name=value)
        if not isinstance(value, Mapping) or "name" not in value:
            raise MetricError(
                f"a metric entry must be a name or a mapping with 'name'; got {value!r}"
            )

        reserved = {"name", "threshold", "label", "params"}
        params = dict(value.get("params") or {})
        params.update({k: v for k, v in value.items() if k not in reserved})
        threshold = value.get("threshold")
        return cls(
            name=str(value["name"]),
            params=params,
            threshold=None if threshold is None else float(threshold),
            label=value.get("label"),
        )


_REGISTRY: dict[str, Metric] = {}


def register(metric_obj: Metric, *, replace: bool = False) -> Metric:
    """Add a metric to the registry; MetricError if the name is taken."""
    if metric_obj.name in _REGISTRY and not replace:
        raise MetricError(
            f"a metric named {metric_obj.name!r} is already registered; "
            "pick another name or pass replace=True"
        )
    _REGISTRY[metric_obj.name] = metric_obj
    logger.debug("registered metric %s (%s)", metric_obj.name, metric_obj.kind)
    return metric_obj


def metric(
    name: str,
    *,
    higher_is_better: bool = True,
    threshold: float | None = None,
    needs: tuple[str, ...] = (),
    replace: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a row metric: ``f(output: str, case: Mapping, **params)``.

    The function receives the call's output text and a mapping of the case's
    fields (``question``, ``answer``, ``contexts``...) merged with the call's
    record fields (``latency_s``, ``cost_usd``, ``model``...) where the case
    has no field of that name. It returns a float, a bool (scored 1.0 or
    0.0), None when the row cannot be scored, or a `Score` with a detail. An
    exception while scoring one row makes that row NaN, with the error in
    its detail; it does not stop the other rows.

    Args:
        name: The registry name, used in suites.
        higher_is_better: Whether larger scores are better.
        threshold: The default pass threshold (None: no pass/fail).
        needs: Fields the metric requires; rows lacking them score NaN.
        replace: Replace an existing metric of the same name.

    Returns:
        A decorator that registers the function and returns it unchanged.
    """

    return _registrar(
        kind="row",
        name=name,
        higher_is_better=higher_is_better,
        threshold=threshold,
        needs=needs,
        replace=replace,
    )


def vectorized_metric(
    name: str,
    *,
    higher_is_better: bool = True,
    threshold: float | None = None,
    needs: tuple[str, ...] = (),
    replace: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a vectorized metric: ``f(rows: DataFrame, **params)``.

    `rows` has one row per call: ``output_text``, the record's columns, and
    the case's fields joined by ``case_id``. The function returns one score
    per row (a sequence or array, NaN where a row cannot be scored) or a
    `Scores` with per-row details. Rows lacking a field named in `needs` are
    not passed in.

    Args:
        name: The registry name, used in suites.
        higher_is_better: Whether larger scores are better.
        threshold: The default pass threshold (None: no pass/fail).
        needs: Fields the metric requires; rows lacking them score NaN.
        replace: Replace an existing metric of the same name.

    Returns:
        A decorator that registers the function and returns it unchanged.
    """

    return _registrar(
        kind="vectorized",
        name=name,
        higher_is_better=higher_is_better,
        threshold=threshold,
        needs=needs,
        replace=replace,
    )


def _registrar(
    *,
    kind: MetricKind,
    name: str,
    higher_is_better: bool,
    threshold: float | None,
    needs: tuple[str, ...],
    replace: bool,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The decorator `metric` and `vectorized_metric` return for their kind."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        register(
            Metric(
                name=name,
                func=func,
                kind=kind,
                higher_is_better=higher_is_better,
                threshold=threshold,
                needs=needs,
                description=_first_line(func),
            ),
            replace=replace,
        )
        return func

    return decorate


def get_metric(name: str) -> Metric:
    """The registered metric called `name`.

    Raises:
        MetricError: When no metric has that name; the message lists the
            known names.
    """
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise MetricError(f"unknown metric {name!r}; known metrics: {known}") from None


def available_metrics() -> pd.DataFrame:
    """One row per registered metric: name, kind, direction, threshold, needs."""
    import pandas as pd

    _load_builtins()
    rows = [
        {
            "name": m.name,
            "kind": m.kind,
            "higher_is_better": m.higher_is_better,
            "threshold": m.threshold,
            "needs": ", ".join(m.needs),
            "description": m.description,
        }
        for m in sorted(_REGISTRY.values(), key=lambda m: m.name)
    ]
    return pd.DataFrame(rows)


def _load_builtins() -> None:
    """Import the modules whose decorators register the built-in metrics."""
    from llmbench.metrics import deterministic, judge_metrics, ragas_metrics, semantic

    del deterministic, judge_metrics, ragas_metrics, semantic


def _first_line(func: Callable[..., Any]) -> str:
    """The first line of a function's docstring, or ''."""
    doc = inspect.getdoc(func) or ""
    return doc.splitlines()[0] if doc else ""
