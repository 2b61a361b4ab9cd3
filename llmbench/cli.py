"""The ``llmbench`` command: parse, call the library, print.

Every command is a thin wrapper around a library function; errors llmbench
raises on purpose become one line on stderr and exit code 2, and a failed gate
or report exits 1, so CI can tell "the model got worse" from "the input is bad".
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from llmbench.errors import LlmbenchError

logger = logging.getLogger("llmbench")

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2

Handler = Callable[[argparse.Namespace], int]


def _table(frame: Any) -> str:
    """A DataFrame as plain text for a terminal."""
    return str(frame.to_string(index=False, float_format=lambda x: f"{x:.4g}"))


# -- prompts and runs -----------------------------------------------------------


def cmd_prompts(args: argparse.Namespace) -> int:
    from llmbench import prompts

    if args.action == "list":
        for name in prompts.list_prompts():
            prompt = prompts.load_prompt(name)
            print(f"{name}: {', '.join(prompt.versions)}")
        return EXIT_OK
    if args.action == "diff":
        a, b = (prompts.get_version(ref) for ref in args.refs)
        print(prompts.diff_versions(a, b))
        return EXIT_OK
    if args.action == "lock":
        for name in args.refs or prompts.list_prompts():
            print(f"locked {prompts.lock_prompt(name)}")
        return EXIT_OK

    drifted = prompts.check_prompts()
    for version in drifted:
        print(f"{version.ref}: template changed without a new label ({version.path})")
    if not drifted:
        print("every prompt version matches its lock")
    return EXIT_FAILED if drifted else EXIT_OK


def cmd_runs(args: argparse.Namespace) -> int:
    from llmbench.runs import list_runs, load_run

    if args.run_id is None:
        for run_id in list_runs():
            print(run_id)
        return EXIT_OK
    run = load_run(args.run_id)
    for key, value in run.summary().items():
        print(f"{key:>14}: {value}")
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from llmbench.compare import compare_prompts

    comparison = compare_prompts(
        args.prompt,
        versions=args.versions,
        models=args.models,
        dataset=args.dataset,
        repeats=args.repeats,
        limit=args.limit,
    )
    out = args.out or Path("reports") / f"compare-{comparison.run.run_id}"
    paths = comparison.save(out)
    print(_table(comparison.summary()))
    print()
    for line in comparison.pairwise_table()["verdict"]:
        print(f"- {line}")
    print(f"\nrun {comparison.run.run_id}; tables in {paths['summary'].parent}")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from llmbench.baselines import find_baseline
    from llmbench.suite_views import text_report
    from llmbench.suites import load_suite, run_suite

    suite = load_suite(args.suite)
    baseline = find_baseline(suite, args.baseline)
    result = run_suite(suite, judge=args.judge_model, limit=args.limit)
    comparison = result.compare(baseline) if baseline is not None else None
    print(text_report(result, comparison))
    if args.save_baseline:
        path = None if args.save_baseline == "auto" else args.save_baseline
        print(f"baseline saved to {result.save_baseline(path)}")
    return EXIT_OK if result.verdict(comparison).passed else EXIT_FAILED


def cmd_cost(args: argparse.Namespace) -> int:
    from llmbench import cost_tables, cost_views
    from llmbench.costs import accounting, estimate

    if args.action == "estimate":
        requests = cost_tables.plan_requests(
            args.prompt,
            args.versions,
            args.models,
            args.dataset,
            repeats=args.repeats,
            limit=args.limit,
        )
        planned = estimate(requests, output_tokens=args.output_tokens)
        table = cost_tables.estimate_by_model(planned)
        print(cost_views.text_table(table[list(cost_tables.ESTIMATE_COLUMNS)]))
        print()
        print(planned.summary())
        return EXIT_OK

    frame = cost_tables.runs_frame(args.run_id)
    print(f"run {args.run_id}")
    print(cost_views.text_table(accounting(frame)))
    print()
    print(cost_views.spend_summary(frame))
    return EXIT_OK


# -- reports and services -------------------------------------------------------

NOTEBOOKS = ("prompt_comparison", "eval_suite", "cost_analysis", "trace_explorer")


def cmd_report(args: argparse.Namespace) -> int:
    from llmbench.config import project_root
    from llmbench.reports import load_params_file, render_reports

    folder = project_root() / "notebooks"
    if args.all or not args.notebooks:
        notebooks = [
            folder / f"{n}.ipynb" for n in NOTEBOOKS if (folder / f"{n}.ipynb").exists()
        ]
    else:
        notebooks = [Path(n) for n in args.notebooks]

    parameters: dict[str, Any] = (
        load_params_file(args.params_file) if args.params_file else {}
    )
    for name, value in args.parameter or []:
        parameters[name] = _parse_value(value)

    run = render_reports(
        notebooks, parameters, out_dir=args.out, fail_on_gate=args.fail_on_gate
    )
    for result in run.results:
        mark = "ok" if result.status == "ok" else "FAILED"
        seconds = f"{result.seconds:.1f} s"
        print(f"{mark:>6}  {result.path.name}  {seconds}  {result.output_html}")
        if result.error:
            print(f"        {result.error}")
    print(f"index: {run.index_html}")
    return EXIT_OK if run.ok else EXIT_FAILED


def _parse_value(text: str) -> Any:
    """A -p value as YAML reads it (numbers, lists, null), else the string."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def cmd_phoenix(args: argparse.Namespace) -> int:
    from llmbench import phoenix

    if args.action == "start":
        handle = phoenix.start_phoenix(port=args.port)
        state = "already running" if handle.reused else "started"
        print(f"Phoenix {state} at {handle.url} (pid {handle.pid}, {handle.database})")
        return EXIT_OK
    if args.action == "stop":
        print("stopped" if phoenix.stop_phoenix() else "not running")
        return EXIT_OK

    status = phoenix.phoenix_status()
    print(f"running at {status.url} (pid {status.pid})" if status else "not running")
    return EXIT_OK if status else EXIT_FAILED


def cmd_strip(args: argparse.Namespace) -> int:
    from llmbench.config import project_root
    from llmbench.notebook_files import strip_outputs

    paths = args.notebooks or sorted((project_root() / "notebooks").glob("*.ipynb"))
    for path in paths:
        if strip_outputs(path):
            print(f"stripped {path}")
    return EXIT_OK


# -- the parser -----------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    parser = argparse.ArgumentParser(
        prog="llmbench",
        description="Compare prompts, run eval suites, cost and trace LLM calls.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    commands = parser.add_subparsers(dest="command", required=True)

    sub = commands.add_parser(
        "prompts", help="list, diff, check or lock prompt versions"
    )
    sub.add_argument("action", choices=["list", "diff", "check", "lock"])
    sub.add_argument("refs", nargs="*", help="diff: two name@label refs; lock: names")
    sub.set_defaults(handler=cmd_prompts)

    sub = commands.add_parser("runs", help="list stored runs, or summarise one")
    sub.add_argument("run_id", nargs="?", help="a run id or 'latest'")
    sub.set_defaults(handler=cmd_runs)

    sub = commands.add_parser("compare", help="compare prompt versions on a dataset")
    sub.add_argument("prompt", help="a prompt name under data/prompts")
    sub.add_argument("--versions", nargs="+", help="version labels (default: all)")
    sub.add_argument("--models", nargs="+", default=["offline/extractive"])
    sub.add_argument("--dataset", default="qa_sample")
    sub.add_argument("--repeats", type=int, default=1)
    sub.add_argument("--limit", type=int, help="only the first N cases")
    sub.add_argument("--out", type=Path, help="folder for the result tables (CSV)")
    sub.set_defaults(handler=cmd_compare)

    sub = commands.add_parser("cost", help="estimate a run's cost, or account for one")
    actions = sub.add_subparsers(dest="action", required=True)
    plan = actions.add_parser("estimate", help="what a comparison would cost")
    plan.add_argument("--prompt", required=True, help="a prompt under data/prompts")
    plan.add_argument("--versions", nargs="+", help="version labels (default: all)")
    plan.add_argument("--models", nargs="+", required=True, help="litellm models")
    plan.add_argument("--dataset", default="qa_sample")
    plan.add_argument("--repeats", type=int, default=1)
    plan.add_argument("--limit", type=int, help="only the first N cases")
    plan.add_argument(
        "--output-tokens", type=int, help="expected output tokens per call"
    )
    plan.set_defaults(handler=cmd_cost)
    spent = actions.add_parser("report", help="what a stored run cost")
    spent.add_argument("run_id", help="a run id or 'latest'")
    spent.set_defaults(handler=cmd_cost)

    sub = commands.add_parser("report", help="render notebooks as HTML reports")
    sub.add_argument("notebooks", nargs="*", type=Path)
    sub.add_argument("--all", action="store_true", help="all four project notebooks")
    sub.add_argument(
        "-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE")
    )
    sub.add_argument("--params-file", type=Path)
    sub.add_argument("--out", type=Path, help="default reports/<UTC timestamp>/")
    sub.add_argument(
        "--fail-on-gate", action="store_true", help="exit 1 when an eval gate fails"
    )
    sub.set_defaults(handler=cmd_report)

    sub = commands.add_parser("strip", help="remove outputs from notebooks")
    sub.add_argument("notebooks", nargs="*", type=Path, help="default notebooks/*")
    sub.set_defaults(handler=cmd_strip)

    sub = commands.add_parser(
        "eval", help="run an eval suite; exit 1 on a failed gate or a regression"
    )
    sub.add_argument("suite", help="a suite name under data/suites, or a YAML file")
    sub.add_argument(
        "--baseline",
        help="a baseline file to compare with; 'auto': the suite's own, if it exists",
    )
    sub.add_argument(
        "--save-baseline",
        nargs="?",
        const="auto",
        metavar="PATH",
        help="save this run as a baseline (default data/baselines/<suite>.json)",
    )
    sub.add_argument(
        "--judge-model",
        help="litellm model for LLM-judged metrics (api base: LLMBENCH_JUDGE_API_BASE)",
    )
    sub.add_argument("--limit", type=int, help="only the first N cases")
    sub.set_defaults(handler=cmd_eval)

    sub = commands.add_parser("phoenix", help="the Phoenix trace server")
    sub.add_argument("action", choices=["start", "stop", "status"])
    sub.add_argument("--port", type=int)
    sub.set_defaults(handler=cmd_phoenix)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    args = build_parser().parse_args(argv)
    # Our own progress lines at INFO; third-party chatter only when it matters.
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    logger.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    handler: Handler = args.handler
    try:
        return handler(args)
    except LlmbenchError as error:
        print(f"llmbench: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("llmbench: interrupted; completed calls are saved", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
