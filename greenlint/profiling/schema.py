"""The profile file (``profile.json``): versioned data classes, written and read back.

``docs/profile-format.md`` documents every field. Versioning follows the JSON report:
``schema_version`` is ``"1.<minor>"``; within 1.x fields are only added, so a reader of
1.0 accepts 1.3 and ignores what it does not know. The file is deterministic for a given
profile: keys sorted, floats rounded, lists in a fixed order.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

SCHEMA_VERSION = "1.0"
MAJOR = 1


@dataclass(frozen=True, slots=True)
class Site:
    """A place in the program: the line, and the function (or module) it is in."""

    path: str
    line: int
    function: str
    first_line: int
    last_line: int

    def encloses(self, path: str, line: int) -> bool:
        """Is ``line`` of ``path`` inside this site's function?"""
        return self.path == path and self.first_line <= line <= self.last_line


@dataclass(frozen=True, slots=True)
class GpuDevice:
    index: int
    name: str
    memory_total_bytes: int | None
    power_limit_w: float | None
    energy_counter: bool


@dataclass(frozen=True, slots=True)
class Machine:
    platform: str
    python: str
    cpu_model: str | None
    cpu_count: int | None
    memory_total_bytes: int | None
    gpus: list[GpuDevice]


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What was run, for how long, and how it ended."""

    command: list[str]
    cwd: str
    started_at: str
    duration_s: float
    exit_code: int | None
    stopped_by: str | None  # "max_steps", "timeout", "interrupt" or None (ended by itself)
    sampled: bool  # greenlint stopped the run at a bound: it measured part of the training
    max_steps: int | None
    timeout_s: float | None
    interval_s: float


@dataclass(frozen=True, slots=True)
class StepStats:
    """Optimizer steps of the primary optimizer; times exclude the first (warm-up) step."""

    count: int
    optimizers: int
    first_step_s: float | None
    last_step_s: float | None
    intervals: int
    mean_s: float | None
    median_s: float | None
    p90_s: float | None
    min_s: float | None
    max_s: float | None
    steps_per_s: float | None
    total_steps: int | None
    total_steps_source: str | None


@dataclass(frozen=True, slots=True)
class GpuSample:
    index: int
    util_pct: float | None
    memory_used_bytes: int | None
    power_w: float | None
    energy_mj: int | None
    used_by_run: bool | None


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of the machine, ``t`` seconds after the run started."""

    t: float
    cpu_seconds: float | None
    cpu_cores_busy: float | None
    rss_bytes: int | None
    processes: int | None
    gpus: list[GpuSample]
    rapl_uj: dict[str, int]


@dataclass(frozen=True, slots=True)
class Source:
    """A measurement source and whether it worked; ``note`` says why not."""

    name: str
    available: bool
    note: str | None


@dataclass(frozen=True, slots=True)
class EnergyComponent:
    name: str  # "gpu", "cpu", "dram"
    joules: float
    method: str
    measured: bool  # from a hardware counter or power reading, not an estimate


@dataclass(frozen=True, slots=True)
class Extrapolation:
    total_steps: int
    source: str
    duration_s: float
    energy_j: float | None
    energy_kwh: float | None
    assumption: str


@dataclass(frozen=True, slots=True)
class Energy:
    total_j: float
    total_kwh: float
    components: list[EnergyComponent]
    steps_window_j: float | None
    per_step_j: float | None
    extrapolation: Extrapolation | None


@dataclass(frozen=True, slots=True)
class LoaderMeasure:
    """One DataLoader; ``stall_fraction`` is its wait over the time spent iterating it."""

    site: Site | None
    num_workers: int
    pin_memory: bool
    batch_size: int | None
    batches_per_epoch: int | None
    fetches: int
    passes: int
    pass_s: float
    wait_s: float
    wait_in_steps_s: float
    stall_fraction: float | None


@dataclass(frozen=True, slots=True)
class DataLoading:
    """Time between optimizer steps spent waiting for the next batch."""

    stall_fraction: float | None
    wait_s: float
    window_s: float
    intervals_used: int
    intervals_excluded: int
    loaders: list[LoaderMeasure]


@dataclass(frozen=True, slots=True)
class SyncSite:
    site: Site
    method: str
    calls: int
    device_calls: int


@dataclass(frozen=True, slots=True)
class HostSyncs:
    """``.item()``, ``.tolist()``, ``.cpu()``, ``.numpy()`` calls; device calls synchronise."""

    per_step: float | None
    device_per_step: float | None
    library_calls: int
    library_device_calls: int
    sites: list[SyncSite]


@dataclass(frozen=True, slots=True)
class EvalForward:
    """Top-level model calls made in eval mode, from one line of the program."""

    site: Site
    model: str
    calls: int
    grad_calls: int  # of those, calls with gradients enabled
    graph_calls: int  # of those, calls whose output required grad: autograd kept activations


@dataclass(frozen=True, slots=True)
class Precision:
    autocast: dict[str, int]  # "cuda:bfloat16" -> times an enabled autocast was entered
    grad_scaler_used: bool
    half_parameters: list[str]


@dataclass(frozen=True, slots=True)
class CheckpointWrite:
    step: int
    at_s: float
    target: str
    via: str
    site: Site | None


@dataclass(frozen=True, slots=True)
class Checkpoints:
    count: int
    writes: list[CheckpointWrite]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    parameters: int
    trainable_parameters: int
    device: str
    input_shapes: list[list[int]] | None
    trained: bool
    forward_macs: int | None
    flops_method: str | None
    unsupported_ops: dict[str, int]
    note: str | None


@dataclass(frozen=True, slots=True)
class Measurements:
    """What the in-process recorder saw; ``recorded`` is False when it reported nothing."""

    recorded: bool
    torch_loaded: bool
    cuda_used: bool
    training_stack: list[Site]
    data_loading: DataLoading | None
    host_syncs: HostSyncs | None
    eval_forwards: list[EvalForward]
    precision: Precision | None
    checkpoints: Checkpoints | None
    models: list[ModelInfo]


@dataclass(frozen=True, slots=True)
class PhaseResult:
    step_s: float
    energy_j: float | None
    energy_method: str | None


@dataclass(frozen=True, slots=True)
class PrecisionComparison:
    device: str
    dtype: str
    steps: int
    fp32: PhaseResult | None
    autocast: PhaseResult | None
    speedup: float | None
    energy_ratio: float | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Profile:
    """The whole measured run, as ``profile.json`` stores it."""

    schema_version: str
    tool_version: str
    machine: Machine
    run: RunInfo
    steps: StepStats
    sources: list[Source]
    samples: list[Sample]
    energy: Energy
    measurements: Measurements
    precision_comparison: PrecisionComparison | None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(_plain(dataclasses.asdict(self)), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def write(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")


class ProfileError(ValueError):
    """A file that is not a profile this version of greenlint can read."""


def load(path: Path) -> Profile:
    """Read ``profile.json``; :class:`ProfileError` says what is wrong in one line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(f"profile {path} does not exist (write one with `greenlint profile --output {path} -- ...`)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ProfileError(f"cannot read profile {path}: {error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ProfileError(f"profile {path} is not JSON: {error.msg} at line {error.lineno}") from None
    return from_dict(data, str(path))


def from_dict(data: Any, where: str = "profile") -> Profile:
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: a profile is a JSON object")
    version = data.get("schema_version")
    if not isinstance(version, str) or version.split(".")[0] != str(MAJOR):
        raise ProfileError(f"{where}: schema_version {version!r} is not {MAJOR}.x; this greenlint reads profiles of version {SCHEMA_VERSION}")
    return _load(Profile, data, where)


def _plain(value: Any) -> Any:
    """Round floats so the file does not depend on the last bits of a timer."""
    if isinstance(value, float):
        return float(f"{value:.7g}")  # seven significant digits, whatever the magnitude
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """Resolved field types of a schema class (a pure function, memoised for long sample lists)."""
    return typing.get_type_hints(cls)


def _load(kind: Any, value: Any, where: str) -> Any:
    """Build ``kind`` from JSON data, checking types; unknown keys are ignored (1.x adds fields)."""
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        options = typing.get_args(kind)
        if value is None:
            if type(None) in options:
                return None
            raise ProfileError(f"{where}: null is not allowed here")
        inner = [o for o in options if o is not type(None)]
        return _load(inner[0], value, where)
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ProfileError(f"{where}: expected an object")
        arguments = {}
        for item in dataclasses.fields(kind):
            hint = _hints(kind)[item.name]
            if item.name not in value:
                if item.default is not dataclasses.MISSING or item.default_factory is not dataclasses.MISSING:
                    continue
                if type(None) in typing.get_args(hint):
                    arguments[item.name] = None
                    continue
                raise ProfileError(f"{where}: missing {item.name!r}")
            arguments[item.name] = _load(hint, value[item.name], f"{where}.{item.name}")
        return kind(**arguments)
    if origin is list:
        if not isinstance(value, list):
            raise ProfileError(f"{where}: expected a list")
        (inner,) = typing.get_args(kind)
        return [_load(inner, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ProfileError(f"{where}: expected an object")
        _, inner = typing.get_args(kind)
        return {str(k): _load(inner, v, f"{where}.{k}") for k, v in value.items()}
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProfileError(f"{where}: expected a number")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProfileError(f"{where}: expected an integer")
        return value
    if kind in (str, bool):
        if not isinstance(value, kind):
            raise ProfileError(f"{where}: expected a {kind.__name__}")
        return value
    if kind is Any:
        return value
    raise ProfileError(f"{where}: unsupported field type {kind!r}")  # pragma: no cover - a schema bug
