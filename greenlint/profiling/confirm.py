"""Confirm or refute static findings with a measured profile, and add what it alone saw.

A finding is judged only when the profile measured the code it points at: a DataLoader
created on its line, host reads or eval-mode forwards in its function, or (for
precision and checkpoints) a training loop that ran through it. It then comes back
``confirmed`` or ``not confirmed`` with the numbers in ``evidence``. Findings about code
the sampled run never reached, and rules with nothing to measure, are left unmarked.

Measurement can also raise findings of its own (``confirmation="measured"``) where no
static finding covers what it saw: a GPU idle most of the time, a data loader that still
starves the steps, device syncs every step, eval forwards that build autograd graphs.
They bypass suppression comments and baselines, which apply to static findings.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from greenlint.config import ConfigError
from greenlint.findings import Confidence, Finding, Severity
from greenlint.profiling.schema import (
    EvalForward,
    LoaderMeasure,
    Profile,
    ProfileError,
    Site,
    SyncSite,
    load,
)
from greenlint.result import RunResult

#: GL501 is confirmed when a loader keeps the program waiting this share of the time it
#: is iterated; a measured finding is raised from this share for loaders not flagged.
STALL_CONFIRMS = 0.10
STALL_MEASURED = 0.30
#: GL502 is confirmed at this many device-to-host syncs per optimizer step (about every
#: step; half allows for a sync placed before the step that a bound cut short).
SYNCS_PER_STEP = 0.5
#: Mean GPU busy share (NVML utilisation) under which measurement raises a finding.
LOW_GPU_UTIL = 40.0
#: A runtime site within this many lines of a finding is the same call (multi-line calls).
LINE_SLACK = 3

CONFIRMED = "confirmed"
NOT_CONFIRMED = "not confirmed"
MEASURED = "measured"


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    confirmation: str
    evidence: str


class _Locator:
    """Maps finding paths (relative to the project root) to the profile's absolute paths."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache: dict[str, str] = {}

    def real(self, path: str) -> str:
        found = self.cache.get(path)
        if found is None:
            found = self.cache[path] = os.path.realpath(path)
        return found

    def finding_path(self, finding: Finding) -> str:
        return self.real(str(self.root / finding.path))

    def same(self, site: Site, finding: Finding) -> bool:
        return self.real(site.path) == self.finding_path(finding)

    def encloses(self, site: Site, finding: Finding) -> bool:
        return self.same(site, finding) and site.first_line <= finding.line <= site.last_line

    def relative(self, site: Site) -> str | None:
        """The site's path relative to the root, or None when it lies outside the project."""
        path = Path(self.real(site.path))
        try:
            return path.relative_to(self.real(str(self.root))).as_posix()
        except ValueError:
            return None


def apply_profile(result: RunResult, profile: Path) -> RunResult:
    """``greenlint check --profile FILE``: the run's findings judged by a measured profile."""
    try:
        measured = load(Path(profile))
    except ProfileError as error:
        raise ConfigError(str(error)) from None
    findings = confirm_findings(result.findings, measured, Path(result.root))
    return dataclasses.replace(result, findings=tuple(sorted(findings)))


def confirm_findings(findings: Iterable[Finding], profile: Profile, root: Path) -> list[Finding]:
    """Each finding, marked where the profile can judge it, plus the measured findings."""
    locator = _Locator(root)
    judged = []
    for finding in findings:
        judge = JUDGES.get(finding.code)
        verdict = judge(finding, profile, locator) if judge is not None else None
        if verdict is not None:
            finding = dataclasses.replace(finding, confirmation=verdict.confirmation, evidence=verdict.evidence)
        judged.append(finding)
    return judged + measured_findings(profile, locator, judged)


# ---- judges -----------------------------------------------------------------------------


def _gpu_busy(profile: Profile) -> tuple[float, int] | None:
    """Mean NVML utilisation of the run's GPUs over the measured steps, and readings used."""
    steps = profile.steps
    used = {g.index for s in profile.samples for g in s.gpus if g.used_by_run}
    if not used and profile.measurements.cuda_used:
        used = {g.index for g in profile.machine.gpus}
    if not used:
        return None
    start = steps.first_step_s if steps.first_step_s is not None else 0.0
    end = steps.last_step_s if steps.last_step_s is not None else profile.run.duration_s
    values = [g.util_pct for s in profile.samples if start <= s.t <= end
              for g in s.gpus if g.index in used and g.util_pct is not None]
    if not values:
        return None
    return sum(values) / len(values), len(values)


def _gpu_clause(profile: Profile) -> str:
    busy = _gpu_busy(profile)
    return f"; the GPU was busy {busy[0]:.0f}% of the measured steps on average (NVML, {busy[1]} readings)" if busy else ""


def _in_training(finding: Finding, profile: Profile, locator: _Locator) -> bool:
    return profile.steps.count > 0 and any(locator.encloses(s, finding) for s in profile.measurements.training_stack)


def _sampled(profile: Profile) -> str:
    return " (a sampled run)" if profile.run.sampled else ""


def judge_dataloader(finding: Finding, profile: Profile, locator: _Locator) -> Verdict | None:
    data = profile.measurements.data_loading
    if data is None:
        return None
    loader = _nearest(
        [(l.site, l) for l in data.loaders if l.site is not None and locator.same(l.site, finding)], finding.line)
    if loader is None or loader.fetches == 0 or loader.stall_fraction is None:
        return None
    numbers = (f"the DataLoader at line {loader.site.line if loader.site else '?'} (num_workers={loader.num_workers}) kept "
               f"the program waiting {loader.stall_fraction:.0%} of the time it was iterated: {loader.wait_s:.2f} s of "
               f"{loader.pass_s:.2f} s over {loader.fetches} batches")
    if loader.wait_in_steps_s > 0 and data.window_s > 0:
        numbers += f"; {loader.wait_in_steps_s / data.window_s:.0%} of the measured training steps' time"
    numbers += _gpu_clause(profile)
    if loader.stall_fraction >= STALL_CONFIRMS:
        return Verdict(CONFIRMED, numbers)
    return Verdict(NOT_CONFIRMED, numbers + f"; under {STALL_CONFIRMS:.0%}, loading is not what the run waits for")


def _nearest(candidates: list[tuple[Site, LoaderMeasure]], line: int) -> LoaderMeasure | None:
    close = [(abs(site.line - line), item) for site, item in candidates if abs(site.line - line) <= LINE_SLACK]
    return min(close, key=lambda pair: pair[0])[1] if close else None


def judge_host_sync(finding: Finding, profile: Profile, locator: _Locator) -> Verdict | None:
    syncs = profile.measurements.host_syncs
    steps = profile.steps.count
    if syncs is None or steps == 0:
        return None
    sites: list[SyncSite] = [s for s in syncs.sites if locator.encloses(s.site, finding)]
    if not sites:
        return None
    calls = sum(s.calls for s in sites)
    device = sum(s.device_calls for s in sites)
    shown = ", ".join(f".{s.method}() at line {s.site.line} x{s.calls}" for s in sites[:4])
    where = f"in {sites[0].site.function}() ({shown})"
    if not profile.measurements.cuda_used and device == 0:
        return Verdict(NOT_CONFIRMED, f"{calls / steps:.2f} host reads per step {where} over {steps} steps, all of CPU tensors: "
                       "the run used no GPU, so nothing waited on a device; profile it on the GPU to judge")
    per_step = device / steps
    numbers = f"{per_step:.2f} device-to-host syncs per optimizer step {where}, {device} of {calls} reads on a device tensor"
    numbers += _gpu_clause(profile)
    if per_step >= SYNCS_PER_STEP:
        return Verdict(CONFIRMED, numbers)
    return Verdict(NOT_CONFIRMED, numbers + "; fewer than one every other step")


def judge_precision(finding: Finding, profile: Profile, locator: _Locator) -> Verdict | None:
    precision = profile.measurements.precision
    if precision is None or not _in_training(finding, profile, locator):
        return None
    steps = profile.steps.count
    if precision.autocast or precision.grad_scaler_used or precision.half_parameters:
        parts = []
        if precision.autocast:
            parts.append("autocast entered " + ", ".join(f"{count} times ({kind})" for kind, count in precision.autocast.items()))
        if precision.grad_scaler_used:
            parts.append("a GradScaler scaled the loss")
        if precision.half_parameters:
            parts.append(f"parameters in {', '.join(precision.half_parameters)}")
        return Verdict(NOT_CONFIRMED, f"during {steps} optimizer steps: " + "; ".join(parts))
    device = "the GPU" if profile.measurements.cuda_used else "the CPU"
    evidence = f"autocast was never entered and no GradScaler was used in {steps} optimizer steps on {device}{_sampled(profile)}"
    comparison = profile.precision_comparison
    if comparison is not None and comparison.fp32 and comparison.autocast and comparison.speedup:
        evidence += (f"; --compare-precision on {comparison.device}: {comparison.fp32.step_s * 1000:.1f} ms per fp32 step vs "
                     f"{comparison.autocast.step_s * 1000:.1f} ms under {comparison.dtype} autocast ({comparison.speedup:.2f}x)")
        if comparison.energy_ratio is not None:
            evidence += f", {comparison.energy_ratio:.2f}x the energy per step"
    return Verdict(CONFIRMED, evidence)


def judge_checkpoint(finding: Finding, profile: Profile, locator: _Locator) -> Verdict | None:
    checkpoints = profile.measurements.checkpoints
    if checkpoints is None or not _in_training(finding, profile, locator):
        return None
    steps = profile.steps.count
    during = [w for w in checkpoints.writes if w.step < steps]
    if during:
        first = during[0]
        return Verdict(NOT_CONFIRMED, f"state was written {len(during)} times while training, first at step {first.step} "
                       f"({first.via} to {os.path.basename(first.target)})")
    if checkpoints.count:
        last = checkpoints.writes[-1] if checkpoints.writes else None
        via = f" ({last.via} to {os.path.basename(last.target)})" if last else ""
        return Verdict(CONFIRMED, f"state was written only after the last of {steps} optimizer steps{via}")
    duration = ""
    if profile.steps.first_step_s is not None and profile.steps.last_step_s is not None:
        duration = f", {profile.steps.last_step_s - profile.steps.first_step_s:.1f} s of training"
    return Verdict(CONFIRMED, f"no state was written in {steps} optimizer steps{duration}{_sampled(profile)}")


def judge_grad_in_inference(finding: Finding, profile: Profile, locator: _Locator) -> Verdict | None:
    forwards: list[EvalForward] = [f for f in profile.measurements.eval_forwards if locator.encloses(f.site, finding)]
    if not forwards:
        return None
    calls = sum(f.calls for f in forwards)
    grad = sum(f.grad_calls for f in forwards)
    graphs = sum(f.graph_calls for f in forwards)
    models = ", ".join(sorted({f.model for f in forwards}))
    where = f"{calls} {models} forwards in eval mode in {forwards[0].site.function}()"
    if graphs:
        return Verdict(CONFIRMED, f"{where}: {grad} ran with gradients enabled and {graphs} built an autograd graph "
                       "(activations kept for a backward pass that never came)")
    if grad:
        return Verdict(NOT_CONFIRMED, f"{where}: {grad} ran with gradients enabled but none built an autograd graph "
                       "(the model's parameters do not require grad), so no activations were kept")
    return Verdict(NOT_CONFIRMED, f"{where}: all ran with gradients disabled")


JUDGES: dict[str, Callable[[Finding, Profile, _Locator], Verdict | None]] = {
    "GL401": judge_precision,
    "GL402": judge_checkpoint,
    "GL501": judge_dataloader,
    "GL502": judge_host_sync,
    "GL503": judge_grad_in_inference,
}


# ---- findings raised by the measurement ----------------------------------------------------


def _measured(code: str, name: str, category: str, tactics: tuple[str, ...], path: str, line: int,
              message: str, fix: str, evidence: str) -> Finding:
    return Finding(
        path=path, line=line, column=1, code=code, name=name, severity=Severity.WARNING,
        confidence=Confidence.HIGH, tactics=tactics, category=category, message=message, fix=fix,
        confirmation=MEASURED, evidence=evidence,
    )


def measured_findings(profile: Profile, locator: _Locator, findings: list[Finding]) -> list[Finding]:
    """Findings the measurement raises where no static finding already says the same."""
    raised: list[Finding] = []
    m = profile.measurements
    covered = {code: [f for f in findings if f.code == code and f.confirmation is not None] for code in JUDGES}
    step_site = m.training_stack[0] if m.training_stack else None
    busy = _gpu_busy(profile)
    if busy is not None and busy[0] < LOW_GPU_UTIL and step_site is not None:
        path = locator.relative(step_site)
        if path is not None:
            raised.append(_measured(
                "GL691", "low-gpu-utilisation", "management", ("T30", "T24"), path, step_site.line,
                f"the GPU was busy only {busy[0]:.0f}% of this training's measured steps: it draws power idling the rest",
                "find what the steps wait for (data loading, host syncs, small batches) or train on a smaller GPU",
                f"NVML utilisation, mean of {busy[1]} readings over {profile.steps.count} optimizer steps",
            ))
    if m.data_loading is not None:
        for loader in m.data_loading.loaders:
            if loader.site is None or loader.stall_fraction is None or loader.stall_fraction < STALL_MEASURED:
                continue
            if any(locator.same(loader.site, f) and abs(loader.site.line - f.line) <= LINE_SLACK for f in covered["GL501"]):
                continue
            path = locator.relative(loader.site)
            if path is not None:
                raised.append(_measured(
                    "GL591", "data-loader-stall", "deployment", ("T27",), path, loader.site.line,
                    f"this DataLoader (num_workers={loader.num_workers}) kept the program waiting "
                    f"{loader.stall_fraction:.0%} of the time it was iterated",
                    "raise num_workers, set pin_memory and persistent_workers, or move decoding and augmentation off the critical path",
                    f"{loader.wait_s:.2f} s waiting of {loader.pass_s:.2f} s over {loader.fetches} batches",
                ))
    syncs = m.host_syncs
    if syncs is not None and profile.steps.count and step_site is not None:
        in_loop = [s for s in syncs.sites
                   if locator.real(s.site.path) == locator.real(step_site.path) and s.site.first_line == step_site.first_line]
        device = sum(s.device_calls for s in in_loop)
        if in_loop and device / profile.steps.count >= 1 and not any(
            locator.encloses(in_loop[0].site, f) for f in covered["GL502"]
        ):
            first = min(in_loop, key=lambda s: s.site.line)
            path = locator.relative(first.site)
            if path is not None:
                raised.append(_measured(
                    "GL592", "device-sync-per-step", "deployment", ("T27",), path, first.site.line,
                    f"the training loop read a device tensor on the host {device / profile.steps.count:.1f} times per step",
                    "keep values on the device (loss.detach()) and read them every N steps",
                    ", ".join(f".{s.method}() at line {s.site.line}: {s.device_calls} device reads" for s in in_loop[:4]),
                ))
    for forward in m.eval_forwards:
        if not forward.graph_calls or any(locator.encloses(forward.site, f) for f in covered["GL503"]):
            continue
        path = locator.relative(forward.site)
        if path is not None:
            raised.append(_measured(
                "GL593", "graph-in-eval", "deployment", ("T27", "T20"), path, forward.site.line,
                f"{forward.model} ran {forward.graph_calls} forwards in eval mode that built an autograd graph",
                "run evaluation under torch.inference_mode() or torch.no_grad()",
                f"{forward.graph_calls} of {forward.calls} eval-mode forwards in {forward.site.function}() kept activations for backward",
            ))
    return raised
