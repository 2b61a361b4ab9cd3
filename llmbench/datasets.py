"""Datasets: the cases a prompt is run on, read from JSONL or CSV files.

A dataset is a file of rows, one case per row. Every row has an ``id`` (a
string or an integer, kept as a string) that is unique in the file; the other
columns are the case's fields, available to prompt templates by name.

``contexts`` is the one column with a fixed shape: a list of passage strings.
In JSONL it is a JSON array of strings. In CSV a cell that starts with ``[`` is
read as a JSON array of strings; any other cell is split on ``||`` (spaces
around each passage are trimmed); an empty cell is an empty list. Every other
CSV cell stays a string.

Line numbers in errors are physical lines of the file, counted from 1: in
JSONL one line per row, in CSV the header is line 1 and a row is named by the
line it starts on (a quoted cell may span several lines).
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmbench import config
from llmbench.errors import DatasetError

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

SUFFIXES = (".jsonl", ".csv")
CONTEXTS_FIELD = "contexts"
CSV_PASSAGE_SEPARATOR = "||"


@dataclass(frozen=True)
class Case:
    """One row of a dataset: an id and the fields a template can use.

    Attributes:
        case_id: The row's ``id``, as a string.
        fields: Every other column of the row (``question``, ``contexts``...).
    """

    case_id: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash(self.case_id)

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]

    def __contains__(self, name: object) -> bool:
        return name in self.fields

    def get(self, name: str, default: Any = None) -> Any:
        """The field's value, or `default` when the case lacks it."""
        return self.fields.get(name, default)


@dataclass
class Dataset:
    """The cases of one dataset file, in file order.

    Attributes:
        name: The file's stem (``qa_sample`` for ``qa_sample.jsonl``).
        path: The file the cases were read from.
        cases: The cases, in file order.
    """

    name: str
    path: Path
    cases: list[Case]

    def __len__(self) -> int:
        return len(self.cases)

    def __iter__(self) -> Iterator[Case]:
        return iter(self.cases)

    @property
    def case_ids(self) -> list[str]:
        """The case ids, in file order."""
        return [case.case_id for case in self.cases]

    def case(self, case_id: str) -> Case:
        """The case with this id; DatasetError when there is none."""
        for case in self.cases:
            if case.case_id == case_id:
                return case
        raise DatasetError(f"no case with id {case_id!r}", path=self.path, field="id")

    def head(self, n: int) -> Dataset:
        """A dataset of the first `n` cases, for quick runs."""
        return Dataset(name=self.name, path=self.path, cases=self.cases[:n])

    def to_frame(self) -> pd.DataFrame:
        """One row per case: a ``case_id`` column, then one column per field."""
        import pandas as pd

        rows = [{"case_id": case.case_id, **case.fields} for case in self.cases]
        return pd.DataFrame(rows)


def list_datasets(root: Path | None = None) -> list[str]:
    """The names of the datasets under `root` (default ``<data>/datasets``)."""
    folder = root if root is not None else config.data_dir() / "datasets"
    if not folder.is_dir():
        return []
    names = {path.stem for path in folder.iterdir() if path.suffix in SUFFIXES}
    return sorted(names)


def load_dataset(
    name_or_path: str | Path,
    root: Path | None = None,
    *,
    required: Sequence[str] = (),
) -> Dataset:
    """Read a dataset from a JSONL or CSV file and check every row.

    Args:
        name_or_path: A dataset name (``qa_sample`` resolves to
            ``<root>/qa_sample.jsonl``, else ``.csv``) or a path to a file.
        root: The folder names resolve in; default ``<data>/datasets``.
        required: Fields every row must have, non-null and non-empty, besides
            ``id`` (for example ``("question", "answer")``).

    Returns:
        The dataset, cases in file order.

    Raises:
        DatasetError: The file is missing or empty, or a row is malformed:
            invalid JSON, a missing or empty required field, a field of the
            wrong type, or a duplicate id. The error names the file, the line
            and the field.
    """
    path = _resolve(name_or_path, root)

    read = _read_csv if path.suffix == ".csv" else _read_jsonl
    rows = list(read(path))
    if not rows:
        raise DatasetError("the dataset has no rows", path=path)

    cases = _to_cases(rows, path, tuple(required))
    logger.debug("loaded %s cases from %s", len(cases), path)
    return Dataset(name=path.stem, path=path, cases=cases)


def _resolve(name_or_path: str | Path, root: Path | None) -> Path:
    """Find the file a dataset name or path refers to."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix in SUFFIXES or len(candidate.parts) > 1:
        if not candidate.is_file():
            raise DatasetError("no such dataset file", path=candidate)
        if candidate.suffix not in SUFFIXES:
            raise DatasetError(
                "unknown dataset format; use a .jsonl or .csv file", path=candidate
            )
        return candidate

    folder = root if root is not None else config.data_dir() / "datasets"
    for suffix in SUFFIXES:
        path = folder / f"{name_or_path}{suffix}"
        if path.is_file():
            return path
    known = ", ".join(list_datasets(folder)) or "none"
    raise DatasetError(
        f"no dataset named {str(name_or_path)!r} (.jsonl or .csv); "
        f"datasets here: {known}",
        path=folder,
    )


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line of a JSONL file."""
    with path.open(encoding="utf-8") as handle:
        for line_number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DatasetError(
                    f"invalid JSON at column {exc.colno}: {exc.msg}",
                    path=path,
                    line=line_number,
                ) from None
            if not isinstance(row, dict):
                raise DatasetError(
                    f"a row must be a JSON object, not {type(row).__name__}",
                    path=path,
                    line=line_number,
                )
            contexts = row.get(CONTEXTS_FIELD)
            if contexts is not None:
                _check_contexts(contexts, path, line_number)
            yield line_number, row


def _read_csv(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (start line, row) for each data row of a CSV file with a header."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        if not any(cell.strip() for cell in header):
            return
        header = [name.strip() for name in header]
        if "id" not in header:
            raise DatasetError(
                "the header has no 'id' column", path=path, line=1, field="id"
            )

        end_of_previous = reader.line_num
        for cells in reader:
            line_number = end_of_previous + 1
            end_of_previous = reader.line_num
            if not cells:
                continue
            if len(cells) != len(header):
                raise DatasetError(
                    f"the row has {len(cells)} cells but the header has {len(header)}",
                    path=path,
                    line=line_number,
                )
            row: dict[str, Any] = dict(zip(header, cells, strict=True))
            if CONTEXTS_FIELD in row:
                row[CONTEXTS_FIELD] = _split_csv_contexts(
                    row[CONTEXTS_FIELD], path, line_number
                )
            yield line_number, row


def _split_csv_contexts(cell: str, path: Path, line: int) -> list[str]:
    """Read a CSV contexts cell: a JSON array, or passages joined by ``||``."""
    text = cell.strip()
    if not text:
        return []
    if not text.startswith("["):
        return [part.strip() for part in text.split(CSV_PASSAGE_SEPARATOR)]

    try:
        passages = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"a contexts cell starting with '[' must be a JSON array: {exc.msg}",
            path=path,
            line=line,
            field=CONTEXTS_FIELD,
        ) from None
    _check_contexts(passages, path, line)
    return list(passages)


def _check_contexts(value: Any, path: Path, line: int) -> None:
    """Raise unless `value` is a list of strings."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return
    raise DatasetError(
        f"must be a list of strings, got {_describe(value)}",
        path=path,
        line=line,
        field=CONTEXTS_FIELD,
    )


def _to_cases(
    rows: Iterable[tuple[int, dict[str, Any]]], path: Path, required: tuple[str, ...]
) -> list[Case]:
    """Check ids and required fields, and turn rows into cases."""
    first_line: dict[str, int] = {}
    cases: list[Case] = []
    for line, row in rows:
        case_id = _case_id(row, path, line)
        if case_id in first_line:
            raise DatasetError(
                f"duplicate id {case_id!r} (first used on line {first_line[case_id]})",
                path=path,
                line=line,
                field="id",
            )
        first_line[case_id] = line

        for name in required:
            if name not in row:
                raise DatasetError(
                    "missing required field", path=path, line=line, field=name
                )
            if row[name] is None or row[name] == "":
                raise DatasetError(
                    "required field is empty", path=path, line=line, field=name
                )

        fields = {key: value for key, value in row.items() if key != "id"}
        cases.append(Case(case_id=case_id, fields=fields))
    return cases


def _case_id(row: Mapping[str, Any], path: Path, line: int) -> str:
    """The row's id as a non-empty string."""
    if "id" not in row:
        raise DatasetError("missing required field", path=path, line=line, field="id")
    value = row["id"]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DatasetError(
            f"must be a string or an integer, got {_describe(value)}",
            path=path,
            line=line,
            field="id",
        )
    case_id = str(value).strip()
    if not case_id:
        raise DatasetError("must not be empty", path=path, line=line, field="id")
    return case_id


def _describe(value: Any) -> str:
    """A short description of a value's type for error messages."""
    if isinstance(value, list):
        kinds = sorted({type(item).__name__ for item in value})
        return f"a list of {', '.join(kinds)}" if kinds else "an empty list"
    return type(value).__name__
