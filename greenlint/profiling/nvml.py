"""GPU utilisation, memory, power and energy through NVML (the ``nvidia-ml-py`` package).

The module is imported only here and only when profiling; tests pass a fake module with
the same functions. Every failure degrades to "no GPU measured" with a note that says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MEASURE_HINT = "pip install 'greenlint[measure]'"


@dataclass(frozen=True, slots=True)
class GpuDevice:
    """A GPU as NVML describes it once, at the start of the run."""

    index: int
    name: str
    memory_total_bytes: int | None
    power_limit_w: float | None
    energy_counter: bool


@dataclass(frozen=True, slots=True)
class GpuReading:
    """One GPU at one instant; a field is None when this GPU does not report it."""

    index: int
    util_pct: float | None
    memory_used_bytes: int | None
    power_w: float | None
    energy_mj: int | None
    used_by_run: bool | None  # None: NVML could not list the GPU's processes


def load_pynvml() -> tuple[Any | None, str | None]:
    """The ``pynvml`` module of nvidia-ml-py, or None and why."""
    try:
        import pynvml
    except ImportError:
        return None, f"NVML is not available (nvidia-ml-py is not installed: {MEASURE_HINT}); no GPU was measured"
    return pynvml, None


class NvmlSource:
    """Reads every visible NVIDIA GPU; ``available`` is False with a ``note`` otherwise."""

    def __init__(self, module: Any | None = None) -> None:
        self.nvml = module
        self.note: str | None = None
        self.devices: list[GpuDevice] = []
        self.handles: list[Any] = []
        self.available = False
        if self.nvml is None:
            self.nvml, self.note = load_pynvml()
            if self.nvml is None:
                return
        try:
            self.nvml.nvmlInit()
        except Exception as error:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded, ...
            self.note = f"NVML could not start ({_describe(error)}): no NVIDIA GPU or driver; no GPU was measured"
            return
        try:
            count = self.nvml.nvmlDeviceGetCount()
            for index in range(count):
                handle = self.nvml.nvmlDeviceGetHandleByIndex(index)
                self.handles.append(handle)
                self.devices.append(self._describe_device(index, handle))
        except Exception as error:  # noqa: BLE001
            self.note = f"NVML failed listing GPUs ({_describe(error)}); no GPU was measured"
            self.close()
            return
        if not self.devices:
            self.note = "NVML found no GPU; no GPU was measured"
            self.close()
            return
        self.available = True

    def _describe_device(self, index: int, handle: Any) -> GpuDevice:
        name = self._try(self.nvml.nvmlDeviceGetName, handle)
        if isinstance(name, bytes):
            name = name.decode(errors="replace")
        memory = self._try(self.nvml.nvmlDeviceGetMemoryInfo, handle)
        limit = self._try(self.nvml.nvmlDeviceGetEnforcedPowerLimit, handle)
        energy = self._try(self.nvml.nvmlDeviceGetTotalEnergyConsumption, handle)
        return GpuDevice(
            index=index,
            name=str(name) if name is not None else f"GPU {index}",
            memory_total_bytes=int(memory.total) if memory is not None else None,
            power_limit_w=limit / 1000 if limit is not None else None,
            energy_counter=energy is not None,
        )

    def read(self, pids: set[int]) -> list[GpuReading]:
        """Every GPU now; ``pids`` are the run's processes, to tell which GPUs it uses."""
        if not self.available:
            return []
        readings = []
        for device, handle in zip(self.devices, self.handles):
            util = self._try(self.nvml.nvmlDeviceGetUtilizationRates, handle)
            memory = self._try(self.nvml.nvmlDeviceGetMemoryInfo, handle)
            power = self._try(self.nvml.nvmlDeviceGetPowerUsage, handle)
            energy = self._try(self.nvml.nvmlDeviceGetTotalEnergyConsumption, handle) if device.energy_counter else None
            processes = self._try(self.nvml.nvmlDeviceGetComputeRunningProcesses, handle)
            used = None if processes is None else any(getattr(p, "pid", None) in pids for p in processes)
            readings.append(GpuReading(
                index=device.index,
                util_pct=float(util.gpu) if util is not None else None,
                memory_used_bytes=int(memory.used) if memory is not None else None,
                power_w=power / 1000 if power is not None else None,
                energy_mj=int(energy) if energy is not None else None,
                used_by_run=used,
            ))
        return readings

    def _try(self, function: Any, *args: Any) -> Any:
        """NVML raises for what a GPU does not support (energy before Volta, say)."""
        try:
            return function(*args)
        except Exception:  # noqa: BLE001 - NVMLError_NotSupported and friends
            return None

    def close(self) -> None:
        try:
            self.nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


def _describe(error: Exception) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
