"""The call engine: runs a batch of chat calls and returns one record per call.

What it does for every batch:

- runs up to `concurrency` calls at once, optionally paced per model by a
  requests-per-minute limit;
- retries timeouts, dropped connections, 408, 429 and 5xx with exponential
  backoff and jitter, waiting as long as a 429's ``Retry-After`` asks; other
  4xx errors are final. A call that still fails is recorded, and the run goes on;
- answers from the persistent response cache when it can, and records why it
  missed when it cannot (see `llmbench.cache`);
- appends every record to the run's ``records.jsonl`` the moment it completes,
  and commits every response to the cache, so an interrupted run resumes
  without paying twice;
- stops scheduling new calls before a USD budget would be crossed, lets calls
  in flight finish, records the rest as not run and raises
  `BudgetExceededError` after saving;
- shows a notebook-aware progress bar with cache hits, retries, errors and
  spend.

It works from scripts (`Engine.run`) and inside Jupyter's running event loop
(``await engine.arun(...)``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar

from llmbench.cache import CacheKey, ResponseCache, cache_key
from llmbench.config import load_dotenv
from llmbench.errors import BudgetExceededError, ConfigError
from llmbench.limits import Budget, Pacer, reservation_usd
from llmbench.records import CallRecord, ChatRequest
from llmbench.runs import RunResult, RunStore, new_run_id
from llmbench.transports import (
    CallFailed,
    Completion,
    DirectTransport,
    LiteLLMTransport,
    Transport,
    supports_direct,
)

logger = logging.getLogger(__name__)

Route = Literal["auto", "litellm", "direct"]
T = TypeVar("T")


class CallObserver(Protocol):
    """Anything that wants to see each call as it completes (tracing, live views)."""

    def on_call(self, request: ChatRequest, record: CallRecord) -> None: ...


@dataclass
class EngineStats:
    """Counters for the current or last batch, shown on the progress bar."""

    calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    rate_limited: int = 0
    errors: int = 0
    paid_usd: float = 0.0


class Engine:
    """Runs batches of `ChatRequest` through litellm (or the direct route).

    Args:
        concurrency: Calls in flight at once. 16 by default (promptfoo uses 4,
            Inspect 10, DeepEval 20); providers' rate limits decide the best value.
        rpm: Requests per minute, for every model (a number) or per model (a
            mapping from model string to number). None means unpaced.
        timeout_s: Seconds one attempt may take before it counts as a timeout.
        max_retries: Attempts after the first for retryable failures.
        backoff_s: The first retry's base delay; it doubles per attempt.
        max_backoff_s: The longest wait between attempts, Retry-After included.
        cache: True for the default response cache, False for none, or a
            `ResponseCache` to share.
        budget_usd: Stop scheduling calls before this much USD would be spent
            (cache hits are free). None means no limit.
        budget_warn_fraction: Log a warning once spend passes this fraction.
        observers: Called with each request and its record (for tracing).
        progress: Show a progress bar.
        route: ``auto`` (direct for OpenAI-compatible servers with an api_base,
            litellm otherwise), ``litellm`` or ``direct``.
        store: Write records under ``<state>/runs/<run_id>/``.
    """

    def __init__(
        self,
        *,
        concurrency: int = 16,
        rpm: float | Mapping[str, float] | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        cache: bool | ResponseCache = True,
        budget_usd: float | None = None,
        budget_warn_fraction: float = 0.8,
        observers: Sequence[CallObserver] = (),
        progress: bool = True,
        route: Route = "auto",
        store: bool = True,
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
        if budget_usd is not None and budget_usd < 0:
            raise ConfigError(f"budget_usd must not be negative, got {budget_usd}")
        load_dotenv()

        self.concurrency = concurrency
        self.rpm = rpm
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.cache = ResponseCache() if cache is True else (cache or None)
        self.budget_usd = budget_usd
        self.budget_warn_fraction = budget_warn_fraction
        self.observers = list(observers)
        self.progress = progress
        self.route = route
        self.store = store
        self.stats = EngineStats()
        self._litellm: LiteLLMTransport | None = None
        self._pacers: dict[str, Pacer] = {}

    # -- running ----------------------------------------------------------------

    def run(
        self,
        requests: Sequence[ChatRequest],
        *,
        run_id: str | None = None,
        description: str = "",
    ) -> RunResult:
        """Run a batch from synchronous code, also from inside a running loop.

        Inside Jupyter prefer ``await engine.arun(...)``; here the batch then runs
        on a helper thread with its own event loop while this call waits.
        """
        return run_sync(self.arun(requests, run_id=run_id, description=description))

    async def arun(
        self,
        requests: Sequence[ChatRequest],
        *,
        run_id: str | None = None,
        description: str = "",
    ) -> RunResult:
        """Run a batch and return its records in the order of `requests`.

        Args:
            requests: The calls to make.
            run_id: Reuse a run id (records are appended); default a new one.
            description: A line about the run, kept in ``run.json``.

        Raises:
            BudgetExceededError: The budget stopped the run; everything done is
                saved and the error carries the `RunResult` as ``.result``.
        """
        run_id = run_id or new_run_id()
        if any(r.model.startswith("offline/") for r in requests):
            from llmbench.offline import warm_up

            await asyncio.to_thread(warm_up)
        started = datetime.now(UTC)
        self.stats = EngineStats()
        budget = Budget(self.budget_usd, self.budget_warn_fraction)
        records: list[CallRecord | None] = [None] * len(requests)
        store = RunStore(run_id) if self.store else None
        direct = DirectTransport()
        bar = _progress_bar(len(requests), enabled=self.progress)
        pending = iter(range(len(requests)))

        async def worker() -> None:
            for index in pending:
                record = await self._one(requests[index], run_id, budget, direct)
                records[index] = record
                self._finish(requests[index], record, store, bar)

        try:
            workers = min(self.concurrency, len(requests)) or 1
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            await direct.close()
            bar.close()
            done = [r for r in records if r is not None]
            result = RunResult(run_id, done, {"description": description})
            result.meta.update(
                started=started.isoformat(),
                finished=datetime.now(UTC).isoformat(),
                requested=len(requests),
                **result.summary(),
            )
            if store is not None:
                store.write_meta(result.meta)
                store.close()

        logger.info("run %s: %s", run_id, result.summary())
        if budget.stopped:
            error = BudgetExceededError(
                budget_usd=float(self.budget_usd or 0.0),
                spent_usd=budget.spent_usd,
                not_run=sum(r.status == "not_run" for r in done),
                run_id=run_id,
            )
            error.result = result  # type: ignore[attr-defined]
            raise error
        return result

    # -- one call ---------------------------------------------------------------

    async def _one(
        self,
        request: ChatRequest,
        run_id: str,
        budget: Budget,
        direct: DirectTransport,
    ) -> CallRecord:
        """Answer one request from the cache, or make the call within the budget."""
        record = _blank_record(request, run_id)
        key = cache_key(request) if self.cache is not None else None

        if key is not None and self.cache is not None:
            cached = self.cache.get(key)
            if cached is not None:
                return _from_cache(record, key, cached)
            record.cache_key = key.key
            record.cache_miss_reason = self.cache.explain_miss(key)

        estimate = reservation_usd(request)
        if not budget.admit(estimate, request.model):
            record.status = "not_run"
            record.error_type = "budget"
            record.error_message = "not run: the run's budget would be crossed"
            return record

        await self._pace(request.model)
        transport = self._transport_for(request, direct)
        await self._attempt(request, record, transport)
        budget.settle(estimate, record.paid_usd)

        if record.status == "ok" and key is not None and self.cache is not None:
            self.cache.put(key, _cache_entry(record))
        return record

    async def _attempt(
        self, request: ChatRequest, record: CallRecord, transport: Transport
    ) -> None:
        """Make the call, retrying what can be retried; fill `record` in place."""
        params = {k: v for k, v in request.params.items() if k != "timeout"}
        timeout_s = float(request.params.get("timeout", self.timeout_s))
        for attempt in range(self.max_retries + 1):
            record.attempts = attempt + 1
            started = time.perf_counter()
            try:
                completion = await asyncio.wait_for(
                    transport.complete(request.model, request.messages, params),
                    timeout=timeout_s,
                )
            except (TimeoutError, CallFailed) as error:
                failure = (
                    error if isinstance(error, CallFailed) else _timeout(timeout_s)
                )
                last = attempt == self.max_retries or not failure.retryable
                if last:
                    record.status = "error"
                    record.error_type = failure.error_type
                    record.error_message = str(failure)
                    record.latency_s = time.perf_counter() - started
                    return
                await self._back_off(request, failure, attempt)
                continue

            _fill(record, completion, time.perf_counter() - started)
            return

    async def _back_off(
        self, request: ChatRequest, failure: CallFailed, attempt: int
    ) -> None:
        """Wait before the next attempt: Retry-After if given, else backoff + jitter."""
        self.stats.retries += 1
        delay = self.backoff_s * 2**attempt * random.uniform(0.5, 1.0)
        if failure.status == 429:
            self.stats.rate_limited += 1
            if failure.retry_after_s is not None:
                delay = failure.retry_after_s
        delay = min(delay, self.max_backoff_s)
        logger.warning(
            "%s on %s (case %s), attempt %d of %d; retrying in %.1f s",
            failure.error_type,
            request.model,
            request.case_id,
            attempt + 1,
            self.max_retries + 1,
            delay,
        )
        await asyncio.sleep(delay)

    async def _pace(self, model: str) -> None:
        """Hold a call back until its model's requests-per-minute limit allows it."""
        if self.rpm is None:
            return
        rpm = self.rpm if isinstance(self.rpm, int | float) else self.rpm.get(model)
        if rpm is None:
            return
        pacer = self._pacers.get(model)
        if pacer is None:
            pacer = self._pacers[model] = Pacer(float(rpm))
        await pacer.wait()

    def _transport_for(
        self, request: ChatRequest, direct: DirectTransport
    ) -> Transport:
        """Pick the route for one request (see `Engine` for the rule)."""
        use_direct = self.route == "direct" or (
            self.route == "auto" and supports_direct(request.model, request.params)
        )
        if use_direct:
            if not supports_direct(request.model, request.params):
                raise ConfigError(
                    f"the direct route needs an OpenAI-compatible model with an "
                    f"api_base; {request.model!r} has none: use route='litellm'"
                )
            return direct
        if self._litellm is None:
            self._litellm = LiteLLMTransport()
        return self._litellm

    def _finish(
        self,
        request: ChatRequest,
        record: CallRecord,
        store: RunStore | None,
        bar: Any,
    ) -> None:
        """Save a completed record, tell the observers, move the progress bar."""
        if store is not None:
            store.append(record)
        for observer in self.observers:
            try:
                observer.on_call(request, record)
            except Exception:  # an observer must never break a run
                logger.exception(
                    "observer %r failed on case %s", observer, record.case_id
                )

        stats = self.stats
        stats.calls += 1
        stats.cache_hits += record.cache_hit
        stats.errors += record.status == "error"
        stats.paid_usd += record.paid_usd
        bar.update(1)
        if stats.calls % 25 == 0 or stats.calls == bar.total or record.status != "ok":
            bar.set_postfix(
                hits=stats.cache_hits,
                retries=stats.retries,
                errors=stats.errors,
                usd=f"{stats.paid_usd:.4f}",
                refresh=False,
            )


def run_sync(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from synchronous code.

    Outside an event loop this is `asyncio.run`. Inside one (a Jupyter cell),
    the coroutine runs on a helper thread with its own loop while this waits,
    since the cell's loop cannot be re-entered.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


def _blank_record(request: ChatRequest, run_id: str) -> CallRecord:
    return CallRecord(
        run_id=run_id,
        case_id=request.case_id,
        prompt_name=request.prompt_name,
        prompt_version=request.prompt_version,
        model=request.model,
        repeat=request.repeat,
        kind=request.kind,
        timestamp=datetime.now(UTC).isoformat(),
        metadata=dict(request.metadata),
    )


def _fill(record: CallRecord, completion: Completion, latency_s: float) -> None:
    from llmbench.prices import call_cost

    record.status = "ok"
    record.output_text = completion.text
    record.input_tokens = completion.input_tokens
    record.output_tokens = completion.output_tokens
    record.cached_tokens = completion.cached_tokens
    record.latency_s = latency_s
    record.cost_usd = call_cost(
        record.model,
        completion.input_tokens,
        completion.output_tokens,
        completion.cached_tokens,
    )


def _cache_entry(record: CallRecord) -> dict[str, Any]:
    return {
        "output_text": record.output_text,
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "cached_tokens": record.cached_tokens,
        "cost_usd": record.cost_usd,
        "latency_s": record.latency_s,
    }


def _from_cache(record: CallRecord, key: CacheKey, entry: dict[str, Any]) -> CallRecord:
    record.status = "ok"
    record.cache_hit = True
    record.cache_key = key.key
    record.output_text = entry["output_text"]
    record.input_tokens = entry["input_tokens"]
    record.output_tokens = entry["output_tokens"]
    record.cached_tokens = entry["cached_tokens"]
    record.cost_usd = entry["cost_usd"]
    return record


def _timeout(timeout_s: float) -> CallFailed:
    return CallFailed(
        f"no answer within {timeout_s:g} s",
        error_type="Timeout",
        retryable=True,
    )


def _progress_bar(total: int, *, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    # A short label: the bar shares a notebook's width with its counters.
    return tqdm(total=total, desc="calls", unit="call", disable=not enabled)
