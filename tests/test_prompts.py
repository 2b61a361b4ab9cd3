"""Prompts: loading versions, rendering, strict variables, the lock that catches
silent edits, diffs, and the request matrix."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from llmbench import config
from llmbench.datasets import Case, load_dataset
from llmbench.errors import PromptError, TemplateVariableError
from llmbench.prompts import (
    check_prompts,
    content_hash,
    diff_versions,
    get_version,
    list_prompts,
    load_prompt,
    lock_prompt,
)

CASE = Case(
    "c-1",
    {
        "question": "Which planet is red?",
        "contexts": ["Venus is hot.", "Mars is red."],
        "answer": "Mars",
    },
)


def make_prompt(root: Path, files: dict[str, str], name: str = "demo") -> Path:
    """Write a prompt folder: prompt.yaml plus the given version files."""
    folder = root / name
    folder.mkdir(parents=True)
    files = {"prompt.yaml": "description: A demo.\n", **files}
    for file_name, text in files.items():
        (folder / file_name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def sample_root(tmp_path: Path) -> Path:
    """A copy of the sample prompts, safe to edit."""
    root = tmp_path / "prompts"
    shutil.copytree(config.data_dir() / "prompts", root)
    return root


def test_the_sample_prompt_has_its_versions_in_order() -> None:
    prompt = load_prompt("qa_answer")

    assert "qa_answer" in list_prompts()
    assert prompt.labels[:3] == ["v1-no-context", "v2-full-context", "v3-instructions"]
    assert prompt.version("v1-no-context").params == {
        "temperature": 0,
        "max_tokens": 128,
    }
    assert prompt.version("v3-instructions").params["max_tokens"] == 64
    assert prompt.version("v2-full-context").ref == "qa_answer@v2-full-context"
    assert all(not v.changed_since_lock for v in prompt.versions.values())
    assert all(v.locked_hash == v.content_hash for v in prompt.versions.values())
    assert len(set(prompt.versions.values())) == len(prompt.versions)


def test_full_context_renders_numbered_passages_then_the_question() -> None:
    version = get_version("qa_answer@v2-full-context")

    messages = version.render(CASE)

    assert messages == (
        {
            "role": "user",
            "content": "Context:\n[1] Venus is hot.\n[2] Mars is red.\n\n"
            "Question: Which planet is red?",
        },
    )


def test_instructions_render_a_system_and_a_user_message() -> None:
    version = get_version("qa_answer@v3-instructions")

    system, user = version.render(CASE)

    assert system["role"] == "system"
    assert "I don't know" in system["content"]
    assert user["role"] == "user"
    assert user["content"].startswith("Context:\n[1] Venus is hot.")
    assert user["content"].endswith("Question: Which planet is red?")


def test_no_context_and_top_passage_versions_differ_in_the_context() -> None:
    prompt = load_prompt("qa_answer")

    bare = prompt.version("v1-no-context").render(CASE)
    top = prompt.version("v4-top-passage").render(CASE)

    assert bare[-1]["content"] == "Question: Which planet is red?"
    assert "Mars is red" not in top[-1]["content"]
    assert "[1] Venus is hot." in top[-1]["content"]


def test_case_fields_are_variables_and_also_under_case(tmp_path: Path) -> None:
    make_prompt(
        tmp_path,
        {
            "v1.yaml": "label: v1\n"
            "user: '{{ case_id }} {{ case.answer }} {{ answer }}'\n"
        },
    )

    messages = load_prompt("demo", tmp_path).version("v1").render(CASE)

    assert messages[0]["content"] == "c-1 Mars Mars"


def test_trailing_newlines_are_kept_and_nothing_is_escaped(tmp_path: Path) -> None:
    make_prompt(tmp_path, {"v1.yaml": "label: v1\nuser: |\n  <b>{{ question }}</b>\n"})

    messages = load_prompt("demo", tmp_path).version("v1").render(CASE)

    assert messages[0]["content"] == "<b>Which planet is red?</b>\n"


@pytest.mark.parametrize(
    ("template", "variable"),
    [
        ("{{ missing_field }}", "missing_field"),
        ("{{ case.missing_field }}", "case.missing_field"),
        ("{{ contexts[5] }}", "contexts[5]"),
        ("{% for x in nothing_here %}{{ x }}{% endfor %}", "nothing_here"),
        ("{{ missing_field | upper }}", "missing_field"),
    ],
)
def test_a_missing_variable_names_variable_version_and_case(
    tmp_path: Path, template: str, variable: str
) -> None:
    make_prompt(tmp_path, {"v1.yaml": f"label: v1\nuser: '{template}'\n"})
    version = load_prompt("demo", tmp_path).version("v1")

    with pytest.raises(TemplateVariableError) as caught:
        version.render(CASE)

    error = caught.value
    assert (error.variable, error.prompt_version, error.case_id) == (
        variable,
        "demo@v1",
        "c-1",
    )
    assert f"'{variable}'" in str(error)
    assert "demo@v1" in str(error)
    assert "'c-1'" in str(error)


def test_a_missing_variable_in_the_system_template_is_caught_too(
    tmp_path: Path,
) -> None:
    make_prompt(
        tmp_path, {"v1.yaml": "label: v1\nsystem: 'Be {{ tone }}.'\nuser: hi\n"}
    )

    with pytest.raises(TemplateVariableError, match="'tone'"):
        load_prompt("demo", tmp_path).version("v1").render(CASE)


def test_an_unknown_label_lists_the_labels_that_exist() -> None:
    prompt = load_prompt("qa_answer")

    with pytest.raises(PromptError) as caught:
        prompt.version("v9-nope")

    assert "'v9-nope'" in str(caught.value)
    assert "v1-no-context, v2-full-context, v3-instructions" in str(caught.value)


def test_an_unknown_prompt_lists_the_prompts_that_exist() -> None:
    with pytest.raises(PromptError, match="prompts: qa_answer"):
        load_prompt("no_such_prompt")


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("label: v1\nuser: hi\nparams: [1, 2\n", "v1.yaml:4", "invalid YAML"),
        ("label: v1\n  user: hi\n", "v1.yaml:2", "invalid YAML"),
        ("label: v1\ndescription: no user\n", "v1.yaml", "missing required key 'user'"),
        ("label: v2\nuser: hi\n", "v1.yaml:1", "must equal the file name 'v1'"),
        ("label: v1\nuser: hi\nsytem: typo\n", "v1.yaml", "unknown key(s) sytem"),
        ("label: v1\nuser: hi\nparams: 3\n", "v1.yaml", "'params' must map"),
        ("- just\n- a list\n", "v1.yaml", "expected a mapping"),
        (
            "label: v1\nuser: |\n  line one\n  {{ question }\n  line three\n",
            "v1.yaml:4",
            "Jinja2 syntax error in the user template (its line 2)",
        ),
        (
            "label: v1\nsystem: 'Be {{ tone '\nuser: hi\n",
            "v1.yaml:2",
            "syntax error in the system template",
        ),
    ],
)
def test_a_malformed_version_file_names_file_line_and_problem(
    tmp_path: Path, text: str, where: str, words: str
) -> None:
    make_prompt(tmp_path, {"v1.yaml": text})

    with pytest.raises(PromptError) as caught:
        load_prompt("demo", tmp_path)

    message = str(caught.value)
    assert f"{tmp_path / 'demo'}/{where}" in message
    assert words in message


def test_order_in_prompt_yaml_wins_over_file_order(tmp_path: Path) -> None:
    make_prompt(
        tmp_path,
        {
            "prompt.yaml": "order: [b, v10]\n",
            "a.yaml": "label: a\nuser: A\n",
            "b.yaml": "label: b\nuser: B\n",
            "v10.yaml": "label: v10\nuser: X\n",
            "v2.yaml": "label: v2\nuser: Y\n",
        },
    )

    prompt = load_prompt("demo", tmp_path)

    assert prompt.labels == ["b", "v10", "a", "v2"]


def test_files_sort_naturally_without_an_order(tmp_path: Path) -> None:
    make_prompt(
        tmp_path,
        {"v10.yaml": "label: v10\nuser: X\n", "v2.yaml": "label: v2\nuser: Y\n"},
    )

    prompt = load_prompt("demo", tmp_path)

    assert prompt.labels == ["v2", "v10"]


def test_an_order_naming_a_missing_version_is_an_error(tmp_path: Path) -> None:
    make_prompt(
        tmp_path,
        {"prompt.yaml": "order: [v1, ghost]\n", "v1.yaml": "label: v1\nuser: A\n"},
    )

    with pytest.raises(PromptError, match=r"prompt\.yaml: 'order' names .* ghost"):
        load_prompt("demo", tmp_path)


def test_the_hash_covers_templates_and_params_but_not_notes() -> None:
    base = content_hash("sys", "user {{ q }}", {"temperature": 0})

    same = content_hash("sys", "user {{ q }}", {"temperature": 0})

    assert base == same
    assert len(base) == 12
    assert content_hash(None, "user {{ q }}", {"temperature": 0}) != base
    assert content_hash("sys", "user {{q}}", {"temperature": 0}) != base
    assert content_hash("sys", "user {{ q }}", {"temperature": 0.5}) != base


def test_editing_a_locked_template_is_detected(
    sample_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = sample_root / "qa_answer" / "v2-full-context.yaml"
    path.write_text(path.read_text().replace("Question:", "Q:"), encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="llmbench.prompts"):
        prompt = load_prompt("qa_answer", sample_root)
    drifted = check_prompts(sample_root)

    edited = prompt.version("v2-full-context")
    assert edited.changed_since_lock
    assert not prompt.version("v1-no-context").changed_since_lock
    assert [v.ref for v in drifted] == ["qa_answer@v2-full-context"]
    assert "qa_answer@v2-full-context changed since it was locked" in caplog.text


def test_changing_default_params_drifts_every_version_that_inherits_them(
    sample_root: Path,
) -> None:
    path = sample_root / "qa_answer" / "prompt.yaml"
    path.write_text(path.read_text().replace("max_tokens: 128", "max_tokens: 256"))

    drifted = check_prompts(sample_root)

    # v3 sets its own max_tokens, so the new default does not reach it.
    assert "qa_answer@v3-instructions" not in [v.ref for v in drifted]
    assert "qa_answer@v2-full-context" in [v.ref for v in drifted]


def test_locking_accepts_the_current_content(sample_root: Path) -> None:
    path = sample_root / "qa_answer" / "v1-no-context.yaml"
    path.write_text(path.read_text().replace("Question:", "Q:"), encoding="utf-8")
    (sample_root / "qa_answer" / "v5-new.yaml").write_text("label: v5-new\nuser: N\n")

    lock_path = lock_prompt("qa_answer", sample_root)
    prompt = load_prompt("qa_answer", sample_root)

    assert lock_path.name == "versions.lock"
    assert check_prompts(sample_root) == []
    assert prompt.version("v5-new").locked_hash == prompt.version("v5-new").content_hash


def test_an_unlocked_version_is_not_drift(tmp_path: Path) -> None:
    make_prompt(tmp_path, {"v1.yaml": "label: v1\nuser: A\n"})

    version = load_prompt("demo", tmp_path).version("v1")

    assert version.locked_hash is None
    assert not version.changed_since_lock
    assert check_prompts(tmp_path) == []


def test_the_sample_lock_file_is_current() -> None:
    assert check_prompts() == []


def test_diff_shows_changed_system_user_and_params() -> None:
    prompt = load_prompt("qa_answer")

    diff = diff_versions(
        prompt.version("v2-full-context"), prompt.version("v3-instructions")
    )

    lines = diff.splitlines()
    assert lines[0] == "--- qa_answer@v2-full-context"
    assert lines[1] == "+++ qa_answer@v3-instructions"
    assert "-  (none)" in lines
    assert "+  Reply with one short sentence that states the answer." in lines
    assert "-  max_tokens: 128" in lines
    assert "+  max_tokens: 64" in lines
    assert "   Question: {{ question }}" in lines


def test_diff_of_a_version_with_itself_is_empty() -> None:
    version = get_version("qa_answer@v1-no-context")

    assert diff_versions(version, version) == ""


def test_requests_cover_cases_by_models_by_repeats() -> None:
    cases = load_dataset("qa_sample").head(3)
    version = get_version("qa_answer@v3-instructions")

    requests = version.requests(
        cases, ["offline/extractive", "openai/gpt-4o-mini"], repeats=2
    )

    assert len(requests) == 3 * 2 * 2
    first = requests[0]
    assert (first.case_id, first.model, first.repeat) == (
        "gk-01",
        "offline/extractive",
        0,
    )
    assert [r.repeat for r in requests[:4]] == [0, 1, 0, 1]
    assert [r.case_id for r in requests[::4]] == ["gk-01", "gk-02", "gk-03"]
    assert {r.prompt_name for r in requests} == {"qa_answer"}
    assert {r.prompt_version for r in requests} == {"v3-instructions"}
    assert first.params == {"temperature": 0, "max_tokens": 64}
    assert first.metadata == {"prompt_hash": version.content_hash}
    assert first.messages == version.render(cases.cases[0])


def test_explicit_params_override_the_versions() -> None:
    version = get_version("qa_answer@v2-full-context")

    (request,) = version.requests(
        [CASE], "offline/extractive", params={"temperature": 0.7, "seed": 3}
    )

    assert request.model == "offline/extractive"
    assert request.params == {"temperature": 0.7, "max_tokens": 128, "seed": 3}
    assert version.params == {"temperature": 0, "max_tokens": 128}


def test_requests_stop_at_the_first_case_a_template_cannot_render() -> None:
    version = get_version("qa_answer@v2-full-context")
    cases = [CASE, Case("c-2", {"question": "Q"})]

    with pytest.raises(TemplateVariableError) as caught:
        version.requests(cases, ["offline/extractive"])

    assert caught.value.case_id == "c-2"
    assert caught.value.variable == "contexts"


@pytest.mark.parametrize("ref", ["qa_answer", "@v1", "qa_answer@"])
def test_a_malformed_reference_is_an_error(ref: str) -> None:
    with pytest.raises(PromptError, match="name@label"):
        get_version(ref)
