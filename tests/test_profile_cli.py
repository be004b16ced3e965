"""The ``greenlint profile`` command line, the live view and the summary."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from profiling_scripts.harness import profile_run

from greenlint.cli import build_parser, main
from greenlint.profiling.live import LiveView, render_progress
from greenlint.profiling.runner import Progress, exit_status
from greenlint.profiling.schema import Sample, from_dict
from greenlint.profiling.summary import summary_rows


def parse(argv: list[str]):  # type: ignore[no-untyped-def]
    return build_parser().parse_args(argv)


def test_everything_after_the_double_dash_is_the_command() -> None:
    args = parse(["profile", "--max-steps", "50", "--", "python", "train.py", "--lr", "3e-4", "-m", "x"])
    assert args.command == "profile" and args.max_steps == 50
    assert [a for a in args.program if a != "--"] == ["python", "train.py", "--lr", "3e-4", "-m", "x"]
    args = parse(["profile", "--timeout", "30", "python", "-m", "trainer.main", "--epochs", "2"])
    assert args.timeout == 30.0 and args.program == ["python", "-m", "trainer.main", "--epochs", "2"]


def test_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["profile", "--max-steps", "5"]) == 2
    assert capsys.readouterr().err == "greenlint: error: no command to profile: greenlint profile [OPTIONS] -- python train.py ARGS...\n"
    assert main(["profile", "--max-steps", "0", "--", "python", "x.py"]) == 2
    assert "--max-steps must be 1 or more" in capsys.readouterr().err
    missing = str(tmp_path / "no-such-program")
    assert main(["profile", "-o", str(tmp_path / "p.json"), "--", missing]) == 2
    assert f"cannot run {missing!r}" in capsys.readouterr().err
    assert not (tmp_path / "p.json").exists()


def test_exit_status_of_a_program_killed_by_a_signal() -> None:
    assert exit_status(0) == 0 and exit_status(3) == 3 and exit_status(-9) == 137 and exit_status(None) == 1


def test_live_view_shows_progress_and_prints_program_output_above_it() -> None:
    stream = io.StringIO()
    view = LiveView("python train.py", 50, stream=stream, forward_stdout=True)
    assert view.forwards == frozenset({"stdout", "stderr"})
    progress = Progress(started=time.time() - 2.0, steps=10, first_step_at=time.time() - 1.0, last_step_at=time.time())
    progress.sample = Sample(1.5, 3.0, 1.75, 300 * 2**20, 2, [], {})
    view.update(progress)
    view.output("stdout", b"epoch 1 done\nhalf a li")
    view.output("stderr", b"10%\r50%\r100%\n")
    view.close()
    text = stream.getvalue()
    assert "epoch 1 done\n" in text and "100%\n" in text and "10%" not in text
    assert "half a li" in text  # flushed at the end
    assert LiveView("x", None, stream=io.StringIO(), forward_stdout=False).forwards == frozenset({"stderr"})


def test_rendered_progress_has_steps_rate_and_readings() -> None:
    progress = Progress(started=time.time() - 2.0, steps=10, first_step_at=100.0, last_step_at=101.0)
    progress.sample = Sample(1.5, 3.0, 1.75, 300 * 2**20, 2, [], {})
    from rich.console import Console

    console = Console(file=io.StringIO(), width=120)
    console.print(render_progress(progress, "python train.py", 50))
    text = console.file.getvalue()
    assert "steps 10 / 50" in text and "9.00 steps/s" in text
    assert "1.75 cores busy" in text and "rss 300.0 MiB" in text


def test_summary_names_the_bound_the_measurements_and_the_energy_method() -> None:
    outcome = profile_run("stall_train.py", ("--max-steps", "12"))
    rows = dict(summary_rows(outcome.profile))
    assert rows["run"].startswith("sampled: stopped after 12 optimizer steps (--max-steps 12)")
    assert "of step time waits on the data loader" in rows["data"]
    assert rows["checkpoints"] == "none written in 12 steps"
    assert "12 W per busy core" in rows["energy"] or "RAPL" in rows["energy"]
    for label in ("run", "steps", "data", "precision", "checkpoints", "host reads", "eval", "energy"):
        assert f"\n{label}" in "\n" + outcome.stderr.split("greenlint profile:", 1)[1].split("\n", 1)[1]


def test_profile_reader_accepts_newer_minor_versions_and_ignores_new_fields() -> None:
    outcome = profile_run("stall_train.py", ("--max-steps", "12"))
    data = json.loads(outcome.output.read_text())
    data["schema_version"] = "1.7"
    data["run"]["added_in_1_7"] = {"anything": True}
    profile = from_dict(data)
    assert profile.steps == outcome.profile.steps and profile.schema_version == "1.7"
