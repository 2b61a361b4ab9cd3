"""Datasets: JSONL and CSV loading, the errors that name file, line and field,
and the sample data every notebook starts from."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from llmbench.datasets import Case, list_datasets, load_dataset
from llmbench.errors import DatasetError

STOPWORDS = {"a", "an", "the", "of", "in", "on", "to", "and", "or", "is", "it", "for"}
STOPWORDS |= {"by", "with", "no", "not", "you", "from", "use", "which", "as", "be"}
STOPWORDS |= {"can", "then", "must", "get", "are", "your", "that"}


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_jsonl_rows_become_cases_with_string_ids(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "tiny.jsonl",
        [
            {"id": 7, "question": "Q1", "contexts": ["a", "b"]},
            {"id": "x-2", "question": "Q2"},
        ],
    )

    dataset = load_dataset(path, required=("question",))

    assert dataset.name == "tiny"
    assert len(dataset) == 2
    assert dataset.case_ids == ["7", "x-2"]
    assert dataset.cases[0]["contexts"] == ["a", "b"]
    assert "id" not in dataset.cases[0].fields
    assert [case.case_id for case in dataset] == ["7", "x-2"]


def test_blank_lines_are_skipped_but_still_counted(tmp_path: Path) -> None:
    path = tmp_path / "gaps.jsonl"
    path.write_text('{"id": 1}\n\n{"id": 1}\n', encoding="utf-8")

    with pytest.raises(DatasetError) as caught:
        load_dataset(path)

    assert caught.value.line == 3


def test_csv_contexts_split_on_bars_or_read_as_json(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text(
        "id,question,contexts\n"
        '1,Q1,"first passage, with a comma || second passage"\n'
        '2,Q2,"[""json one"", ""json two""]"\n'
        "3,Q3,\n",
        encoding="utf-8",
    )

    dataset = load_dataset(path, required=("question",))

    assert dataset.case("1")["contexts"] == [
        "first passage, with a comma",
        "second passage",
    ]
    assert dataset.case("2")["contexts"] == ["json one", "json two"]
    assert dataset.case("3")["contexts"] == []


def test_a_name_resolves_in_the_root_folder(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "alpha.jsonl", [{"id": 1}])
    (tmp_path / "beta.csv").write_text("id\n1\n", encoding="utf-8")

    alpha = load_dataset("alpha", root=tmp_path)
    beta = load_dataset("beta", root=tmp_path)

    assert alpha.path == tmp_path / "alpha.jsonl"
    assert beta.path == tmp_path / "beta.csv"
    assert list_datasets(tmp_path) == ["alpha", "beta"]


def test_an_unknown_name_lists_the_datasets_that_exist(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "alpha.jsonl", [{"id": 1}])

    with pytest.raises(DatasetError, match="datasets here: alpha"):
        load_dataset("gamma", root=tmp_path)


@pytest.mark.parametrize(
    ("lines", "line", "field", "words"),
    [
        (['{"id": 1}', '{"id": 2, "question": '], 2, None, "invalid JSON"),
        (['{"id": 1}', "[1, 2]"], 2, None, "JSON object"),
        (['{"question": "Q"}'], 1, "id", "missing required field"),
        (['{"id": 1, "question": "Q"}', '{"id": 2}'], 2, "question", "missing"),
        (['{"id": 1, "question": ""}'], 1, "question", "empty"),
        (['{"id": 1.5, "question": "Q"}'], 1, "id", "string or an integer"),
        (['{"id": true, "question": "Q"}'], 1, "id", "string or an integer"),
        (['{"id": 1, "question": "Q", "contexts": "one"}'], 1, "contexts", "list"),
        (['{"id": 1, "question": "Q", "contexts": [1]}'], 1, "contexts", "list"),
        (
            [
                '{"id": "a", "question": "Q"}',
                '{"id": "b", "question": "Q"}',
                '{"id": "a", "question": "Q"}',
            ],
            3,
            "id",
            "first used on line 1",
        ),
    ],
)
def test_a_bad_jsonl_row_names_file_line_and_field(
    tmp_path: Path, lines: list[str], line: int, field: str | None, words: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with pytest.raises(DatasetError) as caught:
        load_dataset(path, required=("question",))

    error = caught.value
    assert (error.path, error.line, error.field) == (path, line, field)
    assert words in str(error)
    assert str(path) in str(error)
    assert f":{line}" in str(error)


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ("question\nQ\n", 1, "id", "no 'id' column"),
        ("id,question\n1,Q\n2,Q,extra\n", 3, None, "3 cells"),
        ('id,question\n1,"two\nlines"\n1,Q\n', 4, "id", "first used on line 2"),
        ("id,question\n1,Q\n2,\n", 3, "question", "empty"),
        ('id,question,contexts\n1,Q,"[broken"\n', 2, "contexts", "JSON array"),
        ('id,question,contexts\n1,Q,"[1, 2]"\n', 2, "contexts", "list of strings"),
        ("id,question\n,Q\n", 2, "id", "must not be empty"),
    ],
)
def test_a_bad_csv_row_names_its_physical_line(
    tmp_path: Path, text: str, line: int, field: str | None, words: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(DatasetError) as caught:
        load_dataset(path, required=("question",))

    error = caught.value
    assert (error.path, error.line, error.field) == (path, line, field)
    assert words in str(error)


@pytest.mark.parametrize("name", ["empty.jsonl", "empty.csv", "header_only.csv"])
def test_a_file_without_rows_is_an_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("id,question\n" if name == "header_only.csv" else "\n")

    with pytest.raises(DatasetError, match="no rows"):
        load_dataset(path)


def test_to_frame_has_a_case_id_column_and_one_per_field() -> None:
    dataset = load_dataset("qa_sample_small")

    frame = dataset.to_frame()

    assert list(frame.columns) == ["case_id", "question", "answer", "contexts", "topic"]
    assert len(frame) == 10


def test_case_lookup_and_head() -> None:
    dataset = load_dataset("qa_sample")

    first_three = dataset.head(3)

    assert len(first_three) == 3
    assert len({*first_three, *first_three}) == 3
    assert dataset.case("qn-01")["topic"] == "quillnote-plans"
    assert Case("x", {"a": 1}).get("b", "none") == "none"
    with pytest.raises(DatasetError, match="no case with id 'nope'"):
        dataset.case("nope")


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS}


def test_the_sample_data_is_complete_and_answerable_from_its_contexts() -> None:
    dataset = load_dataset(
        "qa_sample", required=("question", "answer", "contexts", "topic")
    )

    assert len(dataset) >= 40
    assert len(set(dataset.case_ids)) == len(dataset)
    quillnote = [case for case in dataset if "Quillnote" in case["question"]]
    assert len(quillnote) >= len(dataset) // 2 - 2
    for case in dataset:
        assert 2 <= len(case["contexts"]) <= 4, case.case_id
        answer = content_words(case["answer"])
        found = answer & content_words(" ".join(case["contexts"]))
        assert len(found) >= 0.75 * len(answer), case.case_id


def test_the_small_csv_sample_matches_the_jsonl_cases() -> None:
    full = load_dataset("qa_sample")

    small = load_dataset("qa_sample_small", required=("question", "answer"))

    assert small.path.suffix == ".csv"
    assert len(small) == 10
    for case in small:
        assert case.fields == full.case(case.case_id).fields
