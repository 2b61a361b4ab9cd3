"""Bootstrap confidence intervals, one-sample and paired.

Percentile intervals from resampling with replacement: no distribution is
assumed, which suits eval scores (bounded, skewed, often 0/1). Resamples are
drawn in memory-bounded chunks and the statistic is applied to a whole chunk
at once when it accepts ``axis=-1`` (numpy reductions do).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

#: Resampled values held in memory at once by the bootstrap.
_BOOTSTRAP_CELLS = 4_000_000

NanPolicy = Literal["raise", "omit"]


class Interval(NamedTuple):
    """A confidence interval around an estimate, in the statistic's units."""

    low: float
    estimate: float
    high: float

    def __str__(self) -> str:
        return f"{self.estimate:+.3g} ({self.low:+.3g} to {self.high:+.3g})"


def bootstrap_ci(
    values: ArrayLike,
    statistic: Callable[..., Any] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
    nan_policy: NanPolicy = "raise",
) -> Interval:
    """A percentile bootstrap confidence interval for a statistic of `values`.

    Args:
        values: The sample (for example one score per case).
        statistic: A function of a 1-D array; called with ``axis=-1`` on a 2-D
            batch of resamples when it accepts that (numpy reductions do).
            Defaults to the mean.
        confidence: The interval's coverage, e.g. 0.95.
        n_resamples: How many bootstrap resamples to draw.
        seed: Seed of the resampling, for repeatable intervals.
        nan_policy: ``raise`` on NaN values, or ``omit`` them.

    Returns:
        `Interval` (low, estimate, high). A constant sample gives a degenerate
        interval (low == estimate == high).

    Raises:
        ValueError: No values, NaNs under ``raise``, or a bad `confidence`.
    """
    import numpy as np

    data = _clean(np.asarray(values, dtype=np.float64).reshape(-1), nan_policy)
    stat = statistic or np.mean
    rng = np.random.default_rng(seed)

    estimate = float(stat(data))
    resampled = _resample(
        lambda idx: _apply(stat, data[idx]), len(data), n_resamples, rng
    )
    low, high = _percentiles(resampled, confidence)
    return Interval(low, estimate, high)


def paired_bootstrap_ci(
    a: ArrayLike,
    b: ArrayLike,
    statistic: Callable[..., Any] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
) -> Interval:
    """A bootstrap interval for the difference ``statistic(b) - statistic(a)``.

    The pairs (a[i], b[i]) are resampled together, so the interval reflects
    the per-case pairing. Pairs with a NaN on either side are left out.

    Returns:
        `Interval` of B minus A (positive: B scores higher).
    """
    import numpy as np

    left, right, _ = complete_pairs(a, b)
    stat = statistic or np.mean
    rng = np.random.default_rng(seed)

    estimate = float(stat(right) - stat(left))
    resampled = _resample(
        lambda idx: _apply(stat, right[idx]) - _apply(stat, left[idx]),
        len(left),
        n_resamples,
        rng,
    )
    low, high = _percentiles(resampled, confidence)
    return Interval(low, estimate, high)


def _clean(data: NDArray[np.float64], nan_policy: NanPolicy) -> NDArray[np.float64]:
    """Check a sample: not empty, NaNs refused or omitted."""
    import numpy as np

    missing = np.isnan(data)
    if missing.any():
        if nan_policy == "raise":
            raise ValueError(
                f"{int(missing.sum())} of {len(data)} values are NaN; score them, or "
                "pass nan_policy='omit' to leave them out"
            )
        data = data[~missing]
    if len(data) == 0:
        raise ValueError("no values to bootstrap")
    return data


def complete_pairs(
    a: ArrayLike, b: ArrayLike, *, allow_empty: bool = False
) -> tuple[NDArray[np.float64], NDArray[np.float64], int]:
    """Two paired samples as aligned float arrays without incomplete pairs.

    None, NaN and <NA> on either side drop the pair; the third value returned
    is how many pairs were dropped.

    Raises:
        ValueError: The samples differ in length, or (unless `allow_empty`)
            no pair is complete.
    """
    import numpy as np
    import pandas as pd

    left = pd.to_numeric(
        pd.Series(np.asarray(a, dtype=object).reshape(-1)), errors="coerce"
    )
    right = pd.to_numeric(
        pd.Series(np.asarray(b, dtype=object).reshape(-1)), errors="coerce"
    )
    if len(left) != len(right):
        raise ValueError(
            f"paired samples differ in length: {len(left)} and {len(right)}"
        )

    complete = (left.notna() & right.notna()).to_numpy()
    if not allow_empty and not complete.any():
        raise ValueError("no pair has both values")
    as_float = {"dtype": np.float64, "na_value": np.nan}
    return (
        left.to_numpy(**as_float)[complete],
        right.to_numpy(**as_float)[complete],
        int((~complete).sum()),
    )


def _resample(
    compute: Callable[[NDArray[np.intp]], NDArray[np.float64]],
    n: int,
    n_resamples: int,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """`compute` over index resamples, drawn in memory-bounded chunks."""
    import numpy as np

    out = np.empty(n_resamples)
    chunk = max(1, _BOOTSTRAP_CELLS // max(n, 1))
    for start in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - start)
        out[start : start + rows] = compute(rng.integers(0, n, size=(rows, n)))
    return out


def _apply(stat: Callable[..., Any], batch: NDArray[np.float64]) -> NDArray[np.float64]:
    """A statistic over each row of a 2-D batch, vectorized when it allows."""
    import numpy as np

    try:
        values = np.asarray(stat(batch, axis=-1), dtype=np.float64)
        if values.shape == (batch.shape[0],):
            return values
    except TypeError:
        pass
    return np.array([stat(row) for row in batch], dtype=np.float64)


def _percentiles(
    resampled: NDArray[np.float64], confidence: float
) -> tuple[float, float]:
    """The two-sided percentile bounds of a bootstrap distribution."""
    import numpy as np

    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(resampled, [tail, 1.0 - tail])
    return float(low), float(high)
