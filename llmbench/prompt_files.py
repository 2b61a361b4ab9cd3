"""Reading and checking the YAML files of one prompt folder, and the Jinja2
environment their templates compile in.

Every problem is a `PromptError` whose message starts with the file (and the
line, when YAML or Jinja2 can tell it) and says what to change.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.utils import missing

from llmbench.errors import PromptError

PROMPT_FILE = "prompt.yaml"
PROMPT_KEYS = frozenset({"description", "tags", "params", "order"})
VERSION_KEYS = frozenset({"label", "description", "system", "user", "params", "notes"})
REQUIRED_VERSION_KEYS = ("label", "user")


@dataclass(frozen=True)
class VersionFile:
    """The checked content of one ``<label>.yaml`` version file.

    Attributes:
        template_lines: For ``system`` and ``user``, the file line (1-based)
            where the template's first line is, to place syntax errors.
    """

    path: Path
    label: str
    description: str
    system: str | None
    user: str
    params: dict[str, Any]
    notes: str
    template_lines: Mapping[str, int] = field(default_factory=dict)

    def compile(self, key: str, environment: jinja2.Environment) -> jinja2.Template:
        """Compile the ``system`` or ``user`` template; PromptError on bad syntax."""
        source = self.system if key == "system" else self.user
        assert source is not None
        try:
            return environment.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            template_line = exc.lineno or 1
            file_line = self.template_lines.get(key, 1) + template_line - 1
            raise PromptError(
                f"{self.path}:{file_line}: Jinja2 syntax error in the {key} "
                f"template (its line {template_line}): {exc.message}"
            ) from None


@dataclass(frozen=True)
class PromptFolder:
    """The checked content of a prompt folder, versions in their order."""

    description: str
    tags: tuple[str, ...]
    params: dict[str, Any]
    versions: list[VersionFile]


def read_prompt_folder(folder: Path) -> PromptFolder:
    """Read ``prompt.yaml`` and every version file of a prompt folder."""
    prompt_path = folder / PROMPT_FILE
    data, _ = read_yaml_mapping(prompt_path)
    _reject_unknown_keys(data, PROMPT_KEYS, prompt_path)

    description = _optional_text(data, "description", prompt_path)
    tags = _text_list(data, "tags", prompt_path)
    params = _params(data, prompt_path)
    order = _text_list(data, "order", prompt_path)

    files = sorted(
        (p for p in folder.glob("*.yaml") if p.name != PROMPT_FILE),
        key=lambda p: _natural_key(p.stem),
    )
    versions = {path.stem: read_version_file(path) for path in files}
    if not versions:
        raise PromptError(f"{folder}: the prompt has no version files (<label>.yaml)")

    unknown = [label for label in order if label not in versions]
    if unknown:
        raise PromptError(
            f"{prompt_path}: 'order' names versions with no file: "
            f"{', '.join(unknown)}; versions: {', '.join(versions)}"
        )
    ordered = [versions[label] for label in order]
    ordered += [v for label, v in versions.items() if label not in order]
    return PromptFolder(description, tuple(tags), params, ordered)


def read_version_file(path: Path) -> VersionFile:
    """Read and check one ``<label>.yaml`` file."""
    data, lines = read_yaml_mapping(path)
    _reject_unknown_keys(data, VERSION_KEYS, path)
    for key in REQUIRED_VERSION_KEYS:
        if key not in data:
            raise PromptError(f"{path}: missing required key {key!r}")

    label = data["label"]
    if not isinstance(label, str) or label != path.stem:
        raise PromptError(
            f"{path}:{lines.get('label', 1)}: label {label!r} must equal the file "
            f"name {path.stem!r}; rename the file or fix the label"
        )
    user = data["user"]
    if not isinstance(user, str):
        raise PromptError(f"{path}:{lines.get('user', 1)}: 'user' must be text")
    system = data.get("system")
    if system is not None and not isinstance(system, str):
        raise PromptError(f"{path}:{lines.get('system', 1)}: 'system' must be text")

    return VersionFile(
        path=path,
        label=label,
        description=_optional_text(data, "description", path),
        system=system,
        user=user,
        params=_params(data, path),
        notes=_optional_text(data, "notes", path),
        template_lines=lines,
    )


def read_yaml_mapping(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse a YAML file that must be a mapping.

    Returns:
        The mapping, and for each top-level key the 1-based file line where its
        value's text starts (the line after ``|`` or ``>`` for block text).
    """
    text = path.read_text(encoding="utf-8")
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        problem = exc.problem or exc.context or "cannot parse"
        raise PromptError(f"{path}:{line}: invalid YAML: {problem}") from None
    finally:
        loader.dispose()

    if not isinstance(data, dict):
        raise PromptError(f"{path}: expected a mapping of keys, got {_kind(data)}")
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            block = isinstance(value_node, yaml.ScalarNode) and value_node.style in (
                "|",
                ">",
            )
            lines[str(key_node.value)] = value_node.start_mark.line + (
                2 if block else 1
            )
    return data, lines


def _reject_unknown_keys(
    data: Mapping[str, Any], allowed: frozenset[str], path: Path
) -> None:
    """Raise on keys outside `allowed`, which are usually typos."""
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        raise PromptError(
            f"{path}: unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def _optional_text(data: Mapping[str, Any], key: str, path: Path) -> str:
    """The text under `key`, or "" when absent or null."""
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PromptError(f"{path}: {key!r} must be text, got {_kind(value)}")
    return value


def _text_list(data: Mapping[str, Any], key: str, path: Path) -> list[str]:
    """The list of strings under `key`, or [] when absent."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PromptError(f"{path}: {key!r} must be a list of strings")
    return list(value)


def _params(data: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """The model params under ``params``, or {} when absent."""
    value = data.get("params")
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise PromptError(
            f"{path}: 'params' must map parameter names to values "
            "(temperature: 0, max_tokens: 128, ...)"
        )
    return dict(value)


def _natural_key(label: str) -> list[tuple[int, int | str]]:
    """Sort key that puts v2 before v10."""
    parts = re.split(r"(\d+)", label)
    return [(0, int(part)) if part.isdigit() else (1, part) for part in parts]


def _kind(value: Any) -> str:
    """A short type name for error messages."""
    return "nothing" if value is None else type(value).__name__


class _MissingVariable(jinja2.UndefinedError):
    """An UndefinedError that remembers which name was looked up, and on what."""

    def __init__(self, message: str | None = None, *, name: Any, obj: Any) -> None:
        super().__init__(message)
        self.name = name
        self.obj = obj


class _TracingUndefined(jinja2.StrictUndefined):
    """StrictUndefined whose error carries the missing name and its owner."""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: Any = jinja2.UndefinedError,
    ) -> None:
        raise_missing = functools.partial(_MissingVariable, name=name, obj=obj)
        super().__init__(hint, obj, name, raise_missing)  # type: ignore[arg-type]


@functools.cache
def template_environment() -> jinja2.Environment:
    """The one Jinja2 environment every prompt template is compiled in."""
    return jinja2.Environment(
        undefined=_TracingUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def missing_variable_name(
    exc: jinja2.UndefinedError, variables: Mapping[str, Any]
) -> str:
    """Name the missing variable: ``foo``, or ``case.foo`` for an attribute."""
    if isinstance(exc, _MissingVariable):
        if exc.obj is missing:
            return str(exc.name)
        for owner, value in variables.items():
            if value is exc.obj:
                if isinstance(exc.name, str):
                    return f"{owner}.{exc.name}"
                return f"{owner}[{exc.name!r}]"
        return str(exc.name)

    # Any other UndefinedError: recover the name from Jinja2's message.
    found = re.search(
        r"'([^']+)' is undefined|has no (?:attribute|element) '?([^']+)'?", str(exc)
    )
    if found:
        return found.group(1) or found.group(2)
    return str(exc)
