"""Energy and CO2 from FLOPs: the assumptions, their sources, and the arithmetic.

    time   = FLOPs / (device peak FLOP/s x utilisation)      FLOPs = 2 x MACs
    energy = time x device power x PUE
    CO2e   = energy x grid carbon intensity

MACs are stored in fvcore's convention (one multiply-add counted once) while datasheet
peaks count two FLOPs per multiply-add, so the conversion is explicit here and nowhere
else. Every constant comes from ``data/*.yaml`` with its source, and every one can be
overridden in ``[tool.greenlint.energy]`` or on the command line.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from greenlint.analyzer.cost.tables import table

FLOPS_PER_MAC = 2
PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
#: Keys of ``[tool.greenlint.energy]``.
KEYS = ("device", "precision", "utilisation", "utilization", "pue", "region", "power-w", "carbon-intensity")
JOULES_PER_KWH = 3.6e6


class AssumptionError(ValueError):
    """An energy setting that names no known device or region, or is out of range."""


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    peaks_tflops: dict[str, float | None]
    tdp_w: float
    source: str
    year: int | None


@dataclass(frozen=True, slots=True)
class Grid:
    name: str
    g_per_kwh: float
    source: str
    year: int | None


@dataclass(frozen=True, slots=True)
class Assumptions:
    """One consistent set of assumptions, each with where it came from."""

    device: Device
    precision: str
    utilisation: float | None
    pue: float
    grid: Grid
    power_w: float
    backward_factor: float
    inference_samples: int
    sources: dict[str, str] = field(default_factory=dict)

    def peak_flops(self) -> float:
        """Peak FLOP/s at the chosen precision (falling back to FP32 where it has none)."""
        peak = self.device.peaks_tflops.get(self.precision) or self.device.peaks_tflops.get("fp32")
        assert peak is not None
        return peak * 1e12

    def utilisation_for(self, family: str) -> float:
        if self.utilisation is not None:
            return self.utilisation
        return _default("utilisation-language-model" if family == "language-model" else "utilisation")

    def describe(self) -> list[str]:
        precision = self.precision
        peak = self.peak_flops() / 1e12
        lines = [
            f"device: {self.device.name}, {peak:g} TFLOP/s peak ({precision}, 2 FLOPs per multiply-add), "
            f"{self.power_w:g} W ({self.sources.get('device', self.device.source)})",
            f"utilisation: {self.sources.get('utilisation', '')}",
            f"PUE: {self.pue:g} ({self.sources.get('pue', '')})",
            f"grid: {self.grid.name}, {self.grid.g_per_kwh:g} gCO2e/kWh ({self.sources.get('region', self.grid.source)})",
            f"training = {self.backward_factor:g} x forward FLOPs x samples ({self.sources.get('backward-factor', '')})",
        ]
        return lines


@dataclass(frozen=True, slots=True)
class Energy:
    """The energy of some amount of compute under a set of assumptions."""

    flops: float
    device_hours: float
    kwh: float
    co2_kg: float


def _default(name: str) -> Any:
    for row in table("assumptions"):
        if row["name"] == name:
            return row["value"]
    raise KeyError(name)


def _default_source(name: str) -> str:
    for row in table("assumptions"):
        if row["name"] == name:
            return f"{row['source']}, {row['year']}"
    return ""


def devices() -> list[Device]:
    return [Device(r["name"], {p: r.get(p) for p in PRECISIONS}, float(r["tdp_w"]), r["source"], r.get("year")) for r in table("devices")]


def grids() -> list[Grid]:
    return [Grid(r["name"], float(r["intensity"]), r["source"], r.get("year")) for r in table("grid")]


def _find(name: str, key: str, tables: str, items: list[Any], what: str) -> Any:
    """The item whose name or alias is ``key``; else an error naming the closest one."""
    for row, item in zip(table(tables), items):
        if key == item.name.lower() or key in [str(a).lower() for a in row.get("aliases", [])]:
            return item
    names = [item.name for item in items]
    match = difflib.get_close_matches(name, names, n=1, cutoff=0.4)
    hint = f" (did you mean '{match[0]}'?)" if match else ""
    raise AssumptionError(f"unknown {what} '{name}'{hint}; known: {', '.join(names)}")


def find_device(name: str) -> Device:
    key = name.strip().lower().replace(" ", "-").replace("_", "-")
    return _find(name, key, "devices", devices(), "device")  # type: ignore[no-any-return]


def find_grid(name: str) -> Grid:
    return _find(name, name.strip().lower(), "grid", grids(), "region")  # type: ignore[no-any-return]


def assumptions(config: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None,
                mixed_precision: bool = False) -> Assumptions:
    """Defaults, then ``[tool.greenlint.energy]``, then command-line overrides."""
    settings: dict[str, Any] = {}
    where: dict[str, str] = {}
    for origin, values in (("[tool.greenlint.energy]", config or {}), ("command line", overrides or {})):
        for key, value in values.items():
            if value is None:
                continue
            key = "utilisation" if key == "utilization" else key
            if key not in KEYS:
                match = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.5)
                hint = f" (did you mean '{match[0]}'?)" if match else ""
                raise AssumptionError(f"unknown key '{key}' in [tool.greenlint.energy]{hint}")
            settings[key] = value
            where[key] = origin
    device = find_device(str(settings.get("device", _default("device"))))
    sources = {"device": f"{device.source}, {device.year}" + (f"; chosen in {where['device']}" if "device" in where else "")}
    precision = settings.get("precision")
    if precision is None:
        precision = "bf16" if mixed_precision and device.peaks_tflops.get("bf16") else ("fp16" if mixed_precision and device.peaks_tflops.get("fp16") else _default("precision"))
        sources["precision"] = "the project uses mixed precision" if mixed_precision else _default_source("precision")
    elif precision not in PRECISIONS:
        raise AssumptionError(f"precision must be one of {', '.join(PRECISIONS)}, not '{precision}'")
    else:
        sources["precision"] = where["precision"]
    if not device.peaks_tflops.get(precision):
        sources["precision"] += f"; {device.name} has no {precision} peak, FP32 used"
        precision = "fp32"
    utilisation = settings.get("utilisation")
    if utilisation is not None:
        utilisation = _fraction(utilisation, "utilisation")
        sources["utilisation"] = f"{utilisation:g} ({where['utilisation']})"
    else:
        sources["utilisation"] = (f"{_default('utilisation-language-model'):g} for language models, {_default('utilisation'):g} for "
                                  f"other models ({_default_source('utilisation')})")
    pue = float(settings.get("pue", _default("pue")))
    if not 1.0 <= pue <= 3.0:
        raise AssumptionError(f"pue must be between 1.0 and 3.0, not {pue}")
    sources["pue"] = where.get("pue") or _default_source("pue")
    grid = find_grid(str(settings.get("region", _default("region"))))
    if "carbon-intensity" in settings:
        grid = Grid(f"{grid.name} (set)", float(settings["carbon-intensity"]), where["carbon-intensity"], None)
        sources["region"] = where["carbon-intensity"]
    else:
        sources["region"] = f"{grid.source}, {grid.year}" + (f"; chosen in {where['region']}" if "region" in where else "")
    power = float(settings.get("power-w", device.tdp_w))
    if power <= 0:
        raise AssumptionError("power-w must be positive")
    if "power-w" in settings:
        sources["device"] += f"; power {power:g} W from {where['power-w']}"
    sources["backward-factor"] = _default_source("backward-factor")
    return Assumptions(device, precision, utilisation, pue, grid, power, float(_default("backward-factor")),
                       int(_default("inference-samples")), sources)


def _fraction(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AssumptionError(f"{name} must be a number between 0 and 1, not {value!r}") from None
    if number > 1:
        number /= 100  # "30" means 30 %
    if not 0 < number <= 1:
        raise AssumptionError(f"{name} must be between 0 and 1, not {value!r}")
    return number


def energy(macs: float, assumptions: Assumptions, family: str) -> Energy:
    """Energy and CO2 of ``macs`` multiply-adds (fvcore convention) on the assumed device."""
    flops = FLOPS_PER_MAC * macs
    seconds = flops / (assumptions.peak_flops() * assumptions.utilisation_for(family))
    kwh = seconds * assumptions.power_w / JOULES_PER_KWH * assumptions.pue
    return Energy(flops, seconds / 3600, kwh, kwh * assumptions.grid.g_per_kwh / 1000)


def training_macs(forward_macs: int, samples: int, assumptions: Assumptions) -> float:
    """Forward and backward over every training sample (3x the forward, the 6ND rule)."""
    return assumptions.backward_factor * forward_macs * samples
