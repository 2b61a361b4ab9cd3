"""One offline prompt comparison shared by the comparison tests.

Test modules load it with ``pytest_plugins = ["compare_fixtures"]``. The run
is made once per session, in a state folder of its own, because the first call
of the offline model loads litellm and the embedding model (several seconds).
"""

from __future__ import annotations

import pytest

from llmbench import config
from llmbench.compare import Comparison, compare_prompts
from llmbench.engine import Engine

#: Cases in the shared comparison.
CASES = 8


@pytest.fixture(scope="session")
def offline_comparison(tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    """All four qa_answer versions on the offline model, first `CASES` cases."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in config.OFFLINE_DEFAULTS.items():
            patch.setenv(name, value)
        patch.setenv("LLMBENCH_STATE_DIR", str(tmp_path_factory.mktemp("state")))
        return compare_prompts("qa_answer", limit=CASES, engine=Engine(progress=False))
