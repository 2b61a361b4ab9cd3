"""Prompts as versioned files: one folder per prompt, one YAML file per version.

    data/prompts/<name>/
        prompt.yaml      description, tags, default params, optional order
        <label>.yaml     label, description, system, user, params, notes
        versions.lock    label -> content hash, written by `lock_prompt`

A version's ``system`` and ``user`` are Jinja2 templates. A case's fields are
top-level variables (``{{ question }}``), the whole case is ``case``
(``{{ case.question }}``) and its id is ``case_id``. Undefined variables are
errors, nothing is HTML-escaped, and block tags eat their own line
(``trim_blocks`` and ``lstrip_blocks``) so loops read naturally in YAML.

A version's content hash is the first 12 hex digits of the sha256 of its
system and user templates and its effective params (prompt defaults merged
with the version's). The lock file records the hash each label had when it was
locked; a version whose hash no longer matches was edited without a new label,
which `load_prompt` reports and `check_prompts` lists so CI can fail on it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from llmbench import config
from llmbench.datasets import Case
from llmbench.errors import PromptError, TemplateVariableError
from llmbench.prompt_files import (
    missing_variable_name,
    read_prompt_folder,
    template_environment,
)
from llmbench.records import ChatRequest, Message

logger = logging.getLogger(__name__)

LOCK_FILE = "versions.lock"


@dataclass(frozen=True)
class PromptVersion:
    """One labelled version of a prompt: its templates and model params.

    Attributes:
        prompt_name: The prompt's folder name.
        label: The version's label (its file's stem), e.g. ``v2-full-context``.
        description: What this version changes, in a sentence.
        system: The system message template, or None for no system message.
        user: The user message template.
        params: Effective model params: the prompt's defaults, then the
            version's (``temperature``, ``max_tokens``...).
        content_hash: 12 hex digits of sha256 over system, user and params.
        notes: Free text about the version, not sent to models.
        path: The version's YAML file.
        locked_hash: The hash the lock file records for this label, or None.
    """

    prompt_name: str
    label: str
    description: str
    system: str | None
    user: str
    params: Mapping[str, Any]
    content_hash: str
    notes: str = ""
    path: Path | None = None
    locked_hash: str | None = None
    _templates: tuple[jinja2.Template | None, jinja2.Template] | None = field(
        default=None, repr=False, compare=False
    )

    def __hash__(self) -> int:
        return hash((self.prompt_name, self.label, self.content_hash))

    @property
    def ref(self) -> str:
        """The version's reference, ``name@label``."""
        return f"{self.prompt_name}@{self.label}"

    @property
    def changed_since_lock(self) -> bool:
        """True when the version was edited after its label was locked."""
        return self.locked_hash is not None and self.locked_hash != self.content_hash

    def render(self, case: Case) -> tuple[Message, ...]:
        """Render the chat messages for one case.

        Args:
            case: The case whose fields fill the templates.

        Returns:
            A system message (when the version has one) and a user message.

        Raises:
            TemplateVariableError: A template uses a variable the case lacks.
        """
        system_template, user_template = self._compiled()
        variables: dict[str, Any] = {
            **case.fields,
            "case": case,
            "case_id": case.case_id,
        }

        messages: list[Message] = []
        try:
            if system_template is not None:
                messages.append(
                    {"role": "system", "content": system_template.render(variables)}
                )
            messages.append(
                {"role": "user", "content": user_template.render(variables)}
            )
        except jinja2.UndefinedError as exc:
            raise TemplateVariableError(
                missing_variable_name(exc, variables),
                prompt_version=self.ref,
                case_id=case.case_id,
            ) from None
        return tuple(messages)

    def requests(
        self,
        cases: Iterable[Case],
        models: Sequence[str] | str,
        repeats: int = 1,
        params: Mapping[str, Any] | None = None,
    ) -> list[ChatRequest]:
        """The calls to make for this version: cases x models x repeats.

        Args:
            cases: The cases to render (a `Dataset` works).
            models: litellm model strings; a single string means one model.
            repeats: How many times to call each model on each case.
            params: Params that override the version's for every call.

        Returns:
            Requests ordered by case, then model, then repeat. Each carries the
            prompt name, the label as ``prompt_version`` and the content hash
            in ``metadata["prompt_hash"]``.
        """
        if repeats < 1:
            raise PromptError(f"repeats must be at least 1, got {repeats}")
        model_list = [models] if isinstance(models, str) else list(models)
        merged = {**self.params, **(params or {})}

        requests: list[ChatRequest] = []
        for case in cases:
            messages = self.render(case)
            for model in model_list:
                for repeat in range(repeats):
                    requests.append(
                        ChatRequest(
                            case_id=case.case_id,
                            model=model,
                            messages=messages,
                            params=dict(merged),
                            repeat=repeat,
                            prompt_name=self.prompt_name,
                            prompt_version=self.label,
                            metadata={"prompt_hash": self.content_hash},
                        )
                    )
        return requests

    def _compiled(self) -> tuple[jinja2.Template | None, jinja2.Template]:
        """The compiled templates (compiled on load, or now if built by hand)."""
        if self._templates is not None:
            return self._templates
        environment = template_environment()
        system = None if self.system is None else environment.from_string(self.system)
        return system, environment.from_string(self.user)


@dataclass(frozen=True)
class Prompt:
    """A prompt and its versions.

    Attributes:
        name: The prompt's folder name.
        description: What the prompt is for.
        tags: Free labels for finding prompts.
        params: Default model params every version starts from.
        versions: Versions by label, in ``order`` from prompt.yaml, else in
            natural file order (v2 before v10).
        path: The prompt's folder.
    """

    name: str
    description: str
    tags: tuple[str, ...]
    params: Mapping[str, Any]
    versions: dict[str, PromptVersion]
    path: Path

    @property
    def labels(self) -> list[str]:
        """The version labels, in order."""
        return list(self.versions)

    def version(self, label: str) -> PromptVersion:
        """The version with this label; PromptError listing labels if none."""
        try:
            return self.versions[label]
        except KeyError:
            known = ", ".join(self.versions) or "none"
            raise PromptError(
                f"prompt {self.name!r} has no version {label!r}; versions: {known}"
            ) from None


def prompts_root(root: Path | None = None) -> Path:
    """The folder holding prompt folders: `root`, else ``<data>/prompts``."""
    return root if root is not None else config.data_dir() / "prompts"


def list_prompts(root: Path | None = None) -> list[str]:
    """The names of the prompts under `root` (folders with a prompt.yaml)."""
    folder = prompts_root(root)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / "prompt.yaml").is_file())


def load_prompt(name: str, root: Path | None = None) -> Prompt:
    """Read a prompt folder, compile its templates and compare with its lock.

    Args:
        name: The prompt's folder name under `root`.
        root: The prompts folder; default ``<data>/prompts``.

    Returns:
        The prompt with every version. A version edited since it was locked
        has ``changed_since_lock`` set, and a warning is logged for it.

    Raises:
        PromptError: The prompt does not exist, or a file is malformed (the
            error names the file, and the line where YAML or Jinja2 says).
    """
    folder = prompts_root(root) / name
    if not (folder / "prompt.yaml").is_file():
        known = ", ".join(list_prompts(root)) or "none"
        raise PromptError(
            f"no prompt named {name!r} under {prompts_root(root)} "
            f"(a folder with a prompt.yaml); prompts: {known}"
        )

    contents = read_prompt_folder(folder)
    locked = read_lock(folder)
    environment = template_environment()

    versions: dict[str, PromptVersion] = {}
    for spec in contents.versions:
        params = {**contents.params, **spec.params}
        templates = (
            None if spec.system is None else spec.compile("system", environment),
            spec.compile("user", environment),
        )
        version = PromptVersion(
            prompt_name=name,
            label=spec.label,
            description=spec.description,
            system=spec.system,
            user=spec.user,
            params=params,
            content_hash=content_hash(spec.system, spec.user, params),
            notes=spec.notes,
            path=spec.path,
            locked_hash=locked.get(spec.label),
            _templates=templates,
        )
        if version.changed_since_lock:
            logger.warning(
                "prompt %s changed since it was locked (hash %s, locked %s): "
                "give the edit a new label, or run lock_prompt(%r) to accept it",
                version.ref,
                version.content_hash,
                version.locked_hash,
                name,
            )
        versions[spec.label] = version

    return Prompt(
        name=name,
        description=contents.description,
        tags=contents.tags,
        params=contents.params,
        versions=versions,
        path=folder,
    )


def get_version(ref: str, root: Path | None = None) -> PromptVersion:
    """The version a ``name@label`` reference points to."""
    name, sep, label = ref.partition("@")
    if not sep or not name or not label:
        raise PromptError(f"a prompt version reference is 'name@label', got {ref!r}")
    return load_prompt(name, root).version(label)


def content_hash(system: str | None, user: str, params: Mapping[str, Any]) -> str:
    """12 hex digits of sha256 over the canonical JSON of the version's content."""
    canonical = json.dumps(
        {"system": system, "user": user, "params": dict(params)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def read_lock(folder: Path) -> dict[str, str]:
    """The label -> hash mapping of a prompt folder's lock file (empty if none)."""
    path = folder / LOCK_FILE
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PromptError(f"{path}: the lock file is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PromptError(f"{path}: the lock file must map labels to hashes")
    return {str(label): str(value) for label, value in data.items()}


def lock_prompt(name: str, root: Path | None = None) -> Path:
    """Record every version's current hash in the prompt's ``versions.lock``.

    Locking accepts the versions as they are now: run it after adding a
    version, and commit the lock file with it.

    Returns:
        The lock file's path.
    """
    prompt = load_prompt(name, root)
    path = prompt.path / LOCK_FILE

    lines = [
        "# Content hash of each version when it was locked. A version whose",
        "# template or params change must get a new label; run lock_prompt",
        "# (or the CLI) after adding one, and commit this file with it.",
    ]
    lines += [f"{label}: {v.content_hash}" for label, v in prompt.versions.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    logger.info("locked %s version(s) of %s in %s", len(prompt.versions), name, path)
    return path


def check_prompts(root: Path | None = None) -> list[PromptVersion]:
    """Every version, across all prompts, edited since its label was locked.

    An empty list means every locked label still has its locked content.
    Versions not in a lock file yet are not listed.
    """
    drifted: list[PromptVersion] = []
    for name in list_prompts(root):
        prompt = load_prompt(name, root)
        drifted += [v for v in prompt.versions.values() if v.changed_since_lock]
    return drifted


def diff_versions(a: PromptVersion, b: PromptVersion) -> str:
    """A unified diff of two versions' system, user and params, for reading.

    Returns:
        The diff text, headed ``--- name@a`` / ``+++ name@b``; empty when
        the two versions have the same content.
    """
    lines = difflib.unified_diff(
        _describe_version(a),
        _describe_version(b),
        fromfile=a.ref,
        tofile=b.ref,
        lineterm="",
    )
    return "\n".join(lines)


def _describe_version(version: PromptVersion) -> list[str]:
    """The version's content as lines: system, user, then params one per line."""
    lines = ["system:"]
    lines += _indented(version.system) if version.system is not None else ["  (none)"]
    lines += ["user:", *_indented(version.user), "params:"]
    lines += [
        f"  {key}: {json.dumps(value)}" for key, value in sorted(version.params.items())
    ]
    return lines


def _indented(text: str) -> list[str]:
    """The text's lines, each indented by two spaces."""
    return [f"  {line}".rstrip() for line in text.splitlines()] or ["  (empty)"]
