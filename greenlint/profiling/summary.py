"""The summary printed after a profiled run: what was measured, in a few lines."""

from __future__ import annotations

import os
import shlex

from rich.console import Console
from rich.table import Table
from rich.text import Text

from greenlint.profiling.live import format_bytes
from greenlint.profiling.schema import Profile, Site

STOP_WORDS = {
    "max_steps": "stopped after {steps} optimizer steps (--max-steps {max_steps})",
    "timeout": "stopped at the time limit (--timeout {timeout:g} s) after {steps} optimizer steps",
    "interrupt": "interrupted after {steps} optimizer steps",
}


def where(site: Site | None, cwd: str) -> str:
    if site is None:
        return "?"
    path = os.path.relpath(site.path, cwd) if os.path.isabs(site.path) else site.path
    return f"{path}:{site.line}"


def count(value: float) -> str:
    for factor, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= factor:
            return f"{value / factor:.2f} {unit}"
    return f"{value:.0f}"


def joules(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 3.6e5:
        return f"{value / 3.6e6:.3f} kWh"
    if value >= 1000:
        return f"{value / 1000:.2f} kJ"
    return f"{value:.2f} J"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def summary_rows(profile: Profile) -> list[tuple[str, str]]:
    """The summary as (label, text) rows; the printed table is made from these."""
    run, steps, m = profile.run, profile.steps, profile.measurements
    cwd = run.cwd
    rows: list[tuple[str, str]] = []
    if run.stopped_by in STOP_WORDS:
        how = STOP_WORDS[run.stopped_by].format(steps=steps.count, max_steps=run.max_steps, timeout=run.timeout_s or 0)
        how = ("sampled: " if run.sampled else "") + how
    else:
        how = f"ran to its end ({steps.count} optimizer steps)"
    rows.append(("run", f"{how}; {seconds(run.duration_s)}; exit code {run.exit_code}"))
    if steps.count:
        rate = f"{steps.steps_per_s:.2f} steps/s, " if steps.steps_per_s else ""
        timing = f"median {seconds(steps.median_s)}/step (p90 {seconds(steps.p90_s)})" if steps.median_s else "one step"
        rows.append(("steps", f"{steps.count} steps, {rate}{timing}; the first step is left out as warm-up"))
    gpu_rows = _gpu_summary(profile)
    rows.extend(gpu_rows)
    data = m.data_loading
    if data is not None and data.stall_fraction is not None:
        worst = max(data.loaders, key=lambda l: l.wait_in_steps_s, default=None)
        loader = ""
        if worst is not None and worst.wait_in_steps_s > 0:
            loader = f" (DataLoader at {where(worst.site, cwd)}, num_workers={worst.num_workers})"
        rows.append(("data", f"{data.stall_fraction:.0%} of step time waits on the data loader{loader}"))
    if m.precision is not None and m.recorded:
        if m.precision.autocast:
            used = ", ".join(f"{k} x{v}" for k, v in m.precision.autocast.items())
            text = f"autocast entered ({used})"
        else:
            text = "autocast never entered"
        text += "; GradScaler used" if m.precision.grad_scaler_used else "; no GradScaler"
        if m.precision.half_parameters:
            text += f"; parameters in {', '.join(m.precision.half_parameters)}"
        rows.append(("precision", text))
    if m.checkpoints is not None and m.recorded:
        if m.checkpoints.count:
            first = m.checkpoints.writes[0] if m.checkpoints.writes else None
            at = f", first at step {first.step} ({first.via} to {os.path.basename(first.target)})" if first else ""
            rows.append(("checkpoints", f"{m.checkpoints.count} written{at}"))
        else:
            rows.append(("checkpoints", f"none written in {steps.count} steps"))
    syncs = m.host_syncs
    if syncs is not None and syncs.per_step is not None and m.training_stack:
        step_site = m.training_stack[0]
        in_loop = [s for s in syncs.sites if step_site.encloses(s.site.path, s.site.line)]
        calls = sum(s.calls for s in in_loop)
        device = sum(s.device_calls for s in in_loop)
        shown = ", ".join(f".{s.method}() at line {s.site.line}" for s in in_loop[:3])
        rows.append(("host reads", f"{calls / steps.count:.2f} per step in the training loop ({step_site.function}()"
                     + (f": {shown}" if shown else "") + f"), {device / steps.count:.2f} per step on a device tensor; "
                     f"{syncs.device_per_step or 0:.2f} device syncs per step in all"))
    for forward in m.eval_forwards:
        rows.append(("eval", f"{forward.calls} {forward.model} forwards in eval mode at {where(forward.site, cwd)} "
                     f"({forward.site.function}()): {forward.grad_calls} with gradients enabled, "
                     f"{forward.graph_calls} built an autograd graph"))
    for model in m.models:
        if not model.trained:
            continue
        shape = f" for input {model.input_shapes[0]}" if model.input_shapes else ""
        macs = (f"{count(model.forward_macs)} MACs per forward{shape} ({model.flops_method}; 1 multiply-add = 1 flop)"
                if model.forward_macs is not None else (model.note or "FLOPs not measured"))
        rows.append(("model", f"{model.name}: {count(model.parameters)} parameters on {model.device}; {macs}"))
    energy = profile.energy
    parts = "; ".join(f"{c.name} {joules(c.joules)} ({c.method})" for c in energy.components)
    rows.append(("energy", f"{joules(energy.total_j)} ({energy.total_kwh:.6f} kWh) in all: {parts}" if parts else "not measured"))
    if energy.per_step_j is not None:
        rows.append(("per step", f"{joules(energy.per_step_j)} per step"))
    if energy.extrapolation is not None:
        e = energy.extrapolation
        rows.append(("full run", f"{e.total_steps:,} steps ({e.source}): about {seconds(e.duration_s)} and "
                     f"{joules(e.energy_j)} on this machine"))
    comparison = profile.precision_comparison
    if comparison is not None:
        if comparison.error:
            rows.append(("fp32 vs amp", f"comparison failed: {comparison.error}"))
        elif comparison.fp32 and comparison.autocast:
            energy_text = ""
            if comparison.fp32.energy_j is not None and comparison.autocast.energy_j is not None:
                energy_text = f"; {joules(comparison.fp32.energy_j)} vs {joules(comparison.autocast.energy_j)} per step"
            rows.append(("fp32 vs amp", f"{comparison.device} {comparison.dtype} autocast, {comparison.steps} synthetic steps each: "
                         f"{seconds(comparison.fp32.step_s)} vs {seconds(comparison.autocast.step_s)} per step "
                         f"({comparison.speedup:.2f}x){energy_text}"))
    for note in profile.notes:
        rows.append(("note", note))
    return rows


def _gpu_summary(profile: Profile) -> list[tuple[str, str]]:
    rows = []
    for device in profile.machine.gpus:
        readings = [g for s in profile.samples for g in s.gpus if g.index == device.index]
        utils = [g.util_pct for g in readings if g.util_pct is not None]
        powers = [g.power_w for g in readings if g.power_w is not None]
        memory = max((g.memory_used_bytes or 0 for g in readings), default=0)
        if utils:
            rows.append((f"gpu {device.index}", f"{device.name}: busy {sum(utils) / len(utils):.0f}% on average, "
                         f"{(sum(powers) / len(powers)) if powers else 0:.0f} W, up to {format_bytes(memory)} memory"))
    return rows


def print_summary(profile: Profile, console: Console, output: str | None) -> None:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for label, text in summary_rows(profile):
        table.add_row(label, Text(text))
    if output:
        table.add_row("profile", Text(f"written to {output}"))
    console.print(Text(f"greenlint profile: {shlex.join(profile.run.command)}", style="bold"))
    console.print(table)
