"""The parent's periodic readings of the machine while the program runs."""

from __future__ import annotations

import time

from greenlint.profiling.nvml import NvmlSource
from greenlint.profiling.procfs import ProcessTree, TreeUsage
from greenlint.profiling.rapl import RaplSource
from greenlint.profiling.schema import GpuSample, Sample, Source


class Sampler:
    """Reads the process tree, the GPUs and the RAPL counters into :class:`Sample` rows.

    ``started`` is the wall-clock time the run began; samples carry seconds since then.
    """

    def __init__(self, tree: ProcessTree, nvml: NvmlSource, rapl: RaplSource, started: float) -> None:
        self.tree = tree
        self.nvml = nvml
        self.rapl = rapl
        self.started = started
        self.samples: list[Sample] = []
        self.pids: frozenset[int] = frozenset({tree.root_pid})

    def take(self, now: float | None = None, cpu_seconds: float | None = None) -> Sample:
        """Read everything now; ``cpu_seconds`` overrides the tree's CPU time (the
        final reading, from the exited child's resource usage, when /proc has lost it)."""
        now = time.time() if now is None else now
        usage = self.tree.read()
        if usage is None and cpu_seconds is not None:
            usage = TreeUsage(cpu_seconds, 0, frozenset())
        if usage is not None and usage.pids:
            self.pids = usage.pids
        previous = self.samples[-1] if self.samples else None
        busy = None
        if usage is not None and previous is not None and previous.cpu_seconds is not None:
            elapsed = now - self.started - previous.t
            if elapsed > 0:
                busy = max(0.0, (usage.cpu_seconds - previous.cpu_seconds) / elapsed)
        gpus = [
            GpuSample(r.index, r.util_pct, r.memory_used_bytes, r.power_w, r.energy_mj, r.used_by_run)
            for r in self.nvml.read(set(self.pids))
        ]
        sample = Sample(
            t=max(0.0, now - self.started),
            cpu_seconds=usage.cpu_seconds if usage is not None else (previous.cpu_seconds if previous else None),
            cpu_cores_busy=busy,
            rss_bytes=usage.rss_bytes if usage is not None and usage.pids else None,
            processes=len(usage.pids) if usage is not None and usage.pids else None,
            gpus=gpus,
            rapl_uj=self.rapl.read(),
        )
        self.samples.append(sample)
        return sample

    def sources(self) -> list[Source]:
        return [
            Source("procfs", self.tree.available, self.tree.note),
            Source("nvml", self.nvml.available, self.nvml.note),
            Source("rapl", self.rapl.available, self.rapl.note),
        ]

    def close(self) -> None:
        if self.nvml.available:
            self.nvml.close()
