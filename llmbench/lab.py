"""JupyterLab as a managed subprocess: started on loopback, stopped for sure.

For code that needs a real JupyterLab for a while (the browser tests, a
script that takes screenshots) rather than a person's ``make lab`` session.
`start_lab` runs the server of this environment on 127.0.0.1 with a random
token, waits until its REST API answers, and returns a `LabServer`; leaving the
``with`` block (or calling `LabServer.stop`) shuts it down through its API, and
ends whatever kernels it started if they outlive it.

The server is isolated from the user's own Jupyter state: its settings,
workspaces, runtime files and user config live in a folder of its own, while
this environment's config (``<venv>/etc/jupyter``, where `llmbench.jupyter_setup`
turns off the news announcements) and its ``llmbench`` kernel still apply. The
extension manager is read-only, so nothing asks PyPI for extension listings.

    with start_lab(Path("notebooks")) as lab:
        print(lab.lab_url("prompt_comparison.ipynb"))
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from llmbench.errors import LabError
from llmbench.sockets import LOOPBACK, free_port

logger = logging.getLogger(__name__)


@dataclass
class LabServer:
    """A running JupyterLab server started by `start_lab`.

    Attributes:
        process: The server process (its own session and process group).
        url: Base URL, ending in ``/`` (``http://127.0.0.1:8888/``).
        token: The token every request must carry.
        root_dir: The folder the file browser shows; notebook paths are
            relative to it.
        home: The folder holding the server's log, settings and runtime files.
    """

    process: subprocess.Popen[bytes]
    url: str
    token: str
    root_dir: Path
    home: Path

    @property
    def log_path(self) -> Path:
        """The server's combined stdout and stderr."""
        return self.home / "server.log"

    def lab_url(self, path: str = "", workspace: str | None = None) -> str:
        """The address that opens `path` (relative to the root) in JupyterLab.

        With a `workspace` name, the page opens in that workspace instead of
        the default one, so documents left open by earlier visits stay closed.
        """
        where = f"lab/workspaces/{workspace}/tree" if workspace else "lab/tree"
        return f"{self.url}{where}/{path}?token={self.token}"

    def api(self, path: str, method: str = "GET", timeout_s: float = 10.0) -> Any:
        """Call the server's REST API (``api/...``) and return the decoded JSON."""
        request = urllib.request.Request(
            f"{self.url}{path.lstrip('/')}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=timeout_s) as response:
            body = response.read()
        return json.loads(body) if body else None

    def running(self) -> bool:
        """True while the server process has not exited."""
        return self.process.poll() is None

    def stop(self, timeout_s: float = 15.0) -> None:
        """Shut the server and its kernels down; idempotent.

        Asks the server to shut down (it stops its kernels first), then
        terminates it and, last, any kernel process it left behind.
        """
        if not self.running():
            return
        kernels = _children(self.process.pid)

        with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
            self.api("api/shutdown", method="POST", timeout_s=5.0)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            logger.warning("JupyterLab pid %s did not shut down; terminating it",
                           self.process.pid)  # fmt: skip
            _end_group(self.process, timeout_s=5.0)

        for pid in kernels:
            _end_pid(pid, timeout_s=5.0)
        logger.info("JupyterLab on %s stopped", self.url)

    def __enter__(self) -> LabServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def start_lab(
    root_dir: Path,
    *,
    port: int | None = None,
    token: str | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    timeout_s: float = 60.0,
) -> LabServer:
    """Start JupyterLab on 127.0.0.1 and wait until it answers.

    Args:
        root_dir: The folder JupyterLab serves (its file browser's root).
        port: The TCP port; default a free one.
        token: The access token; default a random one.
        env: The server's whole environment (its kernels inherit it); default
            this process's environment. Put LLMBENCH_STATE_DIR and
            LLMBENCH_PROJECT_ROOT here to point the notebooks' state and data.
        home: A folder for the log, settings, workspaces and runtime files;
            default a new temporary folder.
        timeout_s: How long to wait for the server to answer, in seconds.

    Returns:
        The running server; stop it with `LabServer.stop` or a ``with`` block.

    Raises:
        LabError: The server exited or did not answer in time; the message
            ends with the tail of its log.
    """
    home = Path(home) if home is not None else Path(tempfile.mkdtemp(prefix="lab-"))
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    token = token or secrets.token_hex(16)
    command = _command(Path(root_dir).resolve(), port, token, home)

    environment = dict(os.environ if env is None else env)
    environment.update(
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    with (home / "server.log").open("wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=str(root_dir),
            start_new_session=True,
        )
    lab = LabServer(
        process=process,
        url=f"http://{LOOPBACK}:{port}/",
        token=token,
        root_dir=Path(root_dir).resolve(),
        home=home,
    )

    try:
        _wait_until_ready(lab, timeout_s)
    except BaseException:
        lab.stop(timeout_s=5.0)
        raise
    logger.info("JupyterLab pid %s serves %s on %s", process.pid, root_dir, lab.url)
    return lab


def _command(root_dir: Path, port: int, token: str, home: Path) -> list[str]:
    """The command line of a loopback-only, token-protected server."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--ServerApp.ip={LOOPBACK}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        f"--LabApp.user_settings_dir={home / 'settings'}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command


def _wait_until_ready(lab: LabServer, timeout_s: float) -> None:
    """Poll ``api/status`` until it answers; raise LabError if the server dies."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not lab.running():
            raise LabError(
                f"JupyterLab exited with code {lab.process.returncode} before "
                f"answering on {lab.url}; its log ends:\n{_tail(lab.log_path)}"
            )
        with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
            lab.api("api/status", timeout_s=2.0)
            return
        time.sleep(0.2)
    raise LabError(
        f"JupyterLab did not answer on {lab.url} within {timeout_s:.0f} s; "
        f"its log ends:\n{_tail(lab.log_path)}"
    )


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc; empty elsewhere)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = entry.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(entry.parent.name))
    return found


def _end_group(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGTERM the process group, wait, then SIGKILL it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _end_pid(pid: int, timeout_s: float) -> None:
    """End a process that is not our child: SIGTERM, wait, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        deadline = time.monotonic() + timeout_s
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _alive(pid):
            return
        logger.warning("process %s outlived JupyterLab; sending %s", pid, sig.name)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
    deadline = time.monotonic() + 2.0
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    with contextlib.suppress(OSError, IndexError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


def _tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log file, or a note that there is none."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
