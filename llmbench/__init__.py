"""llmbench: compare prompt versions, run eval suites, cost and trace LLM calls.

Importing llmbench is light on purpose: the names below load their modules on
first use, and litellm, ragas, pandas, matplotlib and the Phoenix clients load
only where they are needed. The offline switches (no price-map download, no
analytics, no telemetry) are set here, before any of those libraries imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from llmbench.config import apply_offline_defaults

apply_offline_defaults()

if TYPE_CHECKING:
    from llmbench.compare import Comparison, acompare_prompts, compare_prompts
    from llmbench.datasets import Case, Dataset, load_dataset
    from llmbench.engine import Engine
    from llmbench.errors import LlmbenchError
    from llmbench.prompts import Prompt, PromptVersion, load_prompt
    from llmbench.records import CallRecord, ChatRequest
    from llmbench.runs import RunResult, load_run
    from llmbench.suites import Suite, load_suite, run_suite

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "CallRecord": "llmbench.records",
    "Case": "llmbench.datasets",
    "ChatRequest": "llmbench.records",
    "Comparison": "llmbench.compare",
    "Dataset": "llmbench.datasets",
    "Engine": "llmbench.engine",
    "LlmbenchError": "llmbench.errors",
    "Prompt": "llmbench.prompts",
    "PromptVersion": "llmbench.prompts",
    "RunResult": "llmbench.runs",
    "acompare_prompts": "llmbench.compare",
    "compare_prompts": "llmbench.compare",
    "load_dataset": "llmbench.datasets",
    "load_prompt": "llmbench.prompts",
    "load_run": "llmbench.runs",
    "Suite": "llmbench.suites",
    "load_suite": "llmbench.suites",
    "run_suite": "llmbench.suites",
}

__all__ = [
    "CallRecord",
    "Case",
    "ChatRequest",
    "Comparison",
    "Dataset",
    "Engine",
    "LlmbenchError",
    "Prompt",
    "PromptVersion",
    "RunResult",
    "Suite",
    "__version__",
    "acompare_prompts",
    "compare_prompts",
    "load_dataset",
    "load_prompt",
    "load_run",
    "load_suite",
    "run_suite",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'llmbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
