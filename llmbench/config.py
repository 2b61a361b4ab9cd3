"""Where llmbench keeps things, and the switches it sets before libraries load.

Configuration precedence, everywhere in llmbench: an explicit argument, then a
notebook parameter (which is an explicit argument by the time it reaches the
library), then the environment (including a project ``.env`` file), then the
default written here.

Paths:
    project root   LLMBENCH_PROJECT_ROOT, else the nearest folder above the
                   working directory holding ``pyproject.toml`` or ``.git``,
                   else the working directory.
    state folder   LLMBENCH_STATE_DIR, else ``<project root>/.llmbench``: the
                   response cache, run records, the Phoenix database.
    data folder    LLMBENCH_DATA_DIR, else ``<project root>/data``: prompts,
                   datasets, suites, prices.
"""

from __future__ import annotations

import logging
import os
from functools import cache
from pathlib import Path

logger = logging.getLogger(__name__)

#: Environment defaults that keep third-party libraries from phoning home or
#: reading files behind the user's back. Set before those libraries import.
OFFLINE_DEFAULTS: dict[str, str] = {
    # litellm fetches its price map from the internet at import unless told.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    # litellm loads any .env it finds unless in production mode; llmbench
    # loads the project's .env itself, once, in `load_dotenv`.
    "LITELLM_MODE": "PRODUCTION",
    "LITELLM_TELEMETRY": "False",
    # Without it litellm's token counter fetches Hugging Face tokenizers.
    "LITELLM_OFFLINE_MODE": "true",
    "RAGAS_DO_NOT_TRACK": "true",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "PHOENIX_TELEMETRY_ENABLED": "false",
    "OTEL_SDK_DISABLED_TELEMETRY": "true",
}


def apply_offline_defaults() -> None:
    """Set the offline switches in `os.environ` unless the user set them."""
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)


def project_root() -> Path:
    """The project folder that holds ``data/`` and the state folder."""
    explicit = os.environ.get("LLMBENCH_PROJECT_ROOT")
    if explicit:
        return Path(explicit).expanduser().resolve()

    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() or (folder / ".git").exists():
            return folder
    return here


def state_dir() -> Path:
    """The folder for caches, run records and service data; created on demand."""
    explicit = os.environ.get("LLMBENCH_STATE_DIR")
    folder = Path(explicit).expanduser() if explicit else project_root() / ".llmbench"
    folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve()


def data_dir() -> Path:
    """The folder holding prompts, datasets, suites and price overrides."""
    explicit = os.environ.get("LLMBENCH_DATA_DIR")
    return (
        Path(explicit).expanduser().resolve() if explicit else project_root() / "data"
    )


@cache
def _dotenv_loaded(path: Path) -> bool:
    if not path.is_file():
        return False
    from dotenv import load_dotenv as _load  # shipped with litellm

    _load(path, override=False)
    logger.debug("loaded environment from %s", path)
    return True


def load_dotenv() -> bool:
    """Load ``<project root>/.env`` into the environment once, never overriding.

    Returns:
        True when a ``.env`` file was found and loaded.
    """
    return _dotenv_loaded(project_root() / ".env")
