"""How fast can llmbench send calls? Requests/s and client CPU per call.

Sends N distinct chat calls to the local OpenAI-compatible server (in its own
process, 50 ms latency) at several concurrencies through:

  aiohttp    plain asyncio + aiohttp, the ceiling
  litellm    bare `litellm.acompletion` under a semaphore
  engine     the llmbench engine, cache off, default route (direct for an
             OpenAI-compatible server with an api_base)
  engine/ll  the llmbench engine, cache off, forced through litellm

Requests/s is measured at the server, between the first and last request it
received; CPU is this process's CPU time per call.

    .venv/bin/python benchmarks/engine_throughput.py [--calls 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable

from llmbench.config import apply_offline_defaults

apply_offline_defaults()
os.environ.setdefault("LLMBENCH_STATE_DIR", tempfile.mkdtemp(prefix="llmbench-bench-"))

from llmbench.engine import Engine  # noqa: E402
from llmbench.records import ChatRequest  # noqa: E402
from llmbench.testing import LocalServer  # noqa: E402

MODEL = "openai/gpt-4o-mini"  # priced from litellm's map, so cost is computed


def messages(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"benchmark question {i}: what is {i} + 1?"}]


async def with_aiohttp(url: str, n: int, concurrency: int) -> None:
    import aiohttp

    gate = asyncio.Semaphore(concurrency)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer none"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:

        async def one(i: int) -> None:
            body = json.dumps({"model": "gpt-4o-mini", "messages": messages(i)})
            async with (
                gate,
                s.post(url + "/chat/completions", data=body, headers=headers) as r,
            ):
                json.loads(await r.read())

        await asyncio.gather(*(one(i) for i in range(n)))


async def with_litellm(url: str, n: int, concurrency: int) -> None:
    import litellm

    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await litellm.acompletion(
                model=MODEL, messages=messages(i), api_base=url, api_key="none"
            )

    await asyncio.gather(*(one(i) for i in range(n)))


def with_engine(route: str) -> Callable[[str, int, int], Awaitable[None]]:
    async def run(url: str, n: int, concurrency: int) -> None:
        requests = [
            ChatRequest(
                case_id=str(i),
                model=MODEL,
                messages=tuple(messages(i)),
                params={"api_base": url, "temperature": 0},
            )
            for i in range(n)
        ]
        engine = Engine(
            concurrency=concurrency,
            cache=False,
            progress=False,
            route=route,  # type: ignore[arg-type]
        )
        result = await engine.arun(requests)
        failed = result.errors
        if failed:
            raise SystemExit(f"{failed} calls failed in the {route} engine run")

    return run


CLIENTS: dict[str, Callable[[str, int, int], Awaitable[None]]] = {
    "aiohttp": with_aiohttp,
    "litellm": with_litellm,
    "engine": with_engine("auto"),
    "engine/ll": with_engine("litellm"),
}


def measure(
    server: LocalServer, client: str, n: int, concurrency: int
) -> tuple[float, float]:
    """Requests/s at the server and client CPU ms per call for one client."""
    asyncio.run(CLIENTS[client](server.base_url, 20, concurrency))  # warm up
    server.reset()
    cpu = time.process_time()
    asyncio.run(CLIENTS[client](server.base_url, n, concurrency))
    cpu_ms = (time.process_time() - cpu) * 1000 / n
    stats = server.stats()
    span = (stats["last_chat_at"] or 0) - (stats["first_chat_at"] or 0)
    return (n - 1) / span if span > 0 else float("nan"), cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()

    import litellm  # noqa: F401  (import time is not part of the figures)

    with LocalServer.start(latency_s=args.latency, in_process=False) as server:
        print(f"{args.calls} calls, {args.latency * 1000:.0f} ms server latency\n")
        print(
            f"{'client':<10} {'conc':>5} {'req/s':>8} {'cpu ms':>7} {'vs aiohttp':>10}"
        )
        for concurrency in args.concurrency:
            ceiling = None
            bare_cpu = None
            for client in CLIENTS:
                rate, cpu_ms = measure(server, client, args.calls, concurrency)
                ceiling = ceiling or rate
                bare_cpu = cpu_ms if client == "litellm" else bare_cpu
                extra = ""
                if client.startswith("engine") and bare_cpu is not None:
                    extra = f"  cpu vs bare litellm {cpu_ms - bare_cpu:+.2f} ms"
                print(
                    f"{client:<10} {concurrency:>5} {rate:>8.0f} {cpu_ms:>7.2f} "
                    f"{rate / ceiling:>10.2f}{extra}"
                )
            print()


if __name__ == "__main__":
    main()
