"""Findings confirmed or refuted by profiles of real runs, and findings raised by measurement."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest
from profiling_scripts.harness import REPO, SCRIPTS, line_of, profile_run

from greenlint.cli import main
from greenlint.config import ConfigError
from greenlint.findings import Finding
from greenlint.profiling.confirm import apply_profile, confirm_findings
from greenlint.profiling.schema import GpuDevice, GpuSample, Profile
from greenlint.result import RunResult
from greenlint.rules import all_rules

STALL = "stall_train.py"
BUSY = "busy_train.py"
RULES = {rule.code: rule for rule in all_rules()}


def stall_profile() -> Profile:
    profile = profile_run(STALL, ("--max-steps", "12")).profile
    assert profile is not None
    return profile


def busy_profile() -> Profile:
    profile = profile_run(BUSY, (), ("{out}",), name="busy").profile
    assert profile is not None
    return profile


def finding(code: str, script: str, line: int) -> Finding:
    return RULES[code].finding(script, line, 5, f"{code} says so", "fix it")


def judged(code: str, script: str, marker: str, profile: Profile) -> Finding:
    (result, *_) = confirm_findings([finding(code, script, line_of(script, marker))], profile, SCRIPTS)
    return result


def test_data_loader_stall_confirms_dataloader_no_workers() -> None:
    result = judged("GL501", STALL, "loader", stall_profile())
    assert result.confirmation == "confirmed"
    assert "(num_workers=0) kept the program waiting" in result.evidence
    assert result.evidence.endswith("of the measured training steps' time")


def test_a_loader_that_keeps_up_refutes_dataloader_no_workers() -> None:
    result = judged("GL501", BUSY, "loader", busy_profile())
    assert result.confirmation == "not confirmed"
    assert "loading is not what the run waits for" in result.evidence


def test_no_state_written_confirms_missing_checkpoint() -> None:
    result = judged("GL402", STALL, "step-loop", stall_profile())
    assert result.confirmation == "confirmed"
    assert result.evidence.startswith("no state was written in 12 optimizer steps")
    assert "(a sampled run)" in result.evidence


def test_checkpoints_during_training_refute_missing_checkpoint() -> None:
    result = judged("GL402", BUSY, "step-loop", busy_profile())
    assert result.confirmation == "not confirmed"
    assert result.evidence == "state was written 3 times while training, first at step 5 (torch.save to ckpt.pt)"


def test_a_save_only_after_the_last_step_still_confirms_missing_checkpoint() -> None:
    profile = busy_profile()
    checkpoints = profile.measurements.checkpoints
    last_only = dataclasses.replace(checkpoints, count=1, writes=[w for w in checkpoints.writes if w.step == 20])
    profile = dataclasses.replace(profile, measurements=dataclasses.replace(profile.measurements, checkpoints=last_only))
    result = judged("GL402", BUSY, "step-loop", profile)
    assert result.confirmation == "confirmed"
    assert "only after the last of 20 optimizer steps" in result.evidence


def test_autocast_never_entered_confirms_no_mixed_precision() -> None:
    result = judged("GL401", STALL, "step-loop", stall_profile())
    assert result.confirmation == "confirmed"
    assert "autocast was never entered" in result.evidence and "on the CPU" in result.evidence


def test_autocast_used_refutes_no_mixed_precision() -> None:
    result = judged("GL401", BUSY, "step-loop", busy_profile())
    assert result.confirmation == "not confirmed"
    assert "autocast entered 20 times (cpu:bfloat16)" in result.evidence


def test_graph_building_eval_forwards_confirm_grad_in_inference() -> None:
    result = judged("GL503", STALL, "eval-forward", stall_profile())
    assert result.confirmation == "confirmed"
    assert result.evidence.startswith("4 Sequential forwards in eval mode in evaluate(): 4 ran with gradients enabled and 4 built")


def test_frozen_model_refutes_grad_in_inference() -> None:
    result = judged("GL503", BUSY, "eval-forward", busy_profile())
    assert result.confirmation == "not confirmed"
    assert "none built an autograd graph" in result.evidence


def _on_gpu(profile: Profile, device_share: float) -> Profile:
    """The same run as if its host reads had read CUDA tensors (share of them)."""
    syncs = profile.measurements.host_syncs
    sites = [dataclasses.replace(s, device_calls=int(s.calls * device_share)) for s in syncs.sites]
    measurements = dataclasses.replace(profile.measurements, cuda_used=True,
                                       host_syncs=dataclasses.replace(syncs, sites=sites))
    return dataclasses.replace(profile, measurements=measurements)


def test_host_syncs_every_step_on_a_device_confirm_host_sync_in_loop() -> None:
    result = judged("GL502", STALL, "sync", _on_gpu(stall_profile(), 1.0))
    assert result.confirmation == "confirmed"
    assert result.evidence.startswith("0.92 device-to-host syncs per optimizer step in main() (.item() at line")


def test_rare_device_syncs_refute_host_sync_in_loop() -> None:
    result = judged("GL502", BUSY, "sync", _on_gpu(busy_profile(), 1.0))
    assert result.confirmation == "not confirmed"
    assert "0.10 device-to-host syncs per optimizer step" in result.evidence


def test_host_reads_of_cpu_tensors_do_not_confirm_host_sync_in_loop() -> None:
    result = judged("GL502", STALL, "sync", stall_profile())
    assert result.confirmation == "not confirmed"
    assert "all of CPU tensors: the run used no GPU" in result.evidence


def test_findings_in_code_the_run_never_reached_stay_unmarked() -> None:
    profile = stall_profile()
    unreached = [finding("GL503", STALL, 1), finding("GL501", BUSY, line_of(BUSY, "loader")),
                 finding("GL201", STALL, line_of(STALL, "loader"))]
    results = confirm_findings(unreached, profile, SCRIPTS)
    assert [(f.confirmation, f.evidence) for f in results[:3]] == [(None, None)] * 3


def _with_gpu(profile: Profile, util: float) -> Profile:
    first, last = profile.steps.first_step_s, profile.steps.last_step_s
    samples = [dataclasses.replace(s, gpus=[GpuSample(0, util, 2**30, 120.0, None, True)]) for s in profile.samples]
    samples.append(dataclasses.replace(profile.samples[0], t=(first + last) / 2, gpus=[GpuSample(0, util, 2**30, 120.0, None, True)]))
    machine = dataclasses.replace(profile.machine, gpus=[GpuDevice(0, "Fake GPU", 2**34, 300.0, False)])
    return dataclasses.replace(profile, samples=sorted(samples, key=lambda s: s.t), machine=machine)


def test_low_gpu_utilisation_is_raised_by_the_measurement() -> None:
    results = confirm_findings([], _with_gpu(stall_profile(), 22.0), SCRIPTS)
    (low,) = [f for f in results if f.code == "GL691"]
    assert low.confirmation == "measured" and low.name == "low-gpu-utilisation"
    assert (low.path, low.line) == (STALL, line_of(STALL, "step-loop") + 4)  # the optimizer.step() line
    assert "busy only 22%" in low.message


def test_a_busy_gpu_raises_nothing_and_is_cited_as_evidence() -> None:
    profile = _with_gpu(stall_profile(), 95.0)
    results = confirm_findings([finding("GL501", STALL, line_of(STALL, "loader"))], profile, SCRIPTS)
    assert [f.code for f in results if f.confirmation == "measured" and f.code == "GL691"] == []
    assert "the GPU was busy 95% of the measured steps" in results[0].evidence


def test_measurement_raises_what_no_static_finding_covers() -> None:
    results = confirm_findings([], stall_profile(), SCRIPTS)
    raised = {(f.code, f.line) for f in results}
    assert ("GL591", line_of(STALL, "loader")) in raised  # the loader stalls
    assert ("GL593", line_of(STALL, "eval-forward")) in raised  # eval forwards build graphs
    assert all(f.confirmation == "measured" for f in results)
    covered = confirm_findings([finding("GL501", STALL, line_of(STALL, "loader")),
                                finding("GL503", STALL, line_of(STALL, "eval-forward"))], stall_profile(), SCRIPTS)
    assert {f.code for f in covered} == {"GL501", "GL503"}


def _result(findings: list[Finding], root: Path) -> RunResult:
    return RunResult(root=str(root), findings=tuple(findings), diagnostics=(), files_checked=1, rules=tuple(all_rules()))


def test_apply_profile_marks_and_sorts_findings() -> None:
    path = profile_run(STALL, ("--max-steps", "12")).output
    result = apply_profile(_result([finding("GL503", STALL, line_of(STALL, "eval-forward")),
                                    finding("GL501", STALL, line_of(STALL, "loader"))], SCRIPTS), path)
    assert list(result.findings) == sorted(result.findings)
    assert {f.code: f.confirmation for f in result.findings if f.code in ("GL501", "GL503")} == {
        "GL501": "confirmed", "GL503": "confirmed"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not JSON"),
        ('{"schema_version": "2.0"}', "is not 1.x"),
        ('{"schema_version": "1.0", "machine": {}}', "missing"),
        ("[]", "a profile is a JSON object"),
    ],
)
def test_a_missing_or_invalid_profile_is_a_one_line_config_error(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "profile.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as raised:
        apply_profile(_result([], tmp_path), path)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_check_with_profile_confirms_and_refutes_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    """The acceptance scenario: profile the bundled example, then check it with the profile."""
    outcome = profile_run("../../examples/train_mnist_like.py", ("--max-steps", "40"), name="example")
    assert outcome.code == 0, outcome.stderr
    example = REPO / "examples" / "train_mnist_like.py"
    code = main(["check", str(example), "--profile", str(outcome.output), "--format", "json", "--no-cache",
                 "--min-confidence", "low"])  # a 20-epoch MNIST-like run: its advice is low confidence until measured
    report = json.loads(capsys.readouterr().out)
    assert code == 0  # examples/ reports without failing
    marks = {(f["code"], f["line"]): (f["confirmation"], f["evidence"]) for f in report["findings"]}
    # How long the loaders kept the run waiting is wall-clock time on a shared machine, so either
    # verdict can be right here; the thresholds are tested on the stall and busy scripts above.
    # What must hold is that each loader was measured and judged by its own line.
    loaders = {line: mark for (code, line), mark in marks.items() if code == "GL501"}
    assert len(loaders) == 2
    for line, (verdict, evidence) in loaders.items():
        assert verdict in ("confirmed", "not confirmed")
        assert f"the DataLoader at line {line} (num_workers=0)" in evidence and "of the time it was iterated" in evidence
    assert [mark[0] for (code, _), mark in marks.items() if code == "GL402"] == ["confirmed"]
    assert [mark[0] for (code, _), mark in marks.items() if code == "GL401"] == ["confirmed"]
    (grad,) = [mark for (code, _), mark in marks.items() if code == "GL503"]
    assert grad[0] == "not confirmed" and "none built an autograd graph" in grad[1]
    schema = json.loads((REPO / "greenlint" / "schemas" / "findings-v1.json").read_text())
    jsonschema.validate(report, schema)
