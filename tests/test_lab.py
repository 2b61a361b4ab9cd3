"""`llmbench.lab`: a JupyterLab server on loopback that stops with its kernels."""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from llmbench.errors import LabError
from llmbench.lab import start_lab
from llmbench.sockets import LOOPBACK, is_loopback, listening_sockets


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_the_server_needs_its_token_and_stops_with_its_kernels(tmp_path: Path) -> None:
    home = tmp_path / "home"

    with start_lab(tmp_path, home=home) as lab:
        kernel = lab.api("api/kernels", method="POST")
        sockets = listening_sockets(lab.process.pid)
        status = lab.api("api/status")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(f"{lab.url}api/status", timeout=5)
        kernel_pids = [
            pid
            for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
            if kernel["id"] in Path(f"/proc/{pid}/cmdline").read_text(errors="ignore")
        ]

    assert status["kernels"] == 1
    assert refused.value.code == 403
    assert sockets and all(is_loopback(address) for address, _ in sockets)
    assert kernel_pids
    assert not lab.running()
    assert not any(alive(pid) for pid in kernel_pids)
    assert (home / "server.log").read_text()


def test_a_server_that_cannot_start_raises_with_its_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(LabError, match="exited") as failed:
            start_lab(tmp_path, port=port, home=tmp_path / "home", timeout_s=60)

    assert f"port {port} is not available" in str(failed.value)
