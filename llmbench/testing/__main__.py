"""Run the stub server in the foreground: ``python -m llmbench.testing``.

The first line on stdout is the base URL (``http://127.0.0.1:<port>/v1``);
nothing else is written there. SIGTERM or SIGINT stop it, and so does the end
of stdin with ``--exit-on-stdin-eof`` (how `LocalServer` stops its subprocess,
and why the server never outlives a parent that died).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from llmbench.errors import ConfigError
from llmbench.testing.server import HOST, StubServer, start_site
from llmbench.testing.settings import FAULT_KINDS, ServerSettings


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, serve until told to stop, return the exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = ServerSettings.from_mapping(_settings_from(args))
    except (ConfigError, ValueError, OSError) as exc:
        print(f"llmbench.testing: {exc}", file=sys.stderr)
        return 2

    asyncio.run(_serve(settings, args.port, args.exit_on_stdin_eof))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m llmbench.testing",
        description="A local OpenAI-compatible stub server on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, help="seconds per answer")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND=RATE",
        help=f"inject a fault at a rate; KIND is one of {', '.join(FAULT_KINDS)}",
    )
    parser.add_argument("--seed", type=int, help="seed of the fault draw")
    parser.add_argument("--retry-after", type=float, help="seconds announced by 429s")
    parser.add_argument("--hang", type=float, help="seconds a timeout fault waits")
    parser.add_argument("--fail-first", type=int, help="fail the first N per message")
    parser.add_argument("--fail-first-fault", choices=FAULT_KINDS)
    parser.add_argument("--cached-fraction", type=float, help="prompt share cached")
    parser.add_argument("--embedding-dim", type=int, help="embedding vector length")
    parser.add_argument(
        "--replies", type=Path, help="a JSON file: a list of replies or a mapping"
    )
    parser.add_argument(
        "--settings", help="a JSON object of settings; the flags above override it"
    )
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    return parser


def _settings_from(args: argparse.Namespace) -> dict[str, Any]:
    """The settings mapping the command line describes."""
    values: dict[str, Any] = json.loads(args.settings) if args.settings else {}
    flags = {
        "latency_s": args.latency,
        "seed": args.seed,
        "retry_after_s": args.retry_after,
        "hang_s": args.hang,
        "fail_first": args.fail_first,
        "fail_first_fault": args.fail_first_fault,
        "cached_fraction": args.cached_fraction,
        "embedding_dim": args.embedding_dim,
    }
    values.update({k: v for k, v in flags.items() if v is not None})
    if args.replies is not None:
        values["replies"] = json.loads(args.replies.read_text())
    if args.fault:
        faults = dict(values.get("faults") or {})
        for item in args.fault:
            kind, _, rate = item.partition("=")
            faults[kind] = float(rate)
        values["faults"] = faults
    return values


async def _serve(settings: ServerSettings, port: int, exit_on_eof: bool) -> None:
    """Serve until a signal or the end of stdin."""
    runner, bound = await start_site(StubServer(settings), port)
    print(f"http://{HOST}:{bound}/v1", flush=True)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if exit_on_eof:
        watcher = threading.Thread(
            target=_set_at_eof, args=(loop, stop), name="stdin-watch", daemon=True
        )
        watcher.start()

    await stop.wait()
    await runner.cleanup()


def _set_at_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Read stdin to its end, then set `stop` on the server's loop."""
    while sys.stdin.buffer.read(65536):
        pass
    loop.call_soon_threadsafe(stop.set)


if __name__ == "__main__":
    sys.exit(main())
