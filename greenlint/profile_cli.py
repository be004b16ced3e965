"""``greenlint profile [OPTIONS] -- COMMAND...``: a measured run of the user's training.

The command runs in a child process with greenlint's recorder loaded into it (see
``greenlint.profiling.bootstrap``), bounded by ``--max-steps`` and ``--timeout``; the
parent samples the machine, shows a live view on a terminal, prints a summary and writes
the profile that ``greenlint check --profile`` uses to confirm or refute findings.

Exit code: the program's own when it ends by itself (a crash included, 128 + N for a
program killed by signal N); 0 when greenlint stopped it at a bound, since the sampled
run is what was asked for; 2 for usage errors.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from greenlint.config import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options on its sub-parser."""
    parser.usage = "greenlint profile [OPTIONS] -- COMMAND [ARGS...]"
    parser.description = (
        "Run a training command with greenlint's recorder inside it and measure it: steps, data-loader "
        "waits, precision, checkpoints, host syncs, eval forwards with gradients, FLOPs, utilisation and energy."
    )
    parser.add_argument("--max-steps", type=int, metavar="N", help="stop cleanly after N optimizer steps")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="stop after this many seconds")
    parser.add_argument("--output", "-o", type=Path, default=Path("profile.json"), metavar="FILE",
                        help="where to write the profile (default: profile.json)")
    parser.add_argument("--interval", type=float, default=0.5, metavar="SECONDS",
                        help="sampling interval for GPU, CPU and memory readings (default: 0.5)")
    parser.add_argument("--compare-precision", action="store_true",
                        help="after the run, time the model's training step in fp32 and under autocast on synthetic data")
    parser.add_argument("--compare-steps", type=int, default=20, metavar="N",
                        help="steps per precision in --compare-precision (default: 20)")
    parser.add_argument("--total-steps", type=int, metavar="N",
                        help="steps of the full training, for the extrapolation (default: read from the program)")
    parser.add_argument("--no-live", action="store_true", help="no live view, even on a terminal")
    parser.add_argument("--quiet", "-q", action="store_true", help="no summary after the run")
    parser.add_argument("program", nargs=argparse.REMAINDER, metavar="COMMAND", help="the command to run, after --")


def _command(args: argparse.Namespace) -> list[str]:
    command = list(args.program)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise ConfigError("no command to profile: greenlint profile [OPTIONS] -- python train.py ARGS...")
    return command


def _check(args: argparse.Namespace) -> None:
    if args.max_steps is not None and args.max_steps < 1:
        raise ConfigError("--max-steps must be 1 or more")
    if args.timeout is not None and args.timeout <= 0:
        raise ConfigError("--timeout must be more than 0 seconds")
    if args.interval <= 0:
        raise ConfigError("--interval must be more than 0 seconds")
    if args.compare_steps < 1:
        raise ConfigError("--compare-steps must be 1 or more")
    if args.total_steps is not None and args.total_steps < 1:
        raise ConfigError("--total-steps must be 1 or more")


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code."""
    from rich.console import Console

    from greenlint.profiling.assemble import build_profile
    from greenlint.profiling.runner import CommandError, QuietView, Request, exit_status
    from greenlint.profiling.runner import run as run_profiled
    from greenlint.profiling.summary import print_summary

    command = _command(args)
    _check(args)
    request = Request(
        command=command,
        max_steps=args.max_steps,
        timeout_s=args.timeout,
        interval_s=args.interval,
        compare_steps=args.compare_steps if args.compare_precision else None,
        total_steps=args.total_steps,
    )
    live = sys.stderr.isatty() and not args.no_live
    if live:
        from greenlint.profiling.live import LiveView

        view = LiveView(shlex.join(command), args.max_steps)
    else:
        view = QuietView()
    try:
        record = run_profiled(request, view)
    except CommandError as error:
        raise ConfigError(str(error)) from None
    finally:
        view.close()
    profile = build_profile(record)
    written = None
    try:
        profile.write(args.output)
        written = str(args.output)
    except OSError as error:
        print(f"greenlint: error: cannot write {args.output}: {error.strerror or error}", file=sys.stderr)
    if not args.quiet:
        print_summary(profile, Console(file=sys.stderr, highlight=False, width=None if sys.stderr.isatty() else 120), written)
    if written is None:
        return 2
    if record.stopped_by in ("max_steps", "timeout"):
        return 0
    return exit_status(record.exit_code)
