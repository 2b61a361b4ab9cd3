"""Joining a run's calls with the cases they answered.

Cases come in many shapes (a `Dataset`, `Case` objects, dicts with ``id`` or
``case_id``, a DataFrame, a mapping of case id to fields); `join_cases` reads
them all and adds each case's fields to its calls as columns.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from llmbench.errors import MetricError

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)


def join_cases(frame: pd.DataFrame, cases: Any) -> pd.DataFrame:
    """The records with their case's fields added as columns, by ``case_id``.

    A case field with the same name as a record column is left out (the
    record's value is kept). Calls whose case is missing get no fields.
    """
    table = case_frame(cases)
    rows = frame.reset_index(drop=True)
    if table is None:
        return rows

    clashes = [c for c in table.columns if c != "case_id" and c in rows.columns]
    if clashes:
        logger.debug("case fields %s clash with record columns; kept records'", clashes)
    table = table.drop(columns=clashes).drop_duplicates("case_id")
    keyed = rows.assign(case_id=rows["case_id"].astype(str))
    joined = keyed.merge(table, on="case_id", how="left", validate="many_to_one")

    known = set(table["case_id"].tolist())
    unknown = [c for c in keyed["case_id"].tolist() if c not in known]
    if unknown:
        logger.warning(
            "%s call(s) answer case ids missing from the cases given, e.g. %s",
            len(unknown),
            unknown[0],
        )
    return joined


def case_frame(cases: Any) -> pd.DataFrame | None:
    """Cases in any accepted shape as a frame with a string ``case_id`` column."""
    import pandas as pd

    if cases is None:
        return None
    if isinstance(cases, pd.DataFrame):
        frame = cases.rename(columns={"id": "case_id"}) if "id" in cases else cases
        if "case_id" not in frame.columns:
            raise MetricError("a cases frame needs a 'case_id' (or 'id') column")
        return frame.assign(case_id=frame["case_id"].astype(str))

    items: Iterable[Any] = (
        ({"case_id": k, **v} for k, v in cases.items())
        if isinstance(cases, Mapping)
        else cases
    )
    rows = [_case_row(item) for item in items]
    frame = pd.DataFrame(rows) if rows else pd.DataFrame({"case_id": []})
    return frame.assign(case_id=frame["case_id"].astype(str))


def _case_row(item: Any) -> dict[str, Any]:
    """One case as a flat dict with ``case_id``."""
    if hasattr(item, "case_id") and hasattr(item, "fields"):
        return {**dict(item.fields), "case_id": item.case_id}
    if isinstance(item, Mapping):
        row = dict(item)
        if "case_id" not in row and "id" in row:
            row["case_id"] = row.pop("id")
        if "case_id" in row:
            return row
    raise MetricError(
        f"cannot read a case from {type(item).__name__}; give cases with a "
        "'case_id' (or 'id'), or Case objects"
    )
