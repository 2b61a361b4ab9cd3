"""Every error llmbench raises on purpose.

All of them derive from `LlmbenchError`, so a caller (the CLI, a notebook, a CI
script) can catch one class. Each message says what failed, where, and how to
fix it when there is a fix.

    LlmbenchError
    ├── ConfigError            a setting, path or environment variable is wrong
    ├── DatasetError           a dataset file or row is malformed (file, line, field)
    ├── PromptError            a prompt file is malformed, or a version is unknown
    │   └── TemplateVariableError   a template needs a variable the case lacks
    ├── SuiteError             a suite file is malformed (file, key, reason)
    ├── MetricError            a metric is unknown or cannot score its inputs
    │   └── JudgeNotConfiguredError  an LLM-judge metric has no judge model
    ├── BudgetExceededError    a run stopped because its USD budget ran out
    ├── RunError               a run could not be read, written or resumed
    ├── PhoenixError           the Phoenix service cannot start or be reached
    ├── LabError               a managed JupyterLab server cannot start or answer
    └── ReportError            a notebook report failed to render
"""

from __future__ import annotations

from pathlib import Path


class LlmbenchError(Exception):
    """The base of every error llmbench raises on purpose."""


class ConfigError(LlmbenchError):
    """A setting, path or environment variable is missing or invalid."""


class DatasetError(LlmbenchError):
    """A dataset file or one of its rows is malformed.

    Attributes:
        path: The dataset file.
        line: The 1-based line (JSONL) or row (CSV, header is line 1), if known.
        field: The offending field, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.field = field
        where = str(self.path) if line is None else f"{self.path}:{line}"
        if field is not None:
            where += f" (field {field!r})"
        super().__init__(f"{where}: {message}")


class PromptError(LlmbenchError):
    """A prompt file is malformed, or a prompt or version does not exist."""


class TemplateVariableError(PromptError):
    """A template refers to a variable the case does not provide.

    Attributes:
        variable: The missing variable's name.
        prompt_version: The prompt version being rendered (``name@label``).
        case_id: The case being rendered.
    """

    def __init__(self, variable: str, *, prompt_version: str, case_id: str) -> None:
        self.variable = variable
        self.prompt_version = prompt_version
        self.case_id = case_id
        super().__init__(
            f"template variable {variable!r} is undefined when rendering prompt "
            f"{prompt_version} for case {case_id!r}; add the field to the "
            "dataset or remove it from the template"
        )


class SuiteError(LlmbenchError):
    """A suite file is malformed: names the file, the key and the reason."""


class MetricError(LlmbenchError):
    """A metric is unknown, misconfigured, or cannot score its inputs."""


class JudgeNotConfiguredError(MetricError):
    """An LLM-judge metric was asked for without a judge model.

    llmbench never falls back to a default provider; pass `judge_model` (or
    set LLMBENCH_JUDGE_MODEL) to score these metrics.
    """


class BudgetExceededError(LlmbenchError):
    """A run stopped scheduling calls because its USD budget would be crossed.

    The completed records are saved before this is raised; the calls that were
    not made are recorded with ``status == "not_run"`` and reason ``budget``.

    Attributes:
        budget_usd: The budget that was set.
        spent_usd: What the run spent before stopping.
        not_run: How many calls were not made.
        run_id: The run whose records were saved.
    """

    def __init__(
        self, *, budget_usd: float, spent_usd: float, not_run: int, run_id: str
    ) -> None:
        self.budget_usd = budget_usd
        self.spent_usd = spent_usd
        self.not_run = not_run
        self.run_id = run_id
        super().__init__(
            f"run {run_id} stopped at ${spent_usd:.4f} of its ${budget_usd:.4f} "
            f"budget; {not_run} call(s) were not made. Raise the budget and run "
            "again: completed calls come from the cache and are not paid twice"
        )


class RunError(LlmbenchError):
    """A run's records could not be read, written or resumed."""


class PhoenixError(LlmbenchError):
    """The Phoenix service cannot be started, reached or queried."""


class LabError(LlmbenchError):
    """A JupyterLab server started by `llmbench.lab` exited or did not answer."""


class ReportError(LlmbenchError):
    """One or more notebook reports failed to render."""
