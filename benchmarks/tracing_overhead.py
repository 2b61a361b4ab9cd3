"""What tracing costs per call, and whether every span reaches Phoenix.

Simulates an engine run at concurrency 16: each of 16 workers waits the model's
latency, then hands a synthetic call (a 1.5 KB prompt, a short answer) to the
observer, as the engine does. The same run is made twice, without and with a
`Tracer` exporting to a live Phoenix, and the script reports:

- the CPU spent inside `Tracer.on_call`, per call (the engine's event loop
  waits for it);
- the extra CPU of the whole process per call, the batch exporter's thread
  (protobuf encoding, HTTP) included;
- how many of the run's spans Phoenix stored (none may be lost).

With --engine, the real `Engine` runs the calls instead, against the local
OpenAI-compatible stub server (`llmbench.testing.LocalServer`, in a subprocess)
over its direct aiohttp route, without cache: the CPU per call and the calls
per second of the whole pipeline are compared without and with tracing.

Usage:
    .venv/bin/python benchmarks/tracing_overhead.py [--calls 2000] [--url URL]
    .venv/bin/python benchmarks/tracing_overhead.py --engine [--calls 1000]

Without --url, a Phoenix server is started in a temporary folder and stopped
afterwards (15-25 s). Exits 1 when on_call costs 2 ms or more, or spans are lost.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from llmbench.phoenix import free_port, start_phoenix, stop_phoenix
from llmbench.records import CallRecord, ChatRequest
from llmbench.traces import Tracer, wait_for_spans

TARGET_MS = 2.0
CONTEXT = "Phoenix stores spans in SQLite unless told otherwise. " * 28


def synthetic_call(index: int, run_id: str) -> tuple[ChatRequest, CallRecord]:
    """A request with a realistic prompt and the record of its answer."""
    request = ChatRequest(
        case_id=f"case-{index:05d}",
        model="openai/gpt-4o-mini",
        messages=(
            {"role": "system", "content": "Answer from the context only."},
            {"role": "user", "content": f"Context: {CONTEXT}\nQuestion {index}?"},
        ),
        params={"temperature": 0.0, "max_tokens": 128, "seed": 7},
        prompt_name="qa",
        prompt_version="v3",
    )
    record = CallRecord(
        run_id=run_id,
        case_id=request.case_id,
        prompt_name="qa",
        prompt_version="v3",
        model=request.model,
        repeat=0,
        output_text="Phoenix keeps its spans in a SQLite file by default. " * 3,
        input_tokens=380,
        output_tokens=36,
        cost_usd=0.000079,
        latency_s=0.0,
        attempts=1,
    )
    return request, record


async def simulate(
    calls: list[tuple[ChatRequest, CallRecord]],
    tracer: Tracer | None,
    concurrency: int,
    latency_s: float,
) -> float:
    """Run the calls through `concurrency` workers; return on_call CPU seconds."""
    queue = iter(calls)
    observer_cpu = 0.0

    async def worker() -> None:
        nonlocal observer_cpu
        for request, record in queue:
            record.timestamp = datetime.now(UTC).isoformat()
            await asyncio.sleep(latency_s)
            record.latency_s = latency_s
            if tracer is not None:
                before = time.thread_time()
                tracer.on_call(request, record)
                observer_cpu += time.thread_time() - before

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return observer_cpu


def measure(url: str, calls: int, concurrency: int, latency_s: float) -> bool:
    """Run the comparison against Phoenix at `url`; True when within target."""
    project = "llmbench-benchmark"
    run_id = f"bench-{uuid.uuid4().hex[:8]}"

    plain = [synthetic_call(i, run_id) for i in range(calls)]
    cpu = time.process_time()
    wall = time.perf_counter()
    asyncio.run(simulate(plain, None, concurrency, latency_s))
    base_cpu = time.process_time() - cpu
    base_wall = time.perf_counter() - wall

    tracer = Tracer(url, project=project)
    traced = [synthetic_call(i, run_id) for i in range(calls)]
    cpu = time.process_time()
    wall = time.perf_counter()
    on_call_cpu = asyncio.run(simulate(traced, tracer, concurrency, latency_s))
    tracer.flush()
    traced_cpu = time.process_time() - cpu
    traced_wall = time.perf_counter() - wall
    tracer.shutdown()
    waited = time.perf_counter()
    frame = wait_for_spans(
        calls, project=project, url=url, run_id=run_id, timeout_s=300, poll_s=5
    )
    stored = len(frame)
    waited = time.perf_counter() - waited

    on_call_ms = on_call_cpu / calls * 1000
    process_ms = (traced_cpu - base_cpu) / calls * 1000
    print(f"calls                       {calls} at concurrency {concurrency}")
    print(f"simulated model latency     {latency_s * 1000:.0f} ms")
    print(f"rate                        {calls / traced_wall:.0f} calls/s")
    print(f"wall time without / with    {base_wall:.2f} s / {traced_wall:.2f} s")
    print(f"on_call CPU per call        {on_call_ms:.3f} ms (target < {TARGET_MS} ms)")
    print(f"process CPU added per call  {process_ms:.3f} ms (exporter thread included)")
    print(f"spans made / exported       {tracer.stats.spans} / {tracer.stats.exported}")
    print(f"spans stored in Phoenix     {stored} of {calls}, {waited:.0f} s later")
    return on_call_ms < TARGET_MS and stored == calls


def measure_engine(url: str, calls: int, concurrency: int, latency_s: float) -> bool:
    """Run the engine against the stub server without and with a Tracer."""
    from llmbench.engine import Engine
    from llmbench.testing import LocalServer

    project = "llmbench-benchmark"
    with LocalServer.start(latency_s=latency_s, in_process=False) as server:

        def batch(count: int) -> list[ChatRequest]:
            tag = uuid.uuid4().hex[:8]
            return [
                ChatRequest(
                    case_id=f"case-{i:05d}",
                    model="openai/stub",
                    messages=(
                        {"role": "system", "content": "Answer from the context."},
                        {"role": "user", "content": f"{tag} {i} {CONTEXT}"},
                    ),
                    params={"api_base": server.base_url, "max_tokens": 64},
                    prompt_name="qa",
                    prompt_version="v3",
                )
                for i in range(count)
            ]

        def run(tracer: Tracer | None, count: int) -> tuple[float, float, str]:
            engine = Engine(
                concurrency=concurrency,
                cache=False,
                store=False,
                progress=False,
                observers=[tracer] if tracer is not None else [],
            )
            requests = batch(count)
            cpu = time.process_time()
            wall = time.perf_counter()
            result = engine.run(requests)
            if tracer is not None:
                tracer.flush()
            cpu = time.process_time() - cpu
            return (
                cpu / count * 1000,
                count / (time.perf_counter() - wall),
                result.run_id,
            )

        run(None, 64)  # warm up: imports, connections
        plain_ms, plain_rate, _ = run(None, calls)
        tracer = Tracer(url, project=project)
        traced_ms, traced_rate, run_id = run(tracer, calls)
        tracer.shutdown()

    frame = wait_for_spans(
        calls, project=project, url=url, run_id=run_id, timeout_s=300, poll_s=5
    )
    print(f"engine calls                {calls} at concurrency {concurrency}")
    print(f"stub server latency         {latency_s * 1000:.0f} ms")
    print(f"CPU per call without / with {plain_ms:.2f} ms / {traced_ms:.2f} ms")
    print(f"calls/s without / with      {plain_rate:.0f} / {traced_rate:.0f}")
    print(f"spans made / exported       {tracer.stats.spans} / {tracer.stats.exported}")
    print(f"spans stored in Phoenix     {len(frame)} of {calls}")
    return traced_ms - plain_ms < TARGET_MS and len(frame) == calls


def main() -> int:
    """Parse arguments, provide a Phoenix, measure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--url", help="a running Phoenix (default: start one)")
    parser.add_argument("--engine", action="store_true", help="run the real engine")
    args = parser.parse_args()
    latency_s = args.latency_ms / 1000
    bench = measure_engine if args.engine else measure

    if args.url:
        return 0 if bench(args.url, args.calls, args.concurrency, latency_s) else 1

    home = Path(tempfile.mkdtemp(prefix="llmbench-bench-phoenix-"))
    started = time.perf_counter()
    handle = start_phoenix(port=free_port(), home=home)
    print(f"Phoenix started in          {time.perf_counter() - started:.1f} s")
    try:
        ok = bench(handle.url, args.calls, args.concurrency, latency_s)
    finally:
        stop_phoenix(home=home)
        shutil.rmtree(home, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
