"""The Phoenix service: start, reuse, status, stop, and what it exposes."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from llmbench.errors import PhoenixError
from llmbench.phoenix import (
    PhoenixHandle,
    PhoenixService,
    phoenix_status,
    start_phoenix,
    stop_phoenix,
)
from llmbench.records import CallRecord, ChatRequest
from llmbench.sockets import free_port, is_loopback, listening_sockets, port_free
from llmbench.traces import Tracer

pytest_plugins = ["phoenix_fixtures"]

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
PHOENIX_PYTHON = PROJECT_ROOT / "services" / "phoenix" / ".venv" / "bin" / "python"

needs_phoenix_env = pytest.mark.skipif(
    not PHOENIX_PYTHON.exists(),
    reason="the Phoenix environment is not installed; run `make setup`",
)


def fake_env(tmp_path: Path, script: str) -> Path:
    """A stand-in Phoenix environment whose python runs `script` (sh)."""
    env_dir = tmp_path / "fake-env"
    python = env_dir / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n" + script)
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return env_dir


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def call(run_id: str, index: int) -> tuple[ChatRequest, CallRecord]:
    """A small synthetic call and its record."""
    request = ChatRequest(
        case_id=f"case-{index}",
        model="offline/extractive",
        messages=({"role": "user", "content": f"question {index}"},),
    )
    record = CallRecord(
        run_id=run_id,
        case_id=request.case_id,
        prompt_name=None,
        prompt_version=None,
        model=request.model,
        repeat=0,
        output_text=f"answer {index}",
        input_tokens=5,
        output_tokens=2,
        latency_s=0.01,
        timestamp=datetime.now(UTC).isoformat(),
    )
    return request, record


def test_listening_sockets_of_this_process() -> None:
    with socket.socket() as server, socket.socket(socket.AF_INET6) as wide:
        server.bind(("127.0.0.1", 0))
        server.listen()
        wide.bind(("::", 0))
        wide.listen()
        port, wide_port = server.getsockname()[1], wide.getsockname()[1]

        sockets = listening_sockets(os.getpid())
        taken = port_free(port)

    assert ("127.0.0.1", port) in sockets
    assert ("::", wide_port) in sockets
    assert taken is False
    assert is_loopback("127.0.0.1") and is_loopback("::ffff:127.0.0.1")
    assert is_loopback("::1") and not is_loopback("::")
    assert not is_loopback("0.0.0.0")


def test_missing_environment_says_to_run_make_setup(tmp_path: Path) -> None:
    service = PhoenixService(home=tmp_path / "phoenix", env_dir=tmp_path / "none")

    with pytest.raises(PhoenixError, match="make setup"):
        service.start()


def test_missing_environment_found_through_llmbench_phoenix_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMBENCH_PHOENIX_ENV", str(tmp_path / "elsewhere"))

    with pytest.raises(PhoenixError, match="elsewhere"):
        start_phoenix(home=tmp_path / "phoenix")


def test_server_that_exits_reports_the_tail_of_its_log(tmp_path: Path) -> None:
    env_dir = fake_env(tmp_path, "echo 'cannot open database: disk full' >&2\nexit 3\n")
    service = PhoenixService(home=tmp_path / "phoenix", env_dir=env_dir)

    with pytest.raises(PhoenixError) as failure:
        service.start(port=free_port(), timeout_s=20)

    assert "exited with code 3" in str(failure.value)
    assert "cannot open database: disk full" in str(failure.value)
    assert not service.record_path.exists()


def test_server_that_never_answers_is_stopped_after_the_timeout(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "child.pid"
    env_dir = fake_env(
        tmp_path, f"echo $$ > {pid_file}\necho 'still migrating'\nsleep 60\n"
    )
    service = PhoenixService(home=tmp_path / "phoenix", env_dir=env_dir)

    with pytest.raises(PhoenixError) as failure:
        service.start(port=free_port(), timeout_s=1.5)

    assert "did not answer" in str(failure.value)
    assert "still migrating" in str(failure.value)
    assert not alive(int(pid_file.read_text()))
    assert not service.record_path.exists()


def test_a_port_asked_for_that_is_taken_is_an_error(tmp_path: Path) -> None:
    env_dir = fake_env(tmp_path, "sleep 60\n")
    service = PhoenixService(home=tmp_path / "phoenix", env_dir=env_dir)

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PhoenixError, match=f"port {port} .* already in use"):
            service.start(port=port)


def test_status_and_stop_without_a_server(tmp_path: Path) -> None:
    home = tmp_path / "phoenix"

    assert phoenix_status(home=home) is None
    assert stop_phoenix(home=home) is False


def test_a_stale_record_is_removed_not_reused(tmp_path: Path) -> None:
    home = tmp_path / "phoenix"
    home.mkdir()
    gone = subprocess.Popen(["true"])
    gone.wait()
    record = {"pid": gone.pid, "port": 1, "grpc_port": 2, "url": "http://127.0.0.1:1"}
    (home / "server.json").write_text(json.dumps(record))

    status = phoenix_status(home=home)

    assert status is None
    assert not (home / "server.json").exists()


def test_a_live_process_that_is_not_phoenix_is_never_stopped(tmp_path: Path) -> None:
    home = tmp_path / "phoenix"
    home.mkdir()
    other = subprocess.Popen(["sleep", "30"])
    record = {"pid": other.pid, "port": 1, "grpc_port": 2, "url": "http://127.0.0.1:1"}
    (home / "server.json").write_text(json.dumps(record))

    try:
        stopped = stop_phoenix(home=home)
        still_running = other.poll() is None
    finally:
        other.kill()
        other.wait()

    assert stopped is False
    assert still_running


@pytest.mark.phoenix
def test_start_reuses_the_running_server(phoenix_server: PhoenixHandle) -> None:
    again = start_phoenix(home=phoenix_server.home)
    status = phoenix_status(home=phoenix_server.home)

    assert again.reused is True
    assert again.pid == phoenix_server.pid
    assert again.url == phoenix_server.url
    assert status is not None and status.pid == phoenix_server.pid
    assert phoenix_server.reused is False


@pytest.mark.phoenix
def test_server_listens_on_loopback_only(phoenix_server: PhoenixHandle) -> None:
    sockets = listening_sockets(phoenix_server.pid)

    assert ("127.0.0.1", phoenix_server.port) in sockets
    grpc_hosts = {host for host, port in sockets if port == phoenix_server.grpc_port}
    assert grpc_hosts and grpc_hosts <= {"127.0.0.1", "::ffff:127.0.0.1"}
    assert all(is_loopback(host) for host, _ in sockets)
    if shutil.which("ss"):
        listing = subprocess.run(
            ["ss", "-ltnpH"], capture_output=True, text=True, check=True
        ).stdout
        ours = [
            line
            for line in listing.splitlines()
            if f"pid={phoenix_server.pid}," in line
        ]
        addresses = {line.split()[3] for line in ours}
        assert f"127.0.0.1:{phoenix_server.port}" in addresses
        assert all(
            a.startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:")) for a in addresses
        )


@pytest.mark.phoenix
def test_server_environment_is_private_and_offline(
    phoenix_server: PhoenixHandle,
) -> None:
    raw = Path(f"/proc/{phoenix_server.pid}/environ").read_bytes().decode()
    environ = dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)

    assert "sk-fixture" not in raw  # set as OPENAI_API_KEY while it started
    assert not [name for name in environ if "API_KEY" in name]
    assert environ["PHOENIX_HOST"] == "127.0.0.1"
    assert environ["PHOENIX_TELEMETRY_ENABLED"] == "false"
    assert environ["PHOENIX_ALLOW_EXTERNAL_RESOURCES"] == "false"
    assert environ["PHOENIX_WORKING_DIR"] == str(phoenix_server.home)
    assert (phoenix_server.home / "phoenix.db").exists()
    assert phoenix_server.log_path.exists()


@pytest.mark.phoenix
@needs_phoenix_env
def test_phoenix_dying_mid_run_costs_one_warning_and_no_results(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOENIX_GRPC_PORT", str(free_port()))
    home = tmp_path / "phoenix"
    handle = start_phoenix(port=free_port(), home=home)
    tracer = Tracer(handle.url, project="dies-mid-run")
    calls = [call("run-dies", i) for i in range(40)]

    for request, record in calls[:20]:
        tracer.on_call(request, record)
    tracer.flush()
    os.kill(handle.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while alive(handle.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with caplog.at_level("WARNING"):
        for request, record in calls[20:]:
            tracer.on_call(request, record)
        tracer.flush()
        for request, record in calls[:5]:
            tracer.on_call(request, record)
        tracer.shutdown()
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]

    assert tracer.stats.spans == 45
    assert tracer.stats.exported == 20
    assert tracer.stats.dropped == 25
    assert len(warnings) == 1
    assert "tracing is paused and the run goes on" in warnings[0].getMessage()
    assert phoenix_status(home=home) is None
    assert stop_phoenix(home=home) is False


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[str]:
    """A throwaway PostgreSQL 15 on loopback; yields its database URL."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL server binaries are absent ({PG_BIN})")
    folder = Path(tempfile.mkdtemp(prefix="llmbench-pg-"))
    user = "llmbench"
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    else:
        user = getpass.getuser()
    port = free_port()
    data = folder / "data"
    subprocess.run(
        [
            *as_postgres,
            str(PG_BIN / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            user,
        ],
        check=True,
        capture_output=True,
    )
    options = f"-h 127.0.0.1 -p {port} -k {folder}"
    pg_ctl = [*as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        [*pg_ctl, "-o", options, "-l", str(folder / "pg.log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://{user}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def count_rows(database_url: str, table: str) -> int:
    """Rows in `table`, counted with psql."""
    psql = shutil.which("psql") or str(PG_BIN / "psql")
    out = subprocess.run(
        [psql, database_url, "-tAc", f"select count(*) from {table}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip())


@pytest.mark.phoenix
@needs_phoenix_env
def test_phoenix_on_postgresql_stores_every_span_then_stops(
    tmp_path: Path, postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOENIX_SQL_DATABASE_URL", postgres)
    monkeypatch.setenv("PHOENIX_GRPC_PORT", str(free_port()))
    home = tmp_path / "phoenix"
    handle = start_phoenix(port=free_port(), home=home)
    tracer = Tracer(handle.url, project="team")

    for request, record in (call("run-pg", i) for i in range(25)):
        tracer.on_call(request, record)
    tracer.shutdown()
    deadline = time.monotonic() + 20
    while count_rows(postgres, "spans") < 25 and time.monotonic() < deadline:
        time.sleep(0.3)
    rows = count_rows(postgres, "spans")
    stopped = stop_phoenix(home=home)

    assert handle.database == "postgresql"
    assert not (home / "phoenix.db").exists()
    assert rows == 25
    assert stopped is True
    assert not alive(handle.pid)
    assert not (home / "server.json").exists()
    assert stop_phoenix(home=home) is False
