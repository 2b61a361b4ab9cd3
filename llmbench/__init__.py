"""llmbench: compare prompt versions, run eval suites, cost and trace LLM calls.

Importing llmbench is light on purpose: litellm, ragas, pandas, matplotlib and
the Phoenix clients load only where they are used.
"""

from __future__ import annotations

from llmbench.config import apply_offline_defaults

apply_offline_defaults()

from llmbench.errors import LlmbenchError  # noqa: E402
from llmbench.records import CallRecord, ChatRequest  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "CallRecord",
    "ChatRequest",
    "LlmbenchError",
    "__version__",
]
