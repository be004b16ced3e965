"""The parent's measurement sources against fakes: NVML module, powercap directory, /proc."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from greenlint.profiling import energy, nvml
from greenlint.profiling.nvml import NvmlSource
from greenlint.profiling.procfs import ProcessTree, parse_stat
from greenlint.profiling.rapl import RaplSource, counter_delta
from greenlint.profiling.schema import GpuSample, Sample


class NVMLError(Exception):
    pass


class FakeNvml:
    """The part of ``pynvml`` greenlint calls, for two GPUs; GPU 1 predates energy counters."""

    def __init__(self, fail_init: bool = False) -> None:
        self.fail_init = fail_init
        self.energy_mj = [1_000_000, 0]
        self.shut = False

    def nvmlInit(self) -> None:
        if self.fail_init:
            raise NVMLError("Driver Not Loaded")

    def nvmlShutdown(self) -> None:
        self.shut = True

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, handle: int) -> bytes:
        return b"NVIDIA H100" if handle == 0 else b"Tesla K80"

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> SimpleNamespace:
        return SimpleNamespace(total=80 * 2**30, used=(handle + 1) * 2**30)

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: int) -> int:
        return 700_000

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> int:
        if handle == 1:
            raise NVMLError("Not Supported")
        self.energy_mj[0] += 150_000  # 150 J between two readings
        return self.energy_mj[0]

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> SimpleNamespace:
        return SimpleNamespace(gpu=87 if handle == 0 else 3, memory=40)

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        return 300_000 if handle == 0 else 60_000

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[SimpleNamespace]:
        return [SimpleNamespace(pid=4242)] if handle == 0 else [SimpleNamespace(pid=1)]


def test_nvml_reads_every_gpu_and_tells_which_the_run_uses() -> None:
    fake = FakeNvml()
    source = NvmlSource(fake)
    assert source.available and source.note is None
    assert [(d.name, d.energy_counter, d.power_limit_w) for d in source.devices] == [
        ("NVIDIA H100", True, 700.0), ("Tesla K80", False, 700.0)]
    first, second = source.read({4242})
    assert (first.util_pct, first.power_w, first.memory_used_bytes, first.used_by_run) == (87.0, 300.0, 2**30, True)
    assert first.energy_mj is not None
    assert (second.energy_mj, second.used_by_run) == (None, False)
    source.close()
    assert fake.shut


def test_nvml_that_cannot_start_degrades_with_a_note() -> None:
    source = NvmlSource(FakeNvml(fail_init=True))
    assert not source.available and source.read({1}) == []
    assert source.note == "NVML could not start (NVMLError: Driver Not Loaded): no NVIDIA GPU or driver; no GPU was measured"


def test_missing_nvidia_ml_py_names_the_measure_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "pynvml", None)  # import pynvml raises ImportError
    source = NvmlSource()
    assert not source.available
    assert "nvidia-ml-py is not installed: pip install 'greenlint[measure]'" in (source.note or "")
    assert nvml.load_pynvml()[0] is None


def _gpu_samples(fake: FakeNvml, times: list[float]) -> list[Sample]:
    source = NvmlSource(fake)
    samples = []
    for t in times:
        gpus = [GpuSample(r.index, r.util_pct, r.memory_used_bytes, r.power_w, r.energy_mj, r.used_by_run)
                for r in source.read({4242})]
        samples.append(Sample(t, None, None, None, None, gpus, {}))
    return samples


def test_gpu_energy_from_the_counter_where_it_exists_else_power_times_time() -> None:
    samples = _gpu_samples(FakeNvml(), [0.0, 1.0, 2.0])
    series = energy.build_series(samples, [0, 1], {}, 1.0)
    by_method = {s.method: s.total for s in series}
    assert by_method["NVML energy counter of GPU 0"] == pytest.approx(300.0)  # two deltas of 150 J
    power = next(s for s in series if s.method.startswith("NVML power x time of GPU 1"))
    assert power.total == pytest.approx(60.0 * 2.0)
    assert power.between(0.5, 1.5) == pytest.approx(60.0)
    parts = energy.components(series)
    assert [(p.name, p.measured) for p in parts] == [("gpu", True)]
    assert parts[0].joules == pytest.approx(420.0)


def _powercap(root: Path, energy_uj: str = "1000000") -> Path:
    package = root / "intel-rapl:0"
    (package / "intel-rapl:0:0").mkdir(parents=True)
    (package / "name").write_text("package-0\n")
    (package / "energy_uj").write_text(energy_uj + "\n")
    (package / "max_energy_range_uj").write_text("262143328850\n")
    (package / "intel-rapl:0:0" / "name").write_text("core\n")
    (package / "intel-rapl:0:0" / "energy_uj").write_text("5\n")
    dram = package / "intel-rapl:0:1"
    dram.mkdir()
    (dram / "name").write_text("dram\n")
    (dram / "energy_uj").write_text("2000000\n")
    (dram / "max_energy_range_uj").write_text("65712999613\n")
    return package


def test_rapl_reads_package_and_dram_but_not_the_core_subzone(tmp_path: Path) -> None:
    _powercap(tmp_path)
    source = RaplSource(tmp_path)
    assert source.available and source.note is None
    assert source.read() == {"package-0": 1_000_000, "package-0/dram": 2_000_000}
    assert source.max_range("package-0") == 262143328850
    # sysfs also lists every sub-zone beside its package; each zone is still read once
    (tmp_path / "intel-rapl:0:1").symlink_to(tmp_path / "intel-rapl:0" / "intel-rapl:0:1")
    assert [z.name for z in RaplSource(tmp_path).zones] == ["package-0", "package-0/dram"]


def test_rapl_energy_survives_a_counter_wrap(tmp_path: Path) -> None:
    assert counter_delta(100, 350, 1000) == 250
    assert counter_delta(900, 100, 1000) == 200
    assert counter_delta(900, 100, None) == 0
    rows = [Sample(0.0, None, None, None, None, [], {"package-0": 262143328850 - 1_000_000}),
            Sample(1.0, None, None, None, None, [], {"package-0": 4_000_000})]
    series = energy.build_series(rows, [], {"package-0": 262143328850}, 1.0)
    (cpu,) = [s for s in series if s.name == "cpu"]
    assert cpu.measured and cpu.total == pytest.approx(5.0)  # 1 J before the wrap, 4 J after


def test_missing_powercap_degrades_to_an_estimate(tmp_path: Path) -> None:
    source = RaplSource(tmp_path / "absent")
    assert not source.available and source.read() == {}
    assert source.note == f"RAPL is not available ({tmp_path / 'absent'} does not exist); CPU energy is estimated"
    rows = [Sample(0.0, 1.0, None, 2**30, 1, [], {}), Sample(2.0, 2.5, 0.75, 2**30, 1, [], {})]
    parts = energy.components(energy.build_series(rows, [], {}, 1.0))
    assert [(p.name, p.measured) for p in parts] == [("cpu", False), ("dram", False)]
    assert parts[0].joules == pytest.approx(1.5 * energy.WATTS_PER_CORE)
    assert parts[1].joules == pytest.approx(2.0 * energy.WATTS_PER_GB)


def test_unreadable_rapl_counters_degrade_with_the_reason(tmp_path: Path) -> None:
    _powercap(tmp_path)

    def denied(path: Path) -> int:
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied")
        return int(path.read_text())

    source = RaplSource(tmp_path, reader=denied)
    assert not source.available
    assert "not readable (root only since Linux 5.10" in (source.note or "")


def test_proc_stat_parsing_survives_odd_command_names(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    fields = ["S", "7"] + ["0"] * 9 + ["100", "50", "20", "30"] + ["0"] * 6 + ["256"]
    stat.write_text("42 (python (worker) 1) " + " ".join(fields) + "\n")
    assert parse_stat(stat) == (7, 200, 256)


def test_process_tree_sums_the_program_and_its_descendants(tmp_path: Path) -> None:
    def process(pid: int, ppid: int, ticks: int, pages: int) -> None:
        (tmp_path / str(pid)).mkdir()
        fields = ["S", str(ppid)] + ["0"] * 9 + [str(ticks), "0", "0", "0"] + ["0"] * 6 + [str(pages)]
        (tmp_path / str(pid) / "stat").write_text(f"{pid} (p) " + " ".join(fields))

    process(10, 1, 200, 100)
    process(11, 10, 100, 50)
    process(12, 11, 100, 50)
    process(20, 1, 999, 999)  # not in the tree
    tree = ProcessTree(10, tmp_path)
    tree.ticks, tree.page = 100, 4096
    usage = tree.read()
    assert usage is not None
    assert (usage.cpu_seconds, usage.rss_bytes, usage.pids) == (4.0, 200 * 4096, frozenset({10, 11, 12}))
    (tmp_path / "12" / "stat").unlink()  # a worker exits, reaped elsewhere: CPU time never goes backwards
    assert tree.read().cpu_seconds == 4.0
    assert ProcessTree(99, tmp_path).read() is None
