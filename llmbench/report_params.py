"""Report parameters: the YAML file, and which notebook gets which value.

A parameters file, read by `load_params_file`::

    model: offline/extractive     # top-level: every notebook that declares it
    repeats: 3
    notebooks:                    # per notebook stem; wins over the top level
      eval_suite:
        suite: qa_smoke

`llmbench.reports.render_reports` takes the same shape as ``parameters``.
A notebook gets only the parameters its ``parameters`` cell declares. Unknown,
and logged with a "did you mean" when a declared name is close: a per-notebook
parameter its notebook does not declare, and a top-level one that no notebook
of the run declares. A top-level parameter that some notebooks of the run
declare is skipped quietly by the others.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llmbench.errors import ConfigError

logger = logging.getLogger(__name__)

#: The top-level key holding per-notebook parameters.
SECTIONS_KEY = "notebooks"


@dataclass(frozen=True)
class ParameterPlan:
    """The parameters one notebook gets, and those it was offered but lacks.

    Attributes:
        notebook: The notebook.
        passed: The values to inject, by name.
        unknown: Names offered to it that count as unknown (see the module).
        suggestions: For unknown names close to a declared one: that name.
    """

    notebook: Path
    passed: dict[str, Any]
    unknown: list[str]
    suggestions: dict[str, str]


def load_params_file(path: Path | str) -> dict[str, Any]:
    """Read report parameters from a YAML file (format in the module docstring).

    Dates and times stay strings, as written, so they reach notebooks intact.

    Raises:
        ConfigError: The file is missing, is not YAML, or has the wrong shape.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read parameters file {path}: {exc}") from exc

    try:
        loaded = yaml.load(text, Loader=_NoDatesLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc

    params = {} if loaded is None else loaded
    check_params_shape(params, source=str(path))
    return dict(params)


def check_params_shape(params: Any, *, source: str) -> None:
    """Raise ConfigError unless params has the shape in the module docstring."""
    if not isinstance(params, Mapping):
        raise ConfigError(f"{source}: report parameters must be a mapping of names")

    sections = params.get(SECTIONS_KEY, {})
    valid = isinstance(sections, Mapping) and all(
        isinstance(values, Mapping) for values in sections.values()
    )
    if not valid:
        raise ConfigError(
            f"{source}: {SECTIONS_KEY!r} must map notebook stems to mappings of "
            f"parameters, e.g. {SECTIONS_KEY}: {{eval_suite: {{suite: qa_smoke}}}}"
        )


def plan_parameters(
    notebooks: Sequence[Path], params: Mapping[str, Any]
) -> list[ParameterPlan]:
    """Split each notebook's offered parameters into declared and unknown ones.

    Raises:
        ConfigError: ``params`` does not have the shape in the module docstring.
    """
    from papermill import inspect_notebook

    check_params_shape(params, source="parameters")
    shared = {name: v for name, v in params.items() if name != SECTIONS_KEY}
    sections: Mapping[str, Mapping[str, Any]] = params.get(SECTIONS_KEY, {})
    declared = {path: set(inspect_notebook(str(path))) for path in notebooks}
    anywhere = set().union(*declared.values())

    stems = {path.stem for path in notebooks}
    for stem in sorted(set(sections) - stems):
        logger.debug("parameters for notebook %r: not in this run, ignored", stem)

    nowhere = [name for name in shared if name not in anywhere]
    if nowhere and len(notebooks) > 1:
        hints = {name: _closest(name, anywhere) for name in nowhere}
        subject = f"none of the {len(notebooks)} notebooks declares"
        _warn_unknown(subject, hints, anywhere)

    plans = []
    for path in notebooks:
        own = sections.get(path.stem, {})
        offered = {**shared, **own}
        names = declared[path]
        passed = {name: v for name, v in offered.items() if name in names}
        hints = {
            name: _closest(name, names if name in own else anywhere)
            for name in offered
            if name not in names and (name in own or name not in anywhere)
        }

        # In a run of several notebooks, top-level names were warned about above.
        loud = (
            hints if len(notebooks) == 1 else {n: hints[n] for n in own if n in hints}
        )
        if loud:
            _warn_unknown(f"{path.name} does not declare", loud, names)
        suggestions = {name: hint for name, hint in hints.items() if hint}
        plans.append(ParameterPlan(path, passed, list(hints), suggestions))
    return plans


class _NoDatesLoader(yaml.SafeLoader):
    """A safe YAML loader that leaves dates and times as strings."""


_NoDatesLoader.yaml_implicit_resolvers = {
    first: [pair for pair in resolvers if pair[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _closest(name: str, declared: set[str]) -> str | None:
    """The declared name closest to an unknown one, if any is close."""
    close = difflib.get_close_matches(name, sorted(declared), n=1, cutoff=0.6)
    return close[0] if close else None


def _warn_unknown(
    subject: str, hints: Mapping[str, str | None], declared: set[str]
) -> None:
    """Log one warning naming unknown parameters, with "did you mean" hints."""
    described = [
        f"{name!r} (did you mean {hint!r}?)" if hint else repr(name)
        for name, hint in hints.items()
    ]
    logger.warning(
        "%s parameter(s) %s; not passed. Declared: %s",
        subject,
        ", ".join(described),
        ", ".join(sorted(declared)) or "nothing (no cell tagged 'parameters')",
    )
