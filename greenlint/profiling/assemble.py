"""Turn what the run produced (the recorder's report, the samples) into a :class:`Profile`.

The recorder's report is private to greenlint and read defensively: a program that was
killed may have left an older snapshot, or none.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from greenlint import __version__
from greenlint.profiling import energy as energy_model
from greenlint.profiling.nvml import MEASURE_HINT
from greenlint.profiling.procfs import cpu_model, memory_total_bytes
from greenlint.profiling.schema import (
    SCHEMA_VERSION,
    CheckpointWrite,
    Checkpoints,
    DataLoading,
    Energy,
    EvalForward,
    Extrapolation,
    GpuDevice,
    HostSyncs,
    LoaderMeasure,
    Machine,
    Measurements,
    ModelInfo,
    PhaseResult,
    Precision,
    PrecisionComparison,
    Profile,
    RunInfo,
    Sample,
    Site,
    Source,
    StepStats,
)

#: An interval this many times the median holds more than a step (evaluation, a
#: checkpoint, an epoch's set-up); it is left out of the data-stall fraction.
OUTLIER_FACTOR = 5.0


@dataclass
class RunRecord:
    """What the runner knows once the child has ended."""

    command: list[str]
    cwd: str
    started: float
    ended: float
    exit_code: int | None
    stopped_by: str | None
    max_steps: int | None
    timeout_s: float | None
    interval_s: float
    samples: list[Sample]
    sources: list[Source]
    gpus: list[GpuDevice]
    rapl_ranges: dict[str, int | None]
    report: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)


def build_profile(record: RunRecord) -> Profile:
    report = record.report or {}
    notes = list(record.notes)
    for source in record.sources:
        if not source.available and source.note:
            notes.append(source.note)
    if record.report is None:
        notes.append(
            "the program's recorder reported nothing: it never imported torch, or Python ran without site "
            f"(-S/-I), or it was killed; only machine samples are available (greenlint profile needs the measure extra: {MEASURE_HINT})"
        )
    elif not report.get("torch_loaded"):
        notes.append("the program never imported torch: nothing was measured in-process")
    notes.extend(str(n) for n in report.get("notes", []))
    steps = _steps(record, report)
    measurements = _measurements(record, report, steps)
    gpu_indices = _gpus_used(record, measurements.cuda_used, notes)
    series = energy_model.build_series(record.samples, gpu_indices, record.rapl_ranges, record.interval_s)
    energy = _energy(series, steps, report)
    comparison = _comparison(record, report.get("precision_ab"), series)
    sampled = record.stopped_by in ("max_steps", "timeout")
    run = RunInfo(
        command=list(record.command),
        cwd=record.cwd,
        started_at=datetime.datetime.fromtimestamp(record.started, datetime.timezone.utc).isoformat(timespec="seconds"),
        duration_s=max(0.0, record.ended - record.started),
        exit_code=record.exit_code,
        stopped_by=record.stopped_by,
        sampled=sampled,
        max_steps=record.max_steps,
        timeout_s=record.timeout_s,
        interval_s=record.interval_s,
    )
    machine = Machine(
        platform=platform.platform(),
        python=str(report.get("python") or sys.version.split()[0]),
        cpu_model=cpu_model(),
        cpu_count=os.cpu_count(),
        memory_total_bytes=memory_total_bytes(),
        gpus=list(record.gpus),
    )
    return Profile(
        schema_version=SCHEMA_VERSION,
        tool_version=__version__,
        machine=machine,
        run=run,
        steps=steps,
        sources=list(record.sources),
        samples=list(record.samples),
        energy=energy,
        measurements=measurements,
        precision_comparison=comparison,
        notes=sorted(set(notes), key=notes.index),
    )


def _site(data: Any) -> Site | None:
    if not isinstance(data, dict):
        return None
    return Site(str(data["path"]), int(data["line"]), str(data["function"]), int(data["first_line"]), int(data["last_line"]))


def _used_intervals(intervals: Sequence[Sequence[Any]]) -> tuple[list[Sequence[Any]], int]:
    if not intervals:
        return [], 0
    median = statistics.median(i[0] for i in intervals)
    limit = median * OUTLIER_FACTOR if median > 0 else float("inf")
    used = [i for i in intervals if i[0] <= limit]
    return used, len(intervals) - len(used)


def _steps(record: RunRecord, report: dict[str, Any]) -> StepStats:
    count = int(report.get("steps", 0))
    durations = sorted(float(i[0]) for i in report.get("intervals", []))
    first = report.get("first_step_at")
    last = report.get("last_step_at")
    first_s = first - record.started if isinstance(first, (int, float)) else None
    last_s = last - record.started if isinstance(last, (int, float)) else None
    rate = None
    if count >= 2 and first_s is not None and last_s is not None and last_s > first_s:
        rate = (count - 1) / (last_s - first_s)
    total = report.get("total_steps") or {}
    return StepStats(
        count=count,
        optimizers=int(report.get("optimizers", 0)),
        first_step_s=first_s,
        last_step_s=last_s,
        intervals=len(durations),
        mean_s=statistics.fmean(durations) if durations else None,
        median_s=statistics.median(durations) if durations else None,
        p90_s=durations[min(len(durations) - 1, int(0.9 * len(durations)))] if durations else None,
        min_s=durations[0] if durations else None,
        max_s=durations[-1] if durations else None,
        steps_per_s=rate,
        total_steps=int(total["steps"]) if total.get("steps") else None,
        total_steps_source=str(total["source"]) if total.get("source") else None,
    )


def _measurements(record: RunRecord, report: dict[str, Any], steps: StepStats) -> Measurements:
    if not report:
        return Measurements(False, False, False, [], None, None, [], None, None, [])
    return Measurements(
        recorded=True,
        torch_loaded=bool(report.get("torch_loaded")),
        cuda_used=bool(report.get("cuda_used")),
        training_stack=[s for s in (_site(d) for d in report.get("training_stack", [])) if s is not None],
        data_loading=_data_loading(report),
        host_syncs=_host_syncs(report, steps.count),
        eval_forwards=sorted(
            (EvalForward(_site(e["site"]), str(e["model"]), int(e["calls"]), int(e["grad_calls"]), int(e["graph_calls"]))
             for e in report.get("eval_forwards", []) if _site(e.get("site")) is not None),
            key=lambda e: (e.site.path, e.site.line, e.model),
        ),
        precision=Precision(
            autocast=dict(sorted((str(k), int(v)) for k, v in report.get("autocast", {}).items())),
            grad_scaler_used=bool(report.get("grad_scaler", {}).get("enabled")),
            half_parameters=sorted(report.get("half_parameters", [])),
        ),
        checkpoints=Checkpoints(
            count=int(report.get("checkpoint_count", 0)),
            writes=[
                CheckpointWrite(int(w["step"]), float(w["at"]) - record.started, str(w["target"]), str(w["via"]), _site(w.get("site")))
                for w in report.get("checkpoints", [])
            ],
        ),
        models=_models(report),
    )


def _data_loading(report: dict[str, Any]) -> DataLoading | None:
    loaders = report.get("loaders", {})
    used, excluded = _used_intervals(report.get("intervals", []))
    window = sum(float(i[0]) for i in used)
    waits: dict[str, float] = {}
    for _, per_loader in used:
        for key, seconds in per_loader.items():
            waits[str(key)] = waits.get(str(key), 0.0) + float(seconds)
    measures = []
    for key, info in loaders.items():
        in_steps = waits.get(str(key), 0.0)
        measures.append(LoaderMeasure(
            site=_site(info.get("site")),
            num_workers=int(info.get("num_workers") or 0),
            pin_memory=bool(info.get("pin_memory")),
            batch_size=info.get("batch_size") if isinstance(info.get("batch_size"), int) else None,
            batches_per_epoch=info.get("batches_per_epoch") if isinstance(info.get("batches_per_epoch"), int) else None,
            fetches=int(info.get("fetches", 0)),
            passes=int(info.get("passes", 0)),
            pass_s=float(info.get("pass_s", 0.0)),
            wait_s=float(info.get("wait_s", 0.0)),
            wait_in_steps_s=in_steps,
            stall_fraction=min(1.0, float(info.get("wait_s", 0.0)) / float(info["pass_s"])) if info.get("pass_s") else None,
        ))
    measures.sort(key=lambda m: (m.site.path, m.site.line) if m.site else ("", 0))
    total_wait = sum(waits.values())
    return DataLoading(
        stall_fraction=total_wait / window if window > 0 else None,
        wait_s=total_wait,
        window_s=window,
        intervals_used=len(used),
        intervals_excluded=excluded,
        loaders=measures,
    )


def _host_syncs(report: dict[str, Any], steps: int) -> HostSyncs:
    from greenlint.profiling.schema import SyncSite

    sites = sorted(
        (SyncSite(_site(s["site"]), str(s["method"]), int(s["calls"]), int(s["device_calls"]))
         for s in report.get("syncs", []) if _site(s.get("site")) is not None),
        key=lambda s: (s.site.path, s.site.line, s.method),
    )
    library = report.get("library_syncs", {})
    calls = sum(s.calls for s in sites)
    device = sum(s.device_calls for s in sites) + int(library.get("device_calls", 0))
    return HostSyncs(
        per_step=calls / steps if steps else None,
        device_per_step=device / steps if steps else None,
        library_calls=int(library.get("calls", 0)),
        library_device_calls=int(library.get("device_calls", 0)),
        sites=sites,
    )


def _models(report: dict[str, Any]) -> list[ModelInfo]:
    flops = report.get("flops") or {}
    models = []
    for info in report.get("models", []):
        trained = bool(info.get("trained"))
        inputs = info.get("inputs")
        models.append(ModelInfo(
            name=str(info["name"]),
            parameters=int(info["parameters"]),
            trainable_parameters=int(info["trainable_parameters"]),
            device=str(info["device"]),
            input_shapes=[list(map(int, i["shape"])) for i in inputs] if inputs else None,
            trained=trained,
            forward_macs=flops.get("macs") if trained else None,
            flops_method=flops.get("method") if trained else None,
            unsupported_ops={str(k): int(v) for k, v in (flops.get("unsupported_ops") or {}).items()} if trained else {},
            note=flops.get("note") if trained else None,
        ))
    return sorted(models, key=lambda m: (not m.trained, m.name))


def _gpus_used(record: RunRecord, cuda_used: bool, notes: list[str]) -> list[int]:
    if not record.gpus:
        return []
    seen = {g.index for s in record.samples for g in s.gpus if g.used_by_run}
    if seen:
        return sorted(seen)
    listed = any(g.used_by_run is not None for s in record.samples for g in s.gpus)
    if cuda_used and not listed:
        notes.append("NVML could not list the GPUs' processes: the energy of every visible GPU is counted")
        return [g.index for g in record.gpus]
    if cuda_used:
        notes.append("the run used CUDA but NVML never listed its processes on a GPU: every visible GPU is counted")
        return [g.index for g in record.gpus]
    notes.append("the run did not use the GPU: GPU energy is not counted")
    return []


def _energy(series: list[energy_model.Series], steps: StepStats, report: dict[str, Any]) -> Energy:
    parts = energy_model.components(series)
    total = sum(p.joules for p in parts)
    window = per_step = None
    extrapolation = None
    if steps.count >= 2 and steps.first_step_s is not None and steps.last_step_s is not None and series:
        window = energy_model.window_energy(series, steps.first_step_s, steps.last_step_s)
        per_step = window / (steps.count - 1)
    if steps.total_steps and steps.steps_per_s:
        per_step_s = 1 / steps.steps_per_s
        energy_j = per_step * steps.total_steps if per_step is not None else None
        extrapolation = Extrapolation(
            total_steps=steps.total_steps,
            source=steps.total_steps_source or "",
            duration_s=per_step_s * steps.total_steps,
            energy_j=energy_j,
            energy_kwh=energy_j / energy_model.JOULES_PER_KWH if energy_j is not None else None,
            assumption="every step costs what the measured steps after the first cost; start-up, evaluation "
            "and checkpoints outside the measured steps are not included",
        )
    return Energy(total, total / energy_model.JOULES_PER_KWH, parts, window, per_step, extrapolation)


def _comparison(record: RunRecord, data: Any, series: list[energy_model.Series]) -> PrecisionComparison | None:
    if not isinstance(data, dict):
        return None
    phases: dict[str, PhaseResult | None] = {}
    for name in ("fp32", "autocast"):
        phase = data.get(name)
        if not isinstance(phase, dict):
            phases[name] = None
            continue
        steps = int(data.get("steps") or 1)
        start = float(phase["started_at"]) - record.started
        end = float(phase["ended_at"]) - record.started
        joules = energy_model.window_energy(series, start, end) / steps if series else None
        method = "; ".join(sorted({s.method for s in series})) if series else None
        phases[name] = PhaseResult(float(phase["step_s"]), joules, method)
    fp32, mixed = phases["fp32"], phases["autocast"]
    speedup = fp32.step_s / mixed.step_s if fp32 and mixed and mixed.step_s > 0 else None
    ratio = mixed.energy_j / fp32.energy_j if fp32 and mixed and fp32.energy_j and mixed.energy_j is not None else None
    return PrecisionComparison(
        device=str(data.get("device", "?")),
        dtype=str(data.get("dtype", "?")),
        steps=int(data.get("steps") or 0),
        fp32=fp32,
        autocast=mixed,
        speedup=speedup,
        energy_ratio=ratio,
        error=str(data["error"]) if data.get("error") else None,
    )
