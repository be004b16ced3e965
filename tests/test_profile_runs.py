"""``greenlint profile`` on real tiny training scripts: bounds, exit codes, output, measurements."""

from __future__ import annotations

import json

import pytest

from profiling_scripts.harness import line_of, profile_run

STALL = "stall_train.py"
BUSY = "busy_train.py"


def test_max_steps_stops_the_program_cleanly_and_says_it_was_sampled() -> None:
    outcome = profile_run(STALL, ("--max-steps", "12"))
    assert outcome.code == 0, outcome.stderr
    profile = outcome.profile
    assert profile is not None
    assert profile.run.stopped_by == "max_steps" and profile.run.sampled
    assert profile.run.exit_code == 0  # the recorder ended the program with SystemExit(0)
    assert profile.steps.count == 12
    # the recorder stops the program inside the 12th optimizer.step(), before that step prints
    assert "step 11 loss" in outcome.stdout and "step 12 loss" not in outcome.stdout
    assert "sampled: stopped after 12 optimizer steps (--max-steps 12)" in outcome.stderr


def test_python_dash_m_runs_a_module_under_the_recorder() -> None:
    outcome = profile_run("-m", ("--max-steps", "3"), ("tests.profiling_scripts.stall_train",), name="dash-m")
    assert outcome.code == 0, outcome.stderr
    profile = outcome.profile
    assert profile is not None and profile.steps.count == 3 and profile.run.stopped_by == "max_steps"
    assert profile.run.command[1:] == ["-m", "tests.profiling_scripts.stall_train"]
    step_site = profile.measurements.training_stack[0]
    assert step_site.path.endswith("stall_train.py") and step_site.function == "main"


def test_program_output_passes_through_untouched() -> None:
    outcome = profile_run(STALL, ("--max-steps", "12"))
    assert outcome.stdout.startswith("stall_train starting\n")
    assert "stall_train note on stderr" in outcome.stderr
    assert "stall_train note on stderr" not in outcome.stdout
    assert "greenlint profile:" not in outcome.stdout  # the summary goes to stderr


def test_exit_code_and_streams_of_a_program_without_torch() -> None:
    outcome = profile_run("plain.py")
    assert outcome.code == 3
    assert outcome.stdout == "plain stdout line\n"
    assert "plain stderr line" in outcome.stderr
    profile = outcome.profile
    assert profile is not None and profile.run.exit_code == 3 and not profile.run.sampled
    assert not profile.measurements.recorded
    assert any("recorder reported nothing" in note and "greenlint[measure]" in note for note in profile.notes)


def test_a_crashing_program_is_reported_with_its_exit_code() -> None:
    outcome = profile_run(STALL, ("--max-steps", "50"), ("--crash-after", "3"))
    assert outcome.code == 1
    assert "RuntimeError: diverged at step 3" in outcome.stderr
    profile = outcome.profile
    assert profile is not None
    assert profile.run.exit_code == 1 and profile.run.stopped_by is None and not profile.run.sampled
    assert profile.steps.count == 3
    assert "exit code 1" in outcome.stderr


def test_timeout_stops_a_training_loop_at_a_step_boundary() -> None:
    # long enough for torch to import and the loop to reach its first step on a busy machine
    outcome = profile_run(STALL, ("--timeout", "6"))
    assert outcome.code == 0, outcome.stderr
    profile = outcome.profile
    assert profile is not None and profile.run.stopped_by == "timeout" and profile.run.sampled
    assert profile.run.exit_code == 0  # stopped by the recorder, not interrupted
    assert profile.steps.count > 0
    assert "KeyboardInterrupt" not in outcome.stderr
    assert outcome.elapsed < 20


def test_timeout_interrupts_a_program_that_never_steps() -> None:
    outcome = profile_run("sleeper.py", ("--timeout", "1.5"))
    assert outcome.code == 0
    profile = outcome.profile
    assert profile is not None and profile.run.stopped_by == "timeout"
    assert profile.run.exit_code != 0  # it had to be interrupted
    assert profile.steps.count == 0
    assert any("interrupted (SIGINT)" in note for note in profile.notes)
    assert profile.run.duration_s < 25


def test_missing_nvml_and_rapl_degrade_with_notes_and_estimated_energy() -> None:
    profile = profile_run(STALL, ("--max-steps", "12")).profile
    assert profile is not None
    sources = {s.name: s for s in profile.sources}
    if not sources["nvml"].available:
        assert sources["nvml"].note and "no GPU was measured" in sources["nvml"].note
        assert sources["nvml"].note in profile.notes
    if not sources["rapl"].available:
        assert "CPU energy is estimated" in (sources["rapl"].note or "")
        cpu = next(c for c in profile.energy.components if c.name == "cpu")
        assert not cpu.measured and cpu.method.startswith("estimate: 12 W per busy core")
        assert cpu.joules > 0
    assert profile.energy.total_j > 0 and profile.energy.per_step_j is not None


def test_data_stall_syncs_eval_forwards_and_precision_of_the_stalling_loop() -> None:
    profile = profile_run(STALL, ("--max-steps", "12")).profile
    assert profile is not None
    m = profile.measurements
    loader = m.data_loading.loaders[0]
    assert loader.site is not None and loader.site.line == line_of(STALL, "loader")
    assert loader.num_workers == 0 and loader.batch_size == 4
    assert loader.stall_fraction is not None and loader.stall_fraction > 0.2
    assert m.data_loading.stall_fraction > 0.2
    (sync,) = [s for s in m.host_syncs.sites if s.site.line == line_of(STALL, "sync")]
    assert sync.method == "item" and sync.calls == 11 and sync.device_calls == 0  # step 12 stopped before its print
    (forward,) = m.eval_forwards
    assert forward.site.line == line_of(STALL, "eval-forward") and forward.site.function == "evaluate"
    assert forward.calls == forward.grad_calls == forward.graph_calls == 4  # two evaluations of two batches
    assert m.precision.autocast == {} and not m.precision.grad_scaler_used
    assert m.checkpoints.count == 0
    assert m.training_stack[0].function == "main"


def test_autocast_checkpoints_and_frozen_eval_of_the_busy_loop() -> None:
    outcome = profile_run(BUSY, (), ("{out}",), name="busy")
    assert outcome.code == 0, outcome.stderr
    profile = outcome.profile
    assert profile is not None and profile.run.stopped_by is None and not profile.run.sampled
    m = profile.measurements
    assert profile.steps.count == 20
    assert m.precision.autocast == {"cpu:bfloat16": 20}
    assert [w.step for w in m.checkpoints.writes] == [5, 10, 15, 20]
    assert all(w.via == "torch.save" and w.target.endswith("ckpt.pt") for w in m.checkpoints.writes)
    (forward,) = m.eval_forwards
    assert forward.calls == 2 and forward.grad_calls == 2 and forward.graph_calls == 0
    loader = m.data_loading.loaders[0]
    assert loader.stall_fraction is not None and loader.stall_fraction < 0.10
    (sync,) = [s for s in m.host_syncs.sites if s.site.line == line_of(BUSY, "sync")]
    assert sync.calls == 2  # every 10 steps
    assert "busy_train done" in outcome.stdout


def test_model_flops_and_extrapolation_from_the_programs_own_epochs() -> None:
    profile = profile_run("../../examples/train_mnist_like.py", ("--max-steps", "40"), name="example").profile
    assert profile is not None
    (model,) = [m for m in profile.measurements.models if m.trained]
    assert model.name == "SmallCNN" and model.input_shapes == [[64, 1, 28, 28]]
    # width 64: conv1 28*28*64*9, conv2 14*14*128*64*9, head 6272*10, per sample, for a batch of 64
    assert model.forward_macs == 64 * (28 * 28 * 64 * 9 + 14 * 14 * 128 * 64 * 9 + 6272 * 10)
    assert model.flops_method is not None
    assert profile.steps.total_steps == 20 * 32
    assert profile.steps.total_steps_source == "args.epochs = 20 epochs x 32 batches per epoch in main()"
    extrapolation = profile.energy.extrapolation
    assert extrapolation is not None and extrapolation.total_steps == 640
    assert extrapolation.energy_j is not None and extrapolation.energy_j > profile.energy.steps_window_j


def test_total_steps_option_overrides_the_program() -> None:
    profile = profile_run(STALL, ("--max-steps", "6", "--total-steps", "1000")).profile
    assert profile is not None
    assert profile.steps.total_steps == 1000 and profile.steps.total_steps_source == "--total-steps"
    assert profile.energy.extrapolation is not None and profile.energy.extrapolation.total_steps == 1000


def test_compare_precision_times_fp32_against_autocast() -> None:
    outcome = profile_run(STALL, ("--max-steps", "4", "--compare-precision", "--compare-steps", "3"))
    assert outcome.code == 0, outcome.stderr
    comparison = outcome.profile.precision_comparison
    assert comparison is not None and comparison.error is None
    assert comparison.device == "cpu" and comparison.dtype == "bfloat16" and comparison.steps == 3
    assert comparison.fp32.step_s > 0 and comparison.autocast.step_s > 0
    assert comparison.speedup == pytest.approx(comparison.fp32.step_s / comparison.autocast.step_s, rel=1e-5)
    assert comparison.fp32.energy_j is not None
    # the comparison's own steps and autocast are not counted as the program's
    assert outcome.profile.steps.count == 4 and outcome.profile.measurements.precision.autocast == {}
    assert "fp32 vs amp" in outcome.stderr


def test_profile_file_is_deterministic_json_with_a_version() -> None:
    outcome = profile_run(STALL, ("--max-steps", "12"))
    text = outcome.output.read_text()
    data = json.loads(text)
    assert data["schema_version"] == "1.0"
    assert text == outcome.profile.to_json()
    assert list(data) == sorted(data)
