"""Sample traces, so the trace explorer has something to show on a fresh clone.

`amake_sample_traces` makes three small runs through an engine observed by a
`llmbench.traces.Tracer`, all offline:

1. a prompt comparison on the offline extractive baseline (a few prompt
   versions, about ten cases), its ``token_f1`` scores logged as span
   annotations;
2. an eval suite run on the same baseline, every suite metric logged as an
   annotation (the suite's LLM-judged metrics are skipped without a judge);
3. the same prompts sent to llmbench's local OpenAI-compatible stand-in server
   (model ``openai/stand-in``, an echo priced at $0) with injected faults and
   latency, without retries: some calls fail with real HTTP errors, some hang
   before answering, so the error section and the latency tail have content.

It then waits until Phoenix has stored every span, since Phoenix accepts spans
at once but writes them in the background.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmbench.trace_frames import DEFAULT_PROJECT, ScoresLogged

if TYPE_CHECKING:
    from llmbench.engine import Engine
    from llmbench.runs import RunResult
    from llmbench.suite_results import SuiteResult
    from llmbench.traces import Tracer

logger = logging.getLogger(__name__)

#: The stand-in's model name: not a real model's, so no one mistakes its spans.
STAND_IN_MODEL = "openai/stand-in"

#: Cases per prompt version in a sample, unless told otherwise.
SAMPLE_CASES = 10

#: Injected fault rates of the stand-in: server errors, rate limits, broken
#: replies, and hangs (``timeout``: the answer comes, late).
SAMPLE_FAULTS: Mapping[str, float] = {
    "500": 0.08,
    "429": 0.05,
    "malformed": 0.04,
    "timeout": 0.1,
}


@dataclass(frozen=True)
class SampleTraces:
    """What `amake_sample_traces` made.

    Attributes:
        run_ids: The comparison's, the suite's and the stand-in's run ids.
        calls: Calls traced, one span each.
        errors: Calls that failed (all on the stand-in).
        stored: Spans Phoenix had stored when the wait ended.
        scores: Eval scores logged as span annotations.
        seconds: Wall-clock time it took, waits included.
    """

    run_ids: tuple[str, ...]
    calls: int
    errors: int
    stored: int
    scores: ScoresLogged
    seconds: float

    def describe(self) -> str:
        """One sentence for a reader: what was made and how long it took."""
        return (
            f"Made {self.calls} sample calls in runs {', '.join(self.run_ids)} "
            f"({self.errors} failed on purpose) and logged {self.scores.logged} "
            f"eval scores as annotations, in {self.seconds:.0f} s."
        )


async def amake_sample_traces(
    url: str,
    project: str = DEFAULT_PROJECT,
    *,
    prompt: str = "qa_answer",
    versions: Sequence[str] | None = None,
    dataset: str = "qa_sample",
    limit: int = SAMPLE_CASES,
    suite: str | None = "qa_offline",
    faults: Mapping[str, float] = SAMPLE_FAULTS,
    latency_s: float = 0.05,
    hang_s: float = 0.6,
    seed: int = 7,
    timeout_s: float = 60.0,
) -> SampleTraces:
    """Trace a small comparison, a suite run and faulty stand-in calls.

    Args:
        url: Phoenix's base URL.
        project: The Phoenix project the spans go to.
        prompt: The prompt whose versions answer (a folder under data/prompts).
        versions: Its versions to run; None for all.
        dataset: The dataset answered.
        limit: Cases per version.
        suite: The eval suite to run and annotate with; None for none.
        faults: Fault rates of the stand-in server (see `LocalServer.start`).
        latency_s: Seconds every stand-in answer takes.
        hang_s: Seconds a hanging stand-in answer takes on top.
        seed: Seed of the stand-in's fault draw, so a sample repeats.
        timeout_s: Longest wait for Phoenix to store the spans.

    Returns:
        What was made; the spans are in Phoenix when this returns (unless the
        wait timed out, which is logged).
    """
    from llmbench.compare import acompare_prompts
    from llmbench.trace_annotations import log_eval_scores, log_suite_scores
    from llmbench.traces import Tracer

    started = time.monotonic()
    tracer = Tracer(url, project=project)
    try:
        comparison = await acompare_prompts(
            prompt,
            versions,
            ["offline/extractive"],
            dataset,
            metrics=["token_f1"],
            limit=limit,
            engine=_engine(tracer),
        )
        evaluation = await _suite_run(suite, limit, tracer)
        stand_in = await _stand_in_run(
            tracer, prompt, versions, dataset, limit, faults, latency_s, hang_s, seed
        )
        runs = [comparison.run, stand_in]
        if evaluation is not None:
            runs.insert(1, evaluation.run)
        stored = _wait_for_runs(tracer, runs, url, project, timeout_s)

        logged = log_eval_scores(comparison.scores, tracer=tracer, project=project)
        if evaluation is not None:
            more = log_suite_scores(evaluation, tracer=tracer, project=project)
            logged = ScoresLogged(*(a + b for a, b in zip(logged, more, strict=True)))
    finally:
        tracer.shutdown()

    return SampleTraces(
        run_ids=tuple(run.run_id for run in runs),
        calls=sum(len(run.records) for run in runs),
        errors=sum(r.status == "error" for run in runs for r in run.records),
        stored=stored,
        scores=logged,
        seconds=time.monotonic() - started,
    )


async def _suite_run(
    suite: str | None, limit: int, tracer: Tracer
) -> SuiteResult | None:
    """The eval suite's run on its first `limit` cases, or None without a suite."""
    if suite is None:
        return None
    from llmbench.suites import arun_suite

    return await arun_suite(suite, limit=limit, engine=_engine(tracer))


async def _stand_in_run(
    tracer: Tracer,
    prompt: str,
    versions: Sequence[str] | None,
    dataset: str,
    limit: int,
    faults: Mapping[str, float],
    latency_s: float,
    hang_s: float,
    seed: int,
) -> RunResult:
    """The prompt's versions on the faulty stand-in server, without retries."""
    from llmbench.datasets import load_dataset
    from llmbench.prices import set_price
    from llmbench.prompts import load_prompt
    from llmbench.testing import LocalServer

    # A local echo costs nothing; without a price every call would warn.
    set_price(STAND_IN_MODEL, input_per_mtok_usd=0.0, output_per_mtok_usd=0.0)
    loaded = load_prompt(prompt)
    cases = load_dataset(dataset).cases[:limit]
    with LocalServer.start(
        latency_s=latency_s, faults=dict(faults), hang_s=hang_s, seed=seed
    ) as server:
        requests = [
            request
            for label in versions or loaded.versions
            for request in loaded.version(label).requests(
                cases, [STAND_IN_MODEL], 1, {"api_base": server.base_url}
            )
        ]
        engine = _engine(tracer, max_retries=0, concurrency=8)
        return await engine.arun(requests, description="trace sample: stand-in")


def _engine(tracer: Tracer, *, max_retries: int = 4, concurrency: int = 16) -> Engine:
    """An uncached, quiet engine observed by `tracer` (every call really made)."""
    from llmbench.engine import Engine

    return Engine(
        observers=[tracer],
        cache=False,
        progress=False,
        max_retries=max_retries,
        concurrency=concurrency,
    )


def _wait_for_runs(
    tracer: Tracer,
    runs: Sequence[RunResult],
    url: str,
    project: str,
    timeout_s: float,
) -> int:
    """Flush, then wait until each run's spans are stored; the spans found."""
    from llmbench.trace_frames import wait_for_spans

    tracer.flush()
    deadline = time.monotonic() + timeout_s
    stored = 0
    for run in runs:
        expected = sum(r.status != "not_run" for r in run.records)
        found = wait_for_spans(
            expected,
            project=project,
            url=url,
            run_id=run.run_id,
            timeout_s=max(1.0, deadline - time.monotonic()),
            poll_s=0.5,
        )
        stored += len(found)
    return stored
