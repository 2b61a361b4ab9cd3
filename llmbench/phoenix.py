"""The Phoenix trace server as a local service of the project.

Phoenix runs in an environment of its own (importing its server into the
notebook kernel costs about 20 s and 450 MB), started as a subprocess and left
running between notebook sessions. One server per project: its pid, ports and
URL are recorded in ``<state>/phoenix/server.json``, and a later `start_phoenix`
reuses it after checking that the recorded process is alive, is ours, and
answers on its port.

The server listens on 127.0.0.1 only. Phoenix 20.26 offers no setting to move
its OTLP gRPC collector off ``[::]``; llmbench starts it through a small
launcher (``_phoenix_launch.py``) that binds that collector to loopback too.
Its SQLite database lives in ``<state>/phoenix`` unless PHOENIX_SQL_DATABASE_URL
points it at PostgreSQL. Telemetry and external resources are off, and the
server's environment carries no provider credentials.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmbench import config
from llmbench.errors import PhoenixError
from llmbench.sockets import free_port, is_loopback, listening_sockets, port_free

logger = logging.getLogger(__name__)

DEFAULT_PORT = 6006
DEFAULT_GRPC_PORT = 4317
HOST = "127.0.0.1"
LAUNCHER = Path(__file__).with_name("_phoenix_launch.py")

#: Variables the server inherits from the caller; everything else is left out,
#: so no provider key reaches it. PHOENIX_* settings pass through.
_INHERITED = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "SYSTEMROOT")

#: Servers started by this process, kept so they are reaped when they exit.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class PhoenixHandle:
    """A running Phoenix server.

    Attributes:
        url: Base URL of the UI and REST API (``http://127.0.0.1:6006``).
        pid: The server's process id.
        port: The HTTP port (UI, REST API, OTLP over HTTP at ``/v1/traces``).
        grpc_port: The OTLP gRPC port, bound to loopback.
        reused: True when `start_phoenix` found this server already running.
        home: The folder holding ``server.json``, ``server.log`` and the
            SQLite database.
        database: ``sqlite`` or ``postgresql`` (never the URL: it may hold a
            password).
    """

    url: str
    pid: int
    port: int
    grpc_port: int
    reused: bool
    home: Path
    database: str

    @property
    def log_path(self) -> Path:
        """The server's combined stdout and stderr."""
        return self.home / "server.log"

    @property
    def traces_endpoint(self) -> str:
        """Where OTLP/HTTP spans go."""
        return f"{self.url}/v1/traces"


class PhoenixService:
    """Start, find and stop this project's Phoenix server.

    Args:
        home: The service folder; default ``config.state_dir() / "phoenix"``.
        env_dir: The Phoenix environment; default LLMBENCH_PHOENIX_ENV, else
            ``<project root>/services/phoenix/.venv``.
    """

    def __init__(self, home: Path | None = None, env_dir: Path | None = None) -> None:
        self.home = Path(home) if home is not None else config.state_dir() / "phoenix"
        self.env_dir = env_dir

    @property
    def record_path(self) -> Path:
        """The pid/port file of the running server."""
        return self.home / "server.json"

    def python(self) -> Path:
        """The Phoenix environment's interpreter; raises PhoenixError if missing."""
        env_dir = self.env_dir or _default_env_dir()
        python = env_dir / "bin" / "python"
        if not python.exists():
            raise PhoenixError(
                f"the Phoenix environment is missing: {python} does not exist. "
                "Run `make setup` to install it, or set LLMBENCH_PHOENIX_ENV to a "
                "virtual environment that has arize-phoenix installed"
            )
        return python

    def status(self) -> PhoenixHandle | None:
        """The recorded server if it is alive, ours and answering, else None."""
        return self._running(patience_s=0.0)

    def _running(self, patience_s: float) -> PhoenixHandle | None:
        """The recorded server once it answers, waiting up to `patience_s`.

        A record whose process is gone (or is not our launcher) is removed. A
        live server busy storing spans may answer slowly; it is given time
        rather than taken for hung.
        """
        record = self._read_record()
        if record is None:
            return None

        pid = int(record["pid"])
        if not _is_our_server(pid):
            logger.info("Phoenix pid %s is gone; removing its stale record", pid)
            self.record_path.unlink(missing_ok=True)
            return None
        deadline = time.monotonic() + patience_s
        while not _healthy(record["url"], timeout_s=5.0):
            if time.monotonic() >= deadline or not _is_our_server(pid):
                return None
            time.sleep(0.5)
        return _handle(record, reused=True, home=self.home)

    def start(self, port: int | None = None, timeout_s: float = 90.0) -> PhoenixHandle:
        """Reuse the running server, or start one and wait until it answers.

        Args:
            port: HTTP port. Default PHOENIX_PORT, else 6006, else (when 6006
                is taken) any free port. A port asked for explicitly that is
                taken is an error.
            timeout_s: Seconds to wait for ``/healthz``; startup takes 15-25 s.

        Returns:
            The server, with ``reused`` telling whether it was already up.

        Raises:
            PhoenixError: The environment is missing, the port is taken, or the
                server exited or did not answer in time (with its log's tail).
        """
        python = self.python()
        self.home.mkdir(parents=True, exist_ok=True)

        with _locked(self.home / "start.lock"):
            running = self._running(patience_s=min(timeout_s, 30.0))
            if running is not None:
                if port is not None and port != running.port:
                    logger.info(
                        "Phoenix already runs on port %s; reusing it", running.port
                    )
                return running
            # Alive and ours but silent for the whole wait: hung, replace it.
            self.stop()

            http_port = _choose_port(port, "PHOENIX_PORT", DEFAULT_PORT)
            grpc_port = _choose_port(None, "PHOENIX_GRPC_PORT", DEFAULT_GRPC_PORT)
            url = f"http://{HOST}:{http_port}"
            process = self._spawn(python, http_port, grpc_port)
            _CHILDREN[process.pid] = process
            record = {
                "pid": process.pid,
                "port": http_port,
                "grpc_port": grpc_port,
                "url": url,
                "database": _database_kind(),
                "started_at": time.time(),
            }
            self.record_path.write_text(json.dumps(record, indent=2) + "\n")
            self._wait_until_healthy(process, url, timeout_s)

        handle = _handle(record, reused=False, home=self.home)
        exposed = [s for s in listening_sockets(handle.pid) if not is_loopback(s[0])]
        if exposed:
            logger.warning("Phoenix listens beyond loopback: %s", exposed)
        logger.info("Phoenix started at %s (pid %s)", url, handle.pid)
        return handle

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop the recorded server: terminate, wait, then kill.

        Returns:
            True when a running server was stopped, False when none was.
        """
        record = self._read_record()
        if record is None:
            return False

        pid = int(record["pid"])
        stopped = False
        if _is_our_server(pid):
            _terminate(pid, timeout_s)
            stopped = True
        self.record_path.unlink(missing_ok=True)
        return stopped

    def _spawn(
        self, python: Path, port: int, grpc_port: int
    ) -> subprocess.Popen[bytes]:
        """Start the launcher detached, its output appended to server.log."""
        env = {k: v for k, v in os.environ.items() if k in _INHERITED or _is_ours(k)}
        env.update(
            PHOENIX_HOST=HOST,
            PHOENIX_PORT=str(port),
            PHOENIX_GRPC_PORT=str(grpc_port),
            PHOENIX_WORKING_DIR=str(self.home),
            PHOENIX_TELEMETRY_ENABLED="false",
            PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
            LLMBENCH_PHOENIX_GRPC_HOST=HOST,
        )
        log = (self.home / "server.log").open("ab")
        with log:
            log.write(f"--- starting Phoenix on {HOST}:{port}\n".encode())
            log.flush()
            return subprocess.Popen(
                [str(python), "-I", "-u", str(LAUNCHER)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.home,
                start_new_session=True,
            )

    def _wait_until_healthy(
        self, process: subprocess.Popen[bytes], url: str, timeout_s: float
    ) -> None:
        """Poll ``/healthz``; on exit or timeout, clean up and raise with the log."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.record_path.unlink(missing_ok=True)
                raise PhoenixError(
                    f"Phoenix exited with code {process.returncode} while starting. "
                    f"Last lines of {self.home / 'server.log'}:\n{self._log_tail()}"
                )
            if _healthy(url, timeout_s=1.0):
                return
            time.sleep(0.25)

        _terminate(process.pid, 10.0)
        self.record_path.unlink(missing_ok=True)
        raise PhoenixError(
            f"Phoenix did not answer at {url}/healthz within {timeout_s:.0f} s "
            f"and was stopped. Last lines of {self.home / 'server.log'}:\n"
            f"{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 20) -> str:
        """The last lines of server.log."""
        path = self.home / "server.log"
        if not path.exists():
            return "(no log)"
        text = path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def _read_record(self) -> dict[str, Any] | None:
        """The contents of server.json, or None when absent or unreadable."""
        try:
            data = json.loads(self.record_path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and "pid" in data else None


def start_phoenix(
    port: int | None = None, timeout_s: float = 90.0, *, home: Path | None = None
) -> PhoenixHandle:
    """Start this project's Phoenix server, or reuse the one already running.

    See `PhoenixService.start`.
    """
    return PhoenixService(home).start(port=port, timeout_s=timeout_s)


def phoenix_status(*, home: Path | None = None) -> PhoenixHandle | None:
    """This project's Phoenix server if it is running and answering, else None."""
    return PhoenixService(home).status()


def stop_phoenix(*, home: Path | None = None) -> bool:
    """Stop this project's Phoenix server; False when none was running."""
    return PhoenixService(home).stop()


def _default_env_dir() -> Path:
    """LLMBENCH_PHOENIX_ENV, else the project's services/phoenix/.venv."""
    explicit = os.environ.get("LLMBENCH_PHOENIX_ENV")
    if explicit:
        return Path(explicit).expanduser()
    return config.project_root() / "services" / "phoenix" / ".venv"


def _is_ours(name: str) -> bool:
    """Phoenix settings and locale variables pass through to the server."""
    return name.startswith(("PHOENIX_", "LC_"))


def _database_kind() -> str:
    """``postgresql`` when PHOENIX_SQL_DATABASE_URL says so, else ``sqlite``."""
    url = os.environ.get("PHOENIX_SQL_DATABASE_URL", "")
    return "postgresql" if url.startswith("postgres") else "sqlite"


def _choose_port(explicit: int | None, env_name: str, default: int) -> int:
    """The explicit or configured port (which must be free), else default or any."""
    configured = os.environ.get(env_name)
    wanted = (
        explicit if explicit is not None else int(configured) if configured else None
    )
    if wanted is not None:
        if not port_free(wanted):
            raise PhoenixError(
                f"port {wanted} on {HOST} is already in use; choose another port "
                f"(argument or {env_name}) or stop what listens there"
            )
        return wanted
    if port_free(default):
        return default
    return free_port()


def _healthy(url: str, timeout_s: float) -> bool:
    """True when ``<url>/healthz`` answers 200 (no proxy, even if one is set)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/healthz", timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _is_our_server(pid: int) -> bool:
    """True when `pid` is alive and, where /proc exists, runs our launcher."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return sys.platform != "linux"
    return LAUNCHER.name.encode() in cmdline


def _terminate(pid: int, timeout_s: float) -> None:
    """SIGTERM, wait up to `timeout_s`, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    logger.warning(
        "Phoenix pid %s ignored SIGTERM for %.0f s; killing it", pid, timeout_s
    )
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie; reaps our own children."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        del _CHILDREN[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive file lock, so two starters do not race."""
    import fcntl

    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _handle(record: dict[str, Any], *, reused: bool, home: Path) -> PhoenixHandle:
    """A PhoenixHandle from a server.json record."""
    return PhoenixHandle(
        url=str(record["url"]),
        pid=int(record["pid"]),
        port=int(record["port"]),
        grpc_port=int(record["grpc_port"]),
        reused=reused,
        home=home,
        database=str(record.get("database", "sqlite")),
    )
