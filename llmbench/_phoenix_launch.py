"""Run ``phoenix serve`` with its OTLP gRPC collector bound to loopback.

This file runs as a script inside the Phoenix service environment, never in the
notebook kernel: it imports the Phoenix server and nothing from llmbench.

Phoenix 20.26 binds its gRPC collector to ``[::]`` whatever PHOENIX_HOST says,
and offers no setting to move or disable it (only its read-only mode skips the
collector, and that mode also refuses spans over HTTP). Phoenix creates the
collector through ``grpc.aio.server``; this launcher wraps that factory so each
port the server adds is bound to LLMBENCH_PHOENIX_GRPC_HOST (127.0.0.1 unless
set), then hands over to Phoenix's own command line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import grpc.aio


def _on_host(address: str, host: str) -> str:
    """``[::]:4317`` -> ``127.0.0.1:4317``; keep the port Phoenix chose."""
    _, _, port = address.rpartition(":")
    return f"{host}:{port}"


def _bind_grpc_to(host: str) -> None:
    """Make every gRPC server created from now on listen on `host` only."""
    make_server: Callable[..., Any] = grpc.aio.server

    def loopback_server(*args: Any, **kwargs: Any) -> Any:
        server = make_server(*args, **kwargs)
        add_insecure = server.add_insecure_port
        add_secure = server.add_secure_port
        server.add_insecure_port = lambda address: add_insecure(_on_host(address, host))
        server.add_secure_port = lambda address, credentials: add_secure(
            _on_host(address, host), credentials
        )
        return server

    grpc.aio.server = loopback_server


def main() -> None:
    """Bind gRPC to loopback, then run ``phoenix serve``."""
    _bind_grpc_to(os.environ.get("LLMBENCH_PHOENIX_GRPC_HOST", "127.0.0.1"))

    from phoenix.server.main import main as phoenix_main

    sys.argv = ["phoenix", "serve"]
    phoenix_main()


if __name__ == "__main__":
    main()
