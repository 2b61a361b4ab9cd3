"""The package's public front and its import cost."""

from __future__ import annotations

import json
import subprocess
import sys

import llmbench

HEAVY = ("litellm", "ragas", "pandas", "matplotlib", "phoenix", "wordllama", "tiktoken")


def test_public_names_match_the_lazy_exports() -> None:
    assert set(llmbench.__all__) == {*llmbench._EXPORTS, "__version__"}


def test_every_public_name_resolves() -> None:
    for name in llmbench.__all__:
        assert getattr(llmbench, name) is not None, name


def test_import_loads_no_heavy_library() -> None:
    probe = (
        "import json, sys, llmbench; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )

    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )

    assert json.loads(loaded.stdout) == []


def test_import_sets_the_offline_switches() -> None:
    probe = "import os, llmbench; print(os.environ['LITELLM_LOCAL_MODEL_COST_MAP'])"
    env = {"PATH": "/usr/bin:/bin"}

    shown = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )

    assert shown.stdout.strip() == "True"
