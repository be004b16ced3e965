"""Energy of the run from the samples: counters where they exist, else power x time.

Every component says how it was obtained. Estimates use Green Algorithms' defaults
(Lannelongue et al., "Green Algorithms: Quantifying the Carbon Footprint of
Computation", Advanced Science 2021): 12 W per busy CPU core and 0.3725 W per GB of
memory. Each source becomes a cumulative series (seconds, joules), so the energy of any
window (the steady steps, one phase of the precision comparison) is a difference of two
interpolated values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from greenlint.profiling.rapl import counter_delta
from greenlint.profiling.schema import EnergyComponent, Sample

WATTS_PER_CORE = 12.0
WATTS_PER_GB = 0.3725
JOULES_PER_KWH = 3.6e6
GB = 1024**3


@dataclass(frozen=True, slots=True)
class Series:
    """Cumulative joules of one component over the run."""

    name: str
    points: list[tuple[float, float]]
    method: str
    measured: bool

    @property
    def total(self) -> float:
        return self.points[-1][1] - self.points[0][1] if len(self.points) > 1 else 0.0

    def at(self, t: float) -> float:
        """Cumulative joules at ``t``, linear between samples, clamped at the ends."""
        points = self.points
        if t <= points[0][0]:
            return points[0][1]
        for (t0, e0), (t1, e1) in zip(points, points[1:]):
            if t <= t1:
                return e0 if t1 == t0 else e0 + (e1 - e0) * (t - t0) / (t1 - t0)
        return points[-1][1]

    def between(self, start: float, end: float) -> float:
        return max(0.0, self.at(end) - self.at(start))


def build_series(samples: Sequence[Sample], gpu_indices: Sequence[int], rapl_ranges: dict[str, int | None],
                 interval: float) -> list[Series]:
    """The components: GPU (counters or power), CPU and DRAM (RAPL or estimates)."""
    series: list[Series] = []
    for index in gpu_indices:
        gpu = _gpu_series(samples, index, interval)
        if gpu is not None:
            series.append(gpu)
    packages = sorted({z for s in samples for z in s.rapl_uj if "/" not in z})
    drams = sorted({z for s in samples for z in s.rapl_uj if z.endswith("/dram")})
    cpu = _rapl_series("cpu", samples, packages, rapl_ranges,
                       "RAPL package energy counters (the whole CPU package: every process on it, not only the run)")
    series.append(cpu or _cpu_estimate(samples))
    dram = _rapl_series("dram", samples, drams, rapl_ranges, "RAPL DRAM energy counters (all of the machine's memory traffic)")
    memory = dram or _memory_estimate(samples)
    if memory is not None:
        series.append(memory)
    return [s for s in series if s is not None and len(s.points) > 1]


def components(series: Sequence[Series]) -> list[EnergyComponent]:
    merged: dict[str, list[Series]] = {}
    for item in series:
        merged.setdefault(item.name, []).append(item)
    result = []
    for name in ("gpu", "cpu", "dram"):
        items = merged.get(name)
        if items:
            methods = "; ".join(sorted({i.method for i in items}))
            result.append(EnergyComponent(name, sum(i.total for i in items), methods, all(i.measured for i in items)))
    return result


def window_energy(series: Sequence[Series], start: float, end: float) -> float:
    return sum(s.between(start, end) for s in series)


def _gpu_series(samples: Sequence[Sample], index: int, interval: float) -> Series | None:
    readings = [(s.t, g) for s in samples for g in s.gpus if g.index == index]
    counters = [(t, g.energy_mj) for t, g in readings if g.energy_mj is not None]
    if len(counters) >= 2:
        first = counters[0][1]
        points = [(t, (mj - first) / 1000.0) for t, mj in counters]
        return Series("gpu", points, f"NVML energy counter of GPU {index}", True)
    powers = [(t, g.power_w) for t, g in readings if g.power_w is not None]
    if len(powers) >= 2:
        return Series("gpu", _integrate(powers),
                      f"NVML power x time of GPU {index} ({len(powers)} readings about every {interval:g} s, trapezoid rule)", True)
    return None


def _rapl_series(name: str, samples: Sequence[Sample], zones: list[str], ranges: dict[str, int | None],
                 method: str) -> Series | None:
    if not zones:
        return None
    rows = [s for s in samples if all(z in s.rapl_uj for z in zones)]
    if len(rows) < 2:
        return None
    total = 0.0
    points = [(rows[0].t, 0.0)]
    for before, after in zip(rows, rows[1:]):
        total += sum(counter_delta(before.rapl_uj[z], after.rapl_uj[z], ranges.get(z)) for z in zones) / 1e6
        points.append((after.t, total))
    return Series(name, points, method, True)


def _cpu_estimate(samples: Sequence[Sample]) -> Series | None:
    rows = [(s.t, s.cpu_seconds) for s in samples if s.cpu_seconds is not None]
    if len(rows) < 2:
        return None
    first = rows[0][1]
    points = [(t, (cpu - first) * WATTS_PER_CORE) for t, cpu in rows]
    method = (f"estimate: {WATTS_PER_CORE:g} W per busy core x the CPU time of the run's processes "
              "(Green Algorithms' per-core default; no RAPL counter)")
    return Series("cpu", points, method, False)


def _memory_estimate(samples: Sequence[Sample]) -> Series | None:
    rows = [(s.t, s.rss_bytes / GB * WATTS_PER_GB) for s in samples if s.rss_bytes is not None]
    if len(rows) < 2:
        return None
    method = (f"estimate: {WATTS_PER_GB:g} W per GB x the resident memory of the run's processes x time "
              "(Green Algorithms' memory power)")
    return Series("dram", _integrate(rows), method, False)


def _integrate(powers: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    total = 0.0
    points = [(powers[0][0], 0.0)]
    for (t0, p0), (t1, p1) in zip(powers, powers[1:]):
        total += (p0 + p1) / 2 * max(0.0, t1 - t0)
        points.append((t1, total))
    return points
