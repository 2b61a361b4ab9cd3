"""Running a Python snippet in a fresh interpreter with the network refused.

The snippet runs after a prelude that makes every socket connection and name
lookup raise, and records each attempt in a list named ``attempts`` (short
reprs), so the snippet can print what tried to reach the network.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

NO_NETWORK = """
import socket

attempts = []

def refuse(*args, **kwargs):
    attempts.append(repr(args)[:80])
    raise OSError("network access attempted")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
"""


def run_without_network(
    script: str, *, env: Mapping[str, str] | None = None, timeout_s: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run `script` (dedented) after the no-network prelude, from the project root."""
    return subprocess.run(
        [sys.executable, "-c", NO_NETWORK + textwrap.dedent(script)],
        cwd=PROJECT_ROOT,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
