"""A sealed test environment: every state folder is temporary, no provider key
leaks in from the machine, and the offline switches are on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmbench import config

PROJECT_ROOT = Path(__file__).resolve().parents[1]

#: Environment variables that could carry a real provider's credentials.
KEY_MARKERS = ("API_KEY", "_TOKEN", "SECRET", "ACCESS_KEY")


@pytest.fixture(autouse=True)
def sealed_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point the state folder at a temporary directory and drop provider keys."""
    for name in list(os.environ):
        if any(marker in name for marker in KEY_MARKERS):
            monkeypatch.delenv(name)
    for name, value in config.OFFLINE_DEFAULTS.items():
        monkeypatch.setenv(name, value)

    state = tmp_path / "state"
    monkeypatch.setenv("LLMBENCH_STATE_DIR", str(state))
    monkeypatch.setenv("LLMBENCH_PROJECT_ROOT", str(PROJECT_ROOT))
    yield state
