"""Eval suites: does this task still pass, and what regressed since the baseline?

A suite names a dataset, a task (a prompt version on a model), the metrics to
score it with (parameters and pass thresholds) and the gate the aggregates
must meet. It lives in a YAML file under ``data/suites/``:

    name: qa_offline
    dataset: qa_sample
    task: {prompt: qa_answer, version: v2-full-context, model: offline/extractive}
    metrics_module: metrics.py          # custom metrics, next to this file
    metrics:
      - {name: token_f1, threshold: 0.2}
      - {name: length_bounds, label: concise, max_words: 60}
    gate:
      - mean(token_f1) >= 0.25
      - fail_rate(concise) <= 5%
    judge: {model: openai/gpt-4o-mini}   # only for LLM-judged metrics
    regression: {alpha: 0.05, tolerance: 0.0}

and from Python the same mapping goes to `Suite.from_dict`. Loading checks
everything (see `llmbench.suite_files`); `run_suite` / ``await arun_suite``
makes the calls, scores them and returns a `SuiteResult`; gate rules are
described in `llmbench.gates`, baselines in `llmbench.baselines`.

The judge for LLM-judged metrics, first found wins: the ``judge`` argument
(``--judge-model`` on the CLI, ``judge_model`` in the notebook), the suite's
``judge`` section, then LLMBENCH_JUDGE_MODEL. API keys never go in suite files:
they come from the environment (LLMBENCH_JUDGE_API_KEY or the provider's own
variable). Without any judge those metrics are skipped, and the results say
so; nothing is sent to a default provider.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmbench import config, suite_files
from llmbench.errors import PromptError, SuiteError
from llmbench.gates import GateRule
from llmbench.suite_files import Where

if TYPE_CHECKING:
    from llmbench.datasets import Case, Dataset
    from llmbench.engine import Engine
    from llmbench.metrics import Judge, MetricSpec
    from llmbench.runs import RunResult
    from llmbench.suite_results import SuiteResult

logger = logging.getLogger(__name__)

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Task:
    """What a suite evaluates: one prompt version on one model.

    Attributes:
        prompt: The prompt's folder name under ``data/prompts``.
        version: The version label.
        model: A litellm model string.
        params: Model params overriding the version's for every call.
        repeats: Calls per case (2+ at temperature > 0 to average out noise).
    """

    prompt: str
    version: str
    model: str
    params: Mapping[str, Any] = field(default_factory=dict)
    repeats: int = 1

    @property
    def ref(self) -> str:
        """``prompt@version``."""
        return f"{self.prompt}@{self.version}"


@dataclass(frozen=True)
class JudgeSettings:
    """The suite's LLM judge (no key: keys come from the environment).

    Attributes:
        model: A litellm model string.
        api_base: An OpenAI-compatible server's URL, or None.
        input_usd_per_million: Price per million input tokens, for a model
            litellm cannot price; None keeps litellm's price.
        output_usd_per_million: Price per million output tokens.
        max_concurrency: Judge calls in flight at once.
    """

    model: str
    api_base: str | None = None
    input_usd_per_million: float | None = None
    output_usd_per_million: float | None = None
    max_concurrency: int = 8


@dataclass(frozen=True)
class RegressionRule:
    """When a change against the baseline counts as a significant regression.

    Attributes:
        alpha: The p-value below which a paired test's difference is real.
        tolerance: How much worse a metric's mean may get (in its own units)
            before a real difference counts as a regression.
    """

    alpha: float = 0.05
    tolerance: float = 0.0


@dataclass(frozen=True)
class Suite:
    """A checked suite, ready to run. Build one with `load_suite` or `from_dict`.

    Attributes:
        name: The suite's name (the file's stem unless it says otherwise).
        dataset: The cases.
        task: The prompt version and model under test.
        metrics: The metric specs, in order; the first is the headline.
        gate: The rules every run must meet.
        description: What the suite checks.
        judge: The suite's LLM judge, or None.
        regression: The significance rule for baseline comparisons.
        baseline: The baseline file the suite names, or None for the default
            ``data/baselines/<name>.json``.
        metric_modules: Custom metric files or modules it imported.
        path: The suite file, or None for a suite built in Python.
    """

    name: str
    dataset: Dataset
    task: Task
    metrics: tuple[MetricSpec, ...]
    gate: tuple[GateRule, ...] = ()
    description: str = ""
    judge: JudgeSettings | None = None
    regression: RegressionRule = field(default_factory=RegressionRule)
    baseline: Path | None = None
    metric_modules: tuple[str, ...] = ()
    path: Path | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: Path | None = None) -> Suite:
        """Check a suite's settings and build it; the same checks as a file.

        Args:
            data: The suite's keys, as in a suite file. ``dataset`` may also be
                a loaded `Dataset`.
            path: The file it was read from (for messages and relative paths).

        Raises:
            SuiteError: Naming the file (or ``<suite name>``), the key and why.
        """
        name = data.get("name") or (path.stem if path is not None else None)
        where = Where(path, name if isinstance(name, str) else None)
        suite_files.check_keys(data, suite_files.TOP_KEYS, where, "(top level)")
        name = suite_files.text(name, where, "name")

        modules = suite_files.import_metric_modules(data.get("metrics_module"), where)
        dataset = suite_files.load_suite_dataset(data.get("dataset"), where)
        task = Task(**suite_files.read_task(data.get("task"), where, dataset))
        columns = suite_files.dataset_columns(dataset)
        metrics = suite_files.read_metrics(data.get("metrics"), where, columns)
        gate = suite_files.read_gate(data.get("gate"), where, metrics)
        judge = suite_files.read_judge(data.get("judge"), where)
        regression = suite_files.read_regression(data.get("regression"), where)

        baseline = suite_files.optional_text(data.get("baseline"), where, "baseline")
        baseline_path = None
        if baseline is not None:
            baseline_path = Path(baseline)
            if not baseline_path.is_absolute() and path is not None:
                baseline_path = path.parent / baseline_path
        return cls(
            name=name,
            dataset=dataset,
            task=task,
            metrics=metrics,
            gate=gate,
            description=str(data.get("description") or "").strip(),
            judge=JudgeSettings(**judge) if judge is not None else None,
            regression=RegressionRule(**regression),
            baseline=baseline_path,
            metric_modules=modules,
            path=path,
        )

    @property
    def hash(self) -> str:
        """12 hex digits identifying what the suite measures.

        Covers the dataset's cases, the metrics (names, parameters, thresholds,
        labels) and the gate, but not the task: a baseline made with another
        prompt version or model of the same suite has the same hash, and a
        comparison warns when the hashes differ (the yardstick changed).
        """
        measured = {
            "dataset": suite_files.dataset_hash(self.dataset),
            "metrics": [
                [s.name, dict(s.params), s.threshold, s.display_name]
                for s in self.metrics
            ],
            "gate": [rule.text for rule in self.gate],
        }
        text = json.dumps(measured, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def default_baseline(self) -> Path:
        """The baseline file: the suite's ``baseline`` or data/baselines/<name>.json."""
        return self.baseline or config.data_dir() / "baselines" / f"{self.name}.json"

    def with_task(self, **changes: Any) -> Suite:
        """The same suite on another task, e.g. ``with_task(version="v4")``."""
        task = replace(self.task, **changes)
        where = Where(self.path, self.name)
        suite_files.check_prompt(task.prompt, task.version, self.dataset, where)
        return replace(self, task=task)

    def cases(self, limit: int | None = None) -> list[Case]:
        """The suite's cases, or the first `limit` of them."""
        return self.dataset.cases[:limit] if limit else list(self.dataset.cases)


def load_suite(name_or_path: str | Path) -> Suite:
    """Read and check a suite file.

    Args:
        name_or_path: A suite name (``qa_offline`` is
            ``data/suites/qa_offline.yaml``) or a path to a YAML file.

    Raises:
        SuiteError: The file is missing or malformed; the message names the
            file, the key and the reason.
    """
    path = _resolve(name_or_path)
    return Suite.from_dict(suite_files.read_yaml(path), path)


def list_suites() -> list[str]:
    """The names of the suites under ``data/suites``."""
    folder = config.data_dir() / "suites"
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.iterdir() if p.suffix in SUFFIXES)


def resolve_judge(suite: Suite, judge: Judge | str | None = None) -> Judge | None:
    """The judge for a suite's LLM-judged metrics, or None.

    Precedence: `judge` (a `Judge`, or a model name that takes its API base
    from LLMBENCH_JUDGE_API_BASE), then the suite's ``judge`` section, then
    LLMBENCH_JUDGE_MODEL. Keys come from LLMBENCH_JUDGE_API_KEY, or the
    provider's own variable.
    """
    from llmbench.metrics import Judge
    from llmbench.metrics.judge import JUDGE_API_BASE_ENV, JUDGE_API_KEY_ENV

    if isinstance(judge, Judge):
        return judge
    key = os.environ.get(JUDGE_API_KEY_ENV) or None
    if judge:
        return Judge(
            judge, api_base=os.environ.get(JUDGE_API_BASE_ENV) or None, api_key=key
        )
    if suite.judge is not None:
        settings = suite.judge
        return Judge(
            settings.model,
            api_base=settings.api_base or os.environ.get(JUDGE_API_BASE_ENV) or None,
            api_key=key,
            max_concurrency=settings.max_concurrency,
            input_usd_per_million=settings.input_usd_per_million,
            output_usd_per_million=settings.output_usd_per_million,
        )
    return Judge.from_env()


async def arun_suite(
    suite: Suite | str | Path,
    *,
    judge: Judge | str | None = None,
    limit: int | None = None,
    engine: Engine | None = None,
) -> SuiteResult:
    """Run a suite's task on its cases, score the calls, check the gate.

    Args:
        suite: A `Suite`, a suite name or a path to a suite file.
        judge: The judge for LLM-judged metrics (a `Judge` or a model name);
            see `resolve_judge` for the fallbacks. Without one they are
            skipped and the result says so.
        limit: Only the first `limit` cases (a quick look; the gate then
            speaks for those cases only).
        engine: The engine to run the calls; default a new one.

    Returns:
        The `SuiteResult`: scores per case and metric, summaries with
        intervals, the gate's verdicts, spend of task and judge.
    """
    from llmbench.engine import Engine

    loaded = suite if isinstance(suite, Suite) else load_suite(suite)
    cases = loaded.cases(limit)
    task = loaded.task
    requests = _prompt_version(task, loaded).requests(
        cases, [task.model], task.repeats, dict(task.params)
    )

    runner = engine or Engine()
    run = await runner.arun(requests, description=f"suite {loaded.name}: {task.ref}")
    return await ascore_suite(loaded, run, judge=judge, cases=cases)


def run_suite(suite: Suite | str | Path, **kwargs: Any) -> SuiteResult:
    """`arun_suite` for scripts and the CLI (blocks until done)."""
    from llmbench.engine import run_sync

    return run_sync(arun_suite(suite, **kwargs))


async def ascore_suite(
    suite: Suite,
    run: RunResult,
    *,
    judge: Judge | str | None = None,
    cases: Sequence[Case] | None = None,
) -> SuiteResult:
    """Score an existing run with a suite's metrics and check its gate.

    Args:
        suite: The suite.
        run: The task's calls (a run made by `arun_suite`, `load_run`, or
            records built by hand).
        judge: As in `arun_suite`.
        cases: The cases the run answered; default all the suite's cases.
    """
    from llmbench.metrics import ascore
    from llmbench.suite_results import build_result

    chosen = resolve_judge(suite, judge)
    judged = _judged_labels(suite)
    if judged and chosen is None:
        logger.warning(
            "suite %s: no judge model, so %s are skipped; pass --judge-model or set "
            "judge.model in the suite",
            suite.name,
            ", ".join(judged),
        )
    answered = list(cases) if cases is not None else suite.cases()
    before = len(chosen.records) if chosen is not None else 0

    scores = await ascore(
        run.to_frame(),
        list(suite.metrics),
        cases=answered,
        judge=chosen,
        skip_unjudged=True,
    )
    judge_records = chosen.records[before:] if chosen is not None else []
    return build_result(suite, run, scores, answered, chosen, judge_records)


def score_suite(suite: Suite, run: RunResult, **kwargs: Any) -> SuiteResult:
    """`ascore_suite` for scripts (blocks until done)."""
    from llmbench.engine import run_sync

    return run_sync(ascore_suite(suite, run, **kwargs))


def _judged_labels(suite: Suite) -> list[str]:
    """The labels of the suite's LLM-judged metrics."""
    from llmbench.metrics import get_metric

    return [s.display_name for s in suite.metrics if get_metric(s.name).kind == "judge"]


def _resolve(name_or_path: str | Path) -> Path:
    """The suite file a name or path refers to."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix in SUFFIXES or len(candidate.parts) > 1:
        if not candidate.is_file():
            raise SuiteError(f"{candidate}: (file): no such suite file")
        return candidate.resolve()

    folder = config.data_dir() / "suites"
    for suffix in SUFFIXES:
        found = folder / f"{name_or_path}{suffix}"
        if found.is_file():
            return found
    known = ", ".join(list_suites()) or "none"
    raise SuiteError(
        f"{folder / f'{name_or_path}.yaml'}: (file): no such suite; suites: {known}"
    )


def _prompt_version(task: Task, suite: Suite) -> Any:
    """The task's `PromptVersion`."""
    from llmbench.prompts import load_prompt

    try:
        return load_prompt(task.prompt).version(task.version)
    except PromptError as exc:
        raise Where(suite.path, suite.name).error("task.version", str(exc)) from exc
