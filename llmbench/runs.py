"""Runs: where a batch of calls is stored, and how to read it back.

Every run has an id (``20261203-141500-3fa9c1``: UTC time, then random hex) and
a folder ``<state>/runs/<run_id>/`` holding:

- ``records.jsonl``: one `CallRecord` per line, appended and flushed as each
  call completes, so a crash loses nothing already done;
- ``run.json``: what the run was (description, counts, spend, start and end).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from llmbench.config import state_dir
from llmbench.errors import RunError
from llmbench.records import RECORD_COLUMNS, CallRecord

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)


def new_run_id() -> str:
    """A fresh run id: sortable by time, unique by its random suffix."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


def runs_dir() -> Path:
    """The folder that holds one sub-folder per run."""
    folder = state_dir() / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class RunResult:
    """The records of one run and what can be said of them at a glance.

    Attributes:
        run_id: The run's id.
        records: One record per call, in the order they were asked for.
        meta: What ``run.json`` holds (description, times, counts).
    """

    run_id: str
    records: list[CallRecord]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def paid_usd(self) -> float:
        """USD paid by this run: cache hits and unknown prices count zero."""
        return sum(r.paid_usd for r in self.records)

    @property
    def cache_hits(self) -> int:
        """How many calls were answered from the response cache."""
        return sum(r.cache_hit for r in self.records)

    @property
    def errors(self) -> int:
        """How many calls failed after their retries."""
        return sum(r.status == "error" for r in self.records)

    @property
    def miss_reasons(self) -> Counter[str]:
        """How often each cache-miss reason occurred."""
        return Counter(r.cache_miss_reason for r in self.records if r.cache_miss_reason)

    def to_frame(self) -> pd.DataFrame:
        """The records as a pandas DataFrame, one row per call."""
        return records_frame(self.records)

    def summary(self) -> dict[str, Any]:
        """Counts and spend in one flat dict, for logs, ``run.json`` and tables."""
        statuses = Counter(r.status for r in self.records)
        return {
            "run_id": self.run_id,
            "calls": len(self.records),
            "ok": statuses["ok"],
            "errors": statuses["error"],
            "not_run": statuses["not_run"],
            "cache_hits": self.cache_hits,
            "paid_usd": round(self.paid_usd, 8),
            "input_tokens": sum(r.input_tokens for r in self.records),
            "output_tokens": sum(r.output_tokens for r in self.records),
        }


def records_frame(records: Iterable[CallRecord]) -> pd.DataFrame:
    """Records as a DataFrame with the `CallRecord` columns in their order."""
    import pandas as pd

    # Shallow rows: dataclasses.asdict deep-copies and took seconds at 10,000 records.
    rows = [[getattr(r, name) for name in RECORD_COLUMNS] for r in records]
    return pd.DataFrame(rows, columns=list(RECORD_COLUMNS))


class RunStore:
    """Appends a run's records to disk as they complete.

    Args:
        run_id: The run to write.
        root: The runs folder; default ``<state>/runs``.
    """

    def __init__(self, run_id: str, root: Path | None = None) -> None:
        self.run_id = run_id
        self.folder = (root or runs_dir()) / run_id
        self.folder.mkdir(parents=True, exist_ok=True)
        self._records: IO[str] = (self.folder / "records.jsonl").open("a")

    def append(self, record: CallRecord) -> None:
        """Write one record and flush it to the operating system."""
        self._records.write(json.dumps(record.to_dict(), default=str) + "\n")
        self._records.flush()

    def write_meta(self, meta: Mapping[str, Any]) -> None:
        """Replace ``run.json`` atomically."""
        target = self.folder / "run.json"
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(dict(meta), indent=2, default=str))
        temporary.replace(target)

    def close(self) -> None:
        """Close the records file."""
        self._records.close()


def _read_records(path: Path) -> Iterator[CallRecord]:
    with path.open() as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield CallRecord.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError) as error:
                # A crash can leave the last line half written: skip it, say so.
                logger.warning(
                    "skipping unreadable record %s:%d (%s)", path, number, error
                )


def list_runs(root: Path | None = None) -> list[str]:
    """Run ids in the state folder, oldest first."""
    folder = root or runs_dir()
    return sorted(p.name for p in folder.iterdir() if (p / "records.jsonl").exists())


def load_run(run_id: str = "latest", root: Path | None = None) -> RunResult:
    """Read a stored run back.

    Args:
        run_id: A run id, or ``latest`` for the newest run.
        root: The runs folder; default ``<state>/runs``.

    Raises:
        RunError: No such run, or no runs at all for ``latest``.
    """
    folder = root or runs_dir()
    if run_id == "latest":
        known = list_runs(folder)
        if not known:
            raise RunError(f"no runs in {folder} yet; make one first")
        run_id = known[-1]

    path = folder / run_id / "records.jsonl"
    if not path.exists():
        raise RunError(f"no run {run_id!r} in {folder}")

    meta_path = folder / run_id / "run.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    return RunResult(run_id, list(_read_records(path)), meta)
