"""Reading numbers out of table cells, where a value may be missing."""

from __future__ import annotations

import math
from typing import Any


def as_float(value: Any) -> float | None:
    """A table cell as a float, None when missing (None, NaN, pandas' NA)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number
