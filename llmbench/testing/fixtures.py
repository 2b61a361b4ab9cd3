"""A pytest fixture for the stub server.

Enable it with ``pytest_plugins = ["llmbench.testing.fixtures"]`` in a
conftest.py or a test module, then ask for ``local_server``. Change its
behaviour inside the test with ``local_server.configure(...)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmbench.testing.handle import LocalServer


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    """A fresh in-process stub server for one test, stopped after it."""
    with LocalServer.start() as server:
        yield server
