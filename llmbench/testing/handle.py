"""`LocalServer`: start the stub server, steer it, stop it.

The server runs either on an event loop in a background thread of this process
(starts in milliseconds; for unit tests) or in a subprocess (so its CPU is not
counted against the client; for benchmarks). Both are steered the same way,
over HTTP through the control routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from types import TracebackType
from typing import Any, cast

from aiohttp import web

from llmbench.errors import ConfigError, LlmbenchError
from llmbench.testing.server import HOST, ServerStats, StubServer, start_site
from llmbench.testing.settings import FaultKind, Replies, ServerSettings

logger = logging.getLogger(__name__)

#: urllib without proxies: the environment's HTTP_PROXY must not see loopback calls.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LocalServer:
    """A running local OpenAI-compatible stub server.

    Point litellm at it with ``model="openai/<any name>"``,
    ``api_base=server.base_url`` and any api_key. Use it as a context manager,
    or call `stop` (it is safe to call twice). See `start` for the settings.
    """

    def __init__(self, port: int, backend: _ThreadBackend | _ProcessBackend) -> None:
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.base_url = f"{self.url}/v1"
        self._backend = backend

    @classmethod
    def start(
        cls,
        latency_s: float = 0.0,
        replies: Replies | None = None,
        faults: Mapping[str, float] | None = None,
        *,
        in_process: bool = True,
        port: int = 0,
        seed: int = 0,
        retry_after_s: float = 1.0,
        hang_s: float = 30.0,
        fail_first: int = 0,
        fail_first_fault: FaultKind = "429",
        cached_fraction: float = 0.0,
        embedding_dim: int = 64,
        startup_timeout_s: float = 30.0,
    ) -> LocalServer:
        """Start a stub server on 127.0.0.1 and return its handle.

        Args:
            latency_s: Seconds every answer waits (asyncio.sleep, no CPU).
            replies: Scripted replies: a list cycled in order, or a mapping from
                a substring of the last user message to a reply string or JSON
                object. None answers ``"stub reply: <first 12 words>"``, or JSON
                fitting the schema when the request asks for JSON.
            faults: Injection rate per fault kind, e.g. ``{"429": 0.1}``.
            in_process: True runs the server in a background thread; False in a
                subprocess (``python -m llmbench.testing``).
            port: The port to listen on; 0 picks a free one.
            seed: Seed of the fault draw.
            retry_after_s: Seconds announced by injected 429s.
            hang_s: Seconds a ``timeout`` fault waits before answering.
            fail_first: Fail the first N requests per distinct last user message.
            fail_first_fault: The fault those requests get.
            cached_fraction: Fraction of prompt tokens reported as cached.
            embedding_dim: Length of embedding vectors.
            startup_timeout_s: Seconds to wait for the server to listen.

        Raises:
            ConfigError: A setting is out of range.
            LlmbenchError: The server did not start in time.
        """
        settings = ServerSettings.from_mapping(
            {
                "latency_s": latency_s,
                "replies": replies,
                "faults": faults or {},
                "seed": seed,
                "retry_after_s": retry_after_s,
                "hang_s": hang_s,
                "fail_first": fail_first,
                "fail_first_fault": fail_first_fault,
                "cached_fraction": cached_fraction,
                "embedding_dim": embedding_dim,
            }
        )

        backend: _ThreadBackend | _ProcessBackend
        if in_process:
            backend = _ThreadBackend(settings, port, startup_timeout_s)
        else:
            backend = _ProcessBackend(settings, port, startup_timeout_s)
        server = cls(backend.port, backend)
        logger.debug("stub server started at %s (%s)", server.base_url, backend.kind)
        return server

    @property
    def pid(self) -> int | None:
        """The subprocess id, or None when the server runs in a thread."""
        return self._backend.pid

    @property
    def running(self) -> bool:
        """Whether the server has not been stopped."""
        return self._backend.running

    def stats(self) -> ServerStats:
        """The server's statistics (see `ServerStats`)."""
        return cast(ServerStats, self._call("GET", "/stats"))

    def settings(self) -> ServerSettings:
        """The settings in force."""
        return ServerSettings.from_mapping(self._call("GET", "/control"))

    def configure(self, **changes: Any) -> ServerSettings:
        """Change settings at run time (any `ServerSettings` field).

        Returns:
            The settings now in force.

        Raises:
            ConfigError: A key is not a setting or a value is out of range.
        """
        return ServerSettings.from_mapping(self._call("POST", "/control", changes))

    def reset(self) -> None:
        """Zero the statistics and restart the fault, script and retry sequences."""
        self._call("POST", "/reset", {})

    def stop(self) -> None:
        """Stop serving and wait until the port is closed; idempotent."""
        if self._backend.running:
            self._backend.stop()
            logger.debug("stub server at %s stopped", self.base_url)

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LocalServer {self.base_url} {self._backend.kind} {state}>"

    def _call(self, method: str, path: str, body: object = None) -> Any:
        """One JSON call to a control route."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with _OPENER.open(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = json.loads(exc.read() or b"{}").get("error", {}).get("message")
            raise ConfigError(
                f"stub server refused {method} {path}: {detail}"
            ) from None


class _ThreadBackend:
    """The server on its own event loop in a daemon thread."""

    kind = "thread"
    pid = None

    def __init__(self, settings: ServerSettings, port: int, timeout_s: float) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._thread = threading.Thread(
            target=self._run,
            args=(StubServer(settings), port),
            name="llmbench-stub-server",
            daemon=True,
        )
        self._thread.start()

        if not self._ready.wait(timeout_s):
            raise LlmbenchError(f"the stub server thread did not start in {timeout_s}s")
        if self._failure is not None:
            raise LlmbenchError(
                f"the stub server could not listen on {HOST}:{port}: {self._failure}"
            )

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self, server: StubServer, port: int) -> None:
        """The thread: serve until the loop is stopped, then clean up."""
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            self._runner, self.port = loop.run_until_complete(start_site(server, port))
        except Exception as exc:
            self._failure = exc
            loop.close()
            return
        finally:
            self._ready.set()

        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup())
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    def stop(self) -> None:
        """Stop the loop and join the thread."""
        with contextlib.suppress(RuntimeError):  # the loop already closed
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            logger.warning("the stub server thread did not stop within 10 s")


class _ProcessBackend:
    """The server in ``python -m llmbench.testing``, stopped by closing its stdin."""

    kind = "subprocess"

    def __init__(self, settings: ServerSettings, port: int, timeout_s: float) -> None:
        command = [
            sys.executable,
            "-m",
            "llmbench.testing",
            "--port",
            str(port),
            "--settings",
            json.dumps(settings.to_dict()),
            "--exit-on-stdin-eof",
        ]
        # Closed in stop(); a file, not a pipe, so a chatty child never blocks.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self.pid = self._process.pid

        try:
            line = self._first_line(timeout_s)
        except LlmbenchError:
            self.stop()
            raise
        self.port = int(line.rsplit(":", 1)[1].split("/", 1)[0])

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    def _first_line(self, timeout_s: float) -> str:
        """The base URL the subprocess prints once it listens."""
        assert self._process.stdout is not None
        fd = self._process.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        received = b""
        # TODO: select() on a pipe is POSIX-only; Windows would need a reader thread.
        while b"\n" not in received:
            left = deadline - time.monotonic()
            readable, _, _ = select.select([fd], [], [], max(left, 0))
            if not readable:
                raise LlmbenchError(
                    f"the stub server subprocess did not start in {timeout_s}s"
                )
            chunk = os.read(fd, 4096)
            if not chunk:
                raise LlmbenchError(
                    f"the stub server subprocess exited at start: {self._stderr_tail()}"
                )
            received += chunk
        return received.split(b"\n", 1)[0].decode().strip()

    def _stderr_tail(self) -> str:
        """The last lines the subprocess wrote to stderr."""
        self._process.wait(timeout=5)
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        return " | ".join(lines[-5:]) or f"exit code {self._process.returncode}"

    def stop(self) -> None:
        """Close stdin (a clean exit), then terminate, then kill if need be."""
        process = self._process
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
        self._stderr.close()
