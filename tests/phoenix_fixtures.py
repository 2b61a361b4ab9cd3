"""One Phoenix server for the whole test session (each start costs 15-25 s).

Test modules load this with ``pytest_plugins = ["phoenix_fixtures"]`` (and do
not import it), so that the session fixture is defined once and shared by
every module. It fails when the Phoenix environment is not installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from llmbench.phoenix import PhoenixHandle, free_port, start_phoenix, stop_phoenix

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PHOENIX_PYTHON = PROJECT_ROOT / "services" / "phoenix" / ".venv" / "bin" / "python"

#: A provider key set while the server starts; it must not reach the server.
FAKE_PROVIDER_KEY = "sk-fixture0123456789abcdefghij"


@pytest.fixture(scope="session")
def phoenix_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoenixHandle]:
    """A Phoenix server on free loopback ports with its own folder."""
    if not PHOENIX_PYTHON.exists():
        pytest.fail("the Phoenix environment is not installed; run `make setup`")
    home = tmp_path_factory.mktemp("phoenix")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_API_KEY", FAKE_PROVIDER_KEY)
        patch.setenv("PHOENIX_GRPC_PORT", str(free_port()))
        patch.delenv("PHOENIX_SQL_DATABASE_URL", raising=False)
        handle = start_phoenix(port=free_port(), home=home)
    yield handle
    stop_phoenix(home=home)
