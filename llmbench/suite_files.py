"""Reading suite files: every check a suite passes on load, with file and key.

A suite is read once, completely, before anything runs: the dataset exists and
has the columns the metrics read, every metric is registered and takes the
parameters given, thresholds and gate values are numbers, gate rules name
metrics of the suite. A problem raises `SuiteError` naming the file, the key
(``metrics[2].threshold``) and the reason, so a typo fails in a second rather
than after a paid run.

Custom metrics: a suite may name Python files (or importable modules) under
``metrics_module``; they are imported on load, so the metrics their
decorators register can be named in ``metrics``. A file path is relative to
the suite file and must stay inside the suite file's folder; each file is
imported once per process. Importing runs the file's code: only name files
you trust, as with any Python module.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import logging
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from llmbench.errors import (
    DatasetError,
    MetricError,
    PromptError,
    SuiteError,
)
from llmbench.gates import OUTCOME_STATISTICS, GateRule
from llmbench.records import RECORD_COLUMNS
from llmbench.redact import is_secret_name

if TYPE_CHECKING:
    from llmbench.datasets import Dataset
    from llmbench.metrics import MetricSpec

logger = logging.getLogger(__name__)

TOP_KEYS = (
    "name",
    "description",
    "dataset",
    "task",
    "metrics_module",
    "metrics",
    "gate",
    "judge",
    "baseline",
    "regression",
)
TASK_KEYS = ("prompt", "version", "model", "params", "repeats")
JUDGE_KEYS = (
    "model",
    "api_base",
    "input_usd_per_million",
    "output_usd_per_million",
    "max_concurrency",
)
REGRESSION_KEYS = ("alpha", "tolerance")

_IMPORTED: dict[Path, str] = {}


class Where:
    """Where a suite came from, for error messages: ``<file>: <key>: <reason>``."""

    def __init__(self, path: Path | None, name: str | None = None) -> None:
        self.path = path
        self.label = str(path) if path is not None else f"<suite {name or '?'}>"

    def error(self, key: str, reason: str) -> SuiteError:
        """A SuiteError naming this file and `key`."""
        return SuiteError(f"{self.label}: {key}: {reason}")


def read_yaml(path: Path) -> dict[str, Any]:
    """The top-level mapping of a suite file; SuiteError on bad YAML or shape."""
    where = Where(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise where.error("(file)", f"cannot read the file: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        key = f"line {mark.line + 1}" if mark is not None else "(YAML)"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise where.error(key, f"invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise where.error("(top level)", "a suite file must be a mapping of keys")
    return data


def check_keys(
    mapping: Any, allowed: Sequence[str], where: Where, key: str
) -> Mapping[str, Any]:
    """`mapping` if it is a mapping whose keys are all `allowed`."""
    if not isinstance(mapping, Mapping):
        raise where.error(key, f"must be a mapping, got {_kind(mapping)}")
    for name in mapping:
        if name not in allowed:
            close = difflib.get_close_matches(str(name), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise where.error(
                _join(key, str(name)),
                f"unknown key{hint} (known: {', '.join(allowed)})",
            )
    return mapping


def text(value: Any, where: Where, key: str) -> str:
    """A required, non-empty string setting."""
    if value is None:
        raise where.error(key, "is missing")
    if not isinstance(value, str) or not value.strip():
        raise where.error(key, f"must be a non-empty string, got {_kind(value)}")
    return value.strip()


def optional_text(value: Any, where: Where, key: str) -> str | None:
    """A non-empty string setting, or None when absent."""
    return None if value is None else text(value, where, key)


def number(
    value: Any,
    where: Where,
    key: str,
    *,
    low: float | None = None,
    high: float | None = None,
) -> float:
    """A finite number setting within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.error(key, f"must be a number, got {_kind(value)}")
    if not math.isfinite(value):
        raise where.error(key, f"must be a finite number, got {value}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise where.error(key, f"must be between {low} and {high}, got {value}")
    return float(value)


def load_suite_dataset(value: Any, where: Where) -> Dataset:
    """The suite's dataset: a name under data/datasets or a path."""
    from llmbench.datasets import Dataset, load_dataset

    if isinstance(value, Dataset):
        return value
    ref = text(value, where, "dataset")
    candidate = Path(ref)
    looks_like_path = candidate.suffix in (".jsonl", ".csv") or len(candidate.parts) > 1
    if looks_like_path and not candidate.is_absolute() and where.path is not None:
        candidate = where.path.parent / candidate
    try:
        return load_dataset(candidate if looks_like_path else ref)
    except DatasetError as exc:
        raise where.error("dataset", str(exc)) from exc


def dataset_columns(dataset: Dataset) -> set[str]:
    """Every field some case of the dataset has."""
    columns: set[str] = {"case_id"}
    for case in dataset.cases:
        columns.update(case.fields)
    return columns


def dataset_hash(dataset: Dataset) -> str:
    """12 hex digits of sha256 over the cases' ids and fields."""
    import json

    digest = hashlib.sha256()
    for case in dataset.cases:
        row = json.dumps([case.case_id, dict(case.fields)], sort_keys=True, default=str)
        digest.update(row.encode())
    return digest.hexdigest()[:12]


def import_metric_modules(value: Any, where: Where) -> tuple[str, ...]:
    """Import the suite's custom metric files or modules; their names."""
    if value is None:
        return ()
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, list):
        raise where.error("metrics_module", "must be a file name or a list of them")

    imported = []
    for i, entry in enumerate(entries):
        key = "metrics_module" if isinstance(value, str) else f"metrics_module[{i}]"
        ref = text(entry, where, key)
        if ref.endswith(".py"):
            _import_file(ref, where, key)
        else:
            try:
                importlib.import_module(ref)
            except ImportError as exc:
                raise where.error(key, f"cannot import module {ref!r}: {exc}") from exc
        imported.append(ref)
    return tuple(imported)


def _import_file(ref: str, where: Where, key: str) -> None:
    """Import a metrics file next to the suite file, once per process."""
    folder = where.path.parent.resolve() if where.path is not None else Path.cwd()
    path = (folder / ref).resolve()
    if not path.is_relative_to(folder):
        raise where.error(key, f"{ref!r} is outside the suite's folder {folder}")
    if not path.is_file():
        raise where.error(key, f"no such file {path}")
    if path in _IMPORTED:
        return

    name = (
        f"llmbench_suite_metrics_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
    )
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise where.error(key, f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise where.error(
            key, f"importing {path.name} failed: {type(exc).__name__}: {exc}"
        ) from exc
    _IMPORTED[path] = name
    logger.debug("imported suite metrics from %s", path)


def read_metrics(
    entries: Any, where: Where, columns: set[str]
) -> tuple[MetricSpec, ...]:
    """The suite's metric specs, each checked: registered, parameters, columns."""
    from llmbench.metrics import MetricSpec, get_metric

    if not isinstance(entries, list) or not entries:
        raise where.error("metrics", "must be a non-empty list of metrics")

    specs: list[MetricSpec] = []
    for i, entry in enumerate(entries):
        key = f"metrics[{i}]"
        if isinstance(entry, Mapping) and entry.get("threshold") is not None:
            number(entry["threshold"], where, f"{key}.threshold")
        try:
            spec = MetricSpec.parse(entry)
        except (MetricError, ValueError, TypeError) as exc:
            raise where.error(key, str(exc)) from exc
        key = f"{key} ({spec.display_name})"

        try:
            found = get_metric(spec.name)
            found.check_params(spec.params)
        except MetricError as exc:
            raise where.error(key, str(exc)) from exc
        missing = [
            n for n in found.needs if n not in columns and n not in RECORD_COLUMNS
        ]
        if missing:
            raise where.error(
                key,
                f"needs the column(s) {', '.join(missing)}, which no case of the "
                f"dataset has (columns: {', '.join(sorted(columns))})",
            )
        specs.append(spec)

    labels = [s.display_name for s in specs]
    for i, label in enumerate(labels):
        if label in labels[:i]:
            raise where.error(
                f"metrics[{i}]", f"{label!r} appears twice; give one a 'label'"
            )
    return tuple(specs)


def threshold_of(spec: MetricSpec) -> float | None:
    """The spec's threshold, else the registered metric's default."""
    from llmbench.metrics import get_metric

    return (
        spec.threshold
        if spec.threshold is not None
        else get_metric(spec.name).threshold
    )


def read_gate(
    entries: Any, where: Where, specs: Sequence[MetricSpec]
) -> tuple[GateRule, ...]:
    """The gate's rules; each names a metric of the suite it can be read from."""
    if entries is None:
        return ()
    if isinstance(entries, str | Mapping):
        entries = [entries]
    if not isinstance(entries, list):
        raise where.error("gate", "must be a list of rules")
    by_label = {spec.display_name: spec for spec in specs}

    rules: list[GateRule] = []
    for i, entry in enumerate(entries):
        key = f"gate[{i}]"
        parts = entry.split(" and ") if isinstance(entry, str) else [entry]
        for part in parts:
            try:
                rule = GateRule.parse(part)
            except ValueError as exc:
                raise where.error(key, str(exc)) from exc
            spec = by_label.get(rule.metric)
            if spec is None:
                raise where.error(
                    key,
                    f"{rule.text}: no metric labelled {rule.metric!r} in the suite "
                    f"(metrics: {', '.join(by_label)})",
                )
            if rule.statistic in OUTCOME_STATISTICS and threshold_of(spec) is None:
                raise where.error(
                    key,
                    f"{rule.text}: {rule.metric} has no threshold to pass or fail "
                    "against; give it one under metrics",
                )
            rules.append(rule)
    return tuple(rules)


def read_task(value: Any, where: Where, dataset: Dataset) -> dict[str, Any]:
    """The task section's settings, its prompt version rendered once as a check."""
    section = check_keys(value, TASK_KEYS, where, "task")
    prompt = text(section.get("prompt"), where, "task.prompt")
    version = text(section.get("version"), where, "task.version")
    model = text(section.get("model"), where, "task.model")
    params = section.get("params") or {}
    if not isinstance(params, Mapping):
        raise where.error("task.params", "must be a mapping of model parameters")
    if any(is_secret_name(str(k)) for k in params):
        raise where.error(
            "task.params",
            "API keys never go in suite files; set them in the environment",
        )
    repeats = whole_number(section.get("repeats", 1), where, "task.repeats")

    check_prompt(prompt, version, dataset, where)
    return {
        "prompt": prompt,
        "version": version,
        "model": model,
        "params": dict(params),
        "repeats": repeats,
    }


def check_prompt(prompt: str, version: str, dataset: Dataset, where: Where) -> None:
    """Load the prompt version and render the first case, so errors show now."""
    from llmbench.prompts import load_prompt

    try:
        loaded = load_prompt(prompt)
    except PromptError as exc:
        raise where.error("task.prompt", str(exc)) from exc
    try:
        found = loaded.version(version)
        if dataset.cases:
            found.render(dataset.cases[0])
    except PromptError as exc:
        raise where.error("task.version", str(exc)) from exc


def read_judge(value: Any, where: Where) -> dict[str, Any] | None:
    """The judge section's settings, or None without one."""
    if value is None:
        return None
    if isinstance(value, Mapping) and any(is_secret_name(str(k)) for k in value):
        raise where.error(
            "judge",
            "API keys never go in suite files; set LLMBENCH_JUDGE_API_KEY or the "
            "provider's variable in the environment",
        )
    section = check_keys(value, JUDGE_KEYS, where, "judge")
    settings: dict[str, Any] = {
        "model": text(section.get("model"), where, "judge.model"),
        "api_base": optional_text(section.get("api_base"), where, "judge.api_base"),
        "max_concurrency": whole_number(
            section.get("max_concurrency", 8), where, "judge.max_concurrency"
        ),
    }
    for key in ("input_usd_per_million", "output_usd_per_million"):
        if section.get(key) is not None:
            settings[key] = number(section[key], where, f"judge.{key}", low=0)
    return settings


def read_regression(value: Any, where: Where) -> dict[str, float]:
    """The regression section's settings (alpha, tolerance), defaults if absent."""
    section = check_keys(value or {}, REGRESSION_KEYS, where, "regression")
    alpha = section.get("alpha", 0.05)
    tolerance = section.get("tolerance", 0.0)
    return {
        "alpha": number(alpha, where, "regression.alpha", low=0.0, high=0.5),
        "tolerance": number(tolerance, where, "regression.tolerance", low=0.0),
    }


def whole_number(value: Any, where: Where, key: str) -> int:
    """A whole-number setting of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise where.error(key, f"must be a whole number >= 1, got {value!r}")
    return value


def _join(prefix: str, name: str) -> str:
    """A dotted key: ``task.model``; just `name` at the top level."""
    return f"{prefix}.{name}" if prefix and prefix != "(top level)" else name


def _kind(value: Any) -> str:
    """A value described for an error message."""
    if value is None:
        return "nothing"
    shown = repr(value)
    return f"{type(value).__name__} {shown[:60]}"
