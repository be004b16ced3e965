"""The in-process half of ``greenlint profile``: a recorder inside the user's program.

The parent copies this file, unchanged, into a temporary directory next to a generated
``sitecustomize.py`` and prepends that directory to ``PYTHONPATH``. Every Python process
the command starts therefore loads it at start-up, before the user's script, without a
single edit to the user's files and without greenlint being installed in the user's
environment: the module imports only the standard library, and torch once the program
itself imports torch (a post-import hook waits for it, so start-up stays fast for the
programs that never touch torch).

Once torch is loaded it wraps a handful of entry points, each cheap enough not to change
what it measures: the optimizer step (a global post-hook: steps, step time, bounds),
DataLoader iteration (time spent waiting for the next batch), module calls (a global
pre/post hook: first input shape of each top-level model, forwards run in eval mode,
with gradients enabled or not, and whether they built an autograd graph), autocast and
GradScaler use, ``torch.save`` and the frameworks' save calls, and ``Tensor.item``,
``tolist``, ``cpu`` and ``numpy`` (host reads, and whether they read a device tensor).

Global state: one :class:`Recorder` per process, in ``_RECORDER``. It is the one piece of
mutable module state in greenlint's profiling code, and it has to be global: the hooks
are called by torch from anywhere in the user's program and have nowhere else to find
it. Forked children (DataLoader workers) switch it off; of the processes that step an
optimizer, only the first to claim the run (an exclusive file create) reports.

The report is JSON written to ``GREENLINT_PROFILE_REPORT``; progress lines go to the
file descriptor ``GREENLINT_PROFILE_EVENTS_FD``. Both formats are private to greenlint:
``greenlint.profiling.assemble`` turns them into the documented profile.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import time
import weakref
from typing import Any

ENV_REPORT = "GREENLINT_PROFILE_REPORT"
ENV_EVENTS_FD = "GREENLINT_PROFILE_EVENTS_FD"
ENV_CLAIM = "GREENLINT_PROFILE_CLAIM"
ENV_MAX_STEPS = "GREENLINT_PROFILE_MAX_STEPS"
ENV_DEADLINE = "GREENLINT_PROFILE_DEADLINE"
ENV_COMPARE_STEPS = "GREENLINT_PROFILE_COMPARE_STEPS"
ENV_TOTAL_STEPS = "GREENLINT_PROFILE_TOTAL_STEPS"

REPORT_VERSION = 1
#: Step intervals kept one by one (for medians and the stall fraction); later ones are
#: summed only, so a long run cannot grow the recorder without bound.
MAX_INTERVALS = 20_000
MAX_CHECKPOINTS = 200
PROGRESS_EVERY_S = 0.2
SNAPSHOT_EVERY_S = 5.0
#: Locals that hold the length of the whole training, read from the training stack.
TOTAL_STEP_NAMES = (
    "max_steps", "total_steps", "num_training_steps", "num_train_steps", "train_steps",
    "max_iters", "max_iter", "total_iters", "num_iters",
)
EPOCH_NAMES = ("epochs", "num_epochs", "n_epochs", "max_epochs", "nb_epochs", "num_train_epochs", "total_epochs")
CONFIG_NAMES = ("args", "opt", "opts", "cfg", "config", "hparams", "hp", "params", "conf", "flags", "training_args")
SYNC_METHODS = ("item", "tolist", "cpu", "numpy")

_RECORDER: Recorder | None = None


class _StopRun(SystemExit):
    """Raised at a step boundary to end the program cleanly once a bound is reached."""


def _now() -> float:
    return time.perf_counter()


def _guarded(method: Any) -> Any:
    """A hook must never break the program: an internal error stops recording, with a note."""

    def hook(self: Recorder, *args: Any, **kwargs: Any) -> Any:
        if self.broken:
            return None
        try:
            return method(self, *args, **kwargs)
        except _StopRun:
            raise
        except Exception as error:  # noqa: BLE001
            self.broken = True
            self.notes.append(f"the recorder stopped after an internal error in {method.__name__}: "
                              f"{type(error).__name__}: {error}")
            return None

    hook.__name__ = method.__name__
    hook.__doc__ = method.__doc__
    return hook


class Recorder:
    """Everything measured in this process, and the hooks' entry points."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.enabled = True
        self.broken = False  # an internal error: stop recording, keep the program running
        self.paused = False  # our own extra forwards and steps (FLOPs, A/B) are not the run's
        self.cwd = os.getcwd()
        self.report_path = os.environ.get(ENV_REPORT)
        self.claim_path = os.environ.get(ENV_CLAIM)
        fd = os.environ.get(ENV_EVENTS_FD)
        self.events_fd = int(fd) if fd and fd.isdigit() else None
        self.max_steps = _env_int(ENV_MAX_STEPS)
        deadline = os.environ.get(ENV_DEADLINE)
        self.deadline = float(deadline) if deadline else None
        self.compare_steps = _env_int(ENV_COMPARE_STEPS)
        self.total_steps_given = _env_int(ENV_TOTAL_STEPS)
        self.claimed = False
        self.torch_loaded = False
        self.notes: list[str] = []
        self.local = threading.local()
        self.library_cache: dict[str, bool] = {}
        self.code_cache: dict[Any, int] = {}
        self.library_roots: tuple[str, ...] = ()
        # steps
        self.optimizer_steps: dict[int, int] = {}
        self.primary: int | None = None
        self.steps = 0
        self.first_step_wall: float | None = None
        self.last_step_wall: float | None = None
        self.interval_start = 0.0
        self.intervals: list[list[Any]] = []  # [seconds, {loader: wait}]
        self.intervals_dropped = 0
        self.pending_wait: dict[int, float] = {}
        self.last_loader: int | None = None
        self.training_stack: list[dict[str, Any]] = []
        self.total_steps: dict[str, Any] | None = None
        # measurements
        self.loaders: dict[int, dict[str, Any]] = {}
        self.loader_refs: dict[int, Any] = {}
        self.pass_started: dict[int, float] = {}
        self.syncs: dict[tuple, dict[str, Any]] = {}
        self.library_syncs = {"calls": 0, "device_calls": 0}
        self.eval_forwards: dict[tuple, dict[str, Any]] = {}
        self.models: dict[int, dict[str, Any]] = {}
        self.model_refs: dict[int, Any] = {}
        self.autocast: dict[str, int] = {}
        self.grad_scaler = {"scaled_losses": 0, "enabled": False}
        self.checkpoints: list[dict[str, Any]] = []
        self.checkpoint_count = 0
        self.save_depth = 0
        self.half_parameters: list[str] = []
        self.cuda_used = False
        self.flops: dict[str, Any] | None = None
        self.precision_ab: dict[str, Any] | None = None
        self.primary_model_ref: Any = None
        self.strong_model: Any = None
        self.stopped_by: str | None = None
        self.last_progress = 0.0
        self.last_snapshot = 0.0
        self.finished = False

    # ---- plumbing -------------------------------------------------------------------

    def emit(self, event: dict[str, Any]) -> None:
        """One JSON line to the parent; a closed pipe just ends the progress stream."""
        if self.events_fd is None or not self.active_reporter():
            return
        try:
            os.write(self.events_fd, (json.dumps(event, separators=(",", ":")) + "\n").encode())
        except OSError:
            self.events_fd = None

    def active_reporter(self) -> bool:
        return self.enabled and os.getpid() == self.pid

    def claim(self) -> bool:
        """Become the process that reports; at most one in the process tree does."""
        if self.claimed:
            return True
        if not self.active_reporter():
            return False
        if self.claim_path is None:
            self.claimed = True
            return True
        try:
            os.close(os.open(self.claim_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            self.enabled = False
            return False
        except OSError:
            pass
        self.claimed = True
        return True

    def is_library(self, filename: str) -> bool:
        cached = self.library_cache.get(filename)
        if cached is None:
            path = os.path.abspath(filename) if not filename.startswith("<") else filename
            cached = (
                filename.startswith("<frozen")
                or path == _THIS_FILE
                or "site-packages" + os.sep in path
                or "dist-packages" + os.sep in path
                or any(path.startswith(root) for root in self.library_roots)
            )
            self.library_cache[filename] = cached
        return cached

    def user_frame(self) -> Any:
        """The nearest caller outside torch, the standard library and installed packages."""
        frame = sys._getframe(1)
        while frame is not None and self.is_library(frame.f_code.co_filename):
            frame = frame.f_back
        return frame

    def site(self, frame: Any) -> dict[str, Any]:
        code = frame.f_code
        last = self.code_cache.get(code)
        if last is None:
            if hasattr(code, "co_lines"):
                lines = [line for _, _, line in code.co_lines() if line is not None]
            else:  # Python before 3.10 runs the program
                import dis

                lines = [line for _, line in dis.findlinestarts(code)]
            last = max(lines) if lines else code.co_firstlineno
            self.code_cache[code] = last
        filename = code.co_filename
        if not filename.startswith("<"):
            filename = os.path.normpath(os.path.join(self.cwd, filename))
        return {
            "path": filename,
            "line": frame.f_lineno or code.co_firstlineno,
            "function": code.co_name,
            "first_line": 1 if code.co_name == "<module>" else code.co_firstlineno,
            "last_line": last,
        }

    # ---- optimizer steps ------------------------------------------------------------

    @_guarded
    def on_step(self, optimizer: Any) -> None:
        if not self.enabled or self.paused:
            return
        started = _now()
        key = id(optimizer)
        self.optimizer_steps[key] = self.optimizer_steps.get(key, 0) + 1
        if self.primary is None:
            if not self.claim():
                return
            self.primary = key
        if key != self.primary:
            return
        if self.stopped_by is not None:
            raise _StopRun(0)  # the program caught the first stop; stop again
        self.steps += 1
        self.last_step_wall = time.time()
        if self.steps == 1:
            self.first_step_wall = self.last_step_wall
            self.first_step(optimizer)
        elif len(self.intervals) < MAX_INTERVALS:
            self.intervals.append([started - self.interval_start, dict(self.pending_wait)])
        else:
            self.intervals_dropped += 1
        self.pending_wait.clear()
        if self.steps == 1 or started - self.last_progress >= PROGRESS_EVERY_S:
            self.last_progress = started
            self.emit({"e": "step", "n": self.steps, "t": self.last_step_wall})
        if self.max_steps is not None and self.steps >= self.max_steps:
            self.stop("max_steps")
        if self.deadline is not None and time.time() >= self.deadline:
            self.stop("timeout")
        if started - self.last_snapshot >= SNAPSHOT_EVERY_S:
            self.last_snapshot = started
            self.write_report()
        self.interval_start = _now()  # our own work above is not the next step's time

    def first_step(self, optimizer: Any) -> None:
        """Once: where training happens, what is trained, how long the whole run is."""
        frame = self.user_frame()
        while frame is not None:
            if not self.is_library(frame.f_code.co_filename):
                self.training_stack.append(self.site(frame))
            frame = frame.f_back
        self.total_steps = self.find_total_steps()
        model = self.trained_model(optimizer)
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
            self.cuda_used = True
        if model is None:
            self.notes.append("no top-level model called before the first optimizer step holds the optimizer's parameters")
            return
        self.primary_model_ref = weakref.ref(model)
        if self.compare_steps:
            self.strong_model = model  # kept alive for the precision comparison at the end
        half = sorted({str(p.dtype).replace("torch.", "") for p in model.parameters()
                       if p.dtype in (torch.float16, torch.bfloat16)})
        self.half_parameters = half
        info = self.models.get(id(model))
        if info is not None:
            info["trained"] = True
            self.flops = _measure_flops(self, model, info)

    def trained_model(self, optimizer: Any) -> Any:
        params = {id(p) for group in optimizer.param_groups for p in group["params"]}
        for key, ref in self.model_refs.items():
            model = ref()
            if model is not None and any(id(p) in params for p in model.parameters()):
                return model
        return None

    def find_total_steps(self) -> dict[str, Any] | None:
        if self.total_steps_given:
            return {"steps": self.total_steps_given, "source": "--total-steps"}
        frame = self.user_frame()
        while frame is not None:
            found = _total_steps_in(frame.f_locals, self.loader_length())
            if found is not None:
                found["source"] += f" in {frame.f_code.co_name}()"
                return found
            frame = frame.f_back
        return None

    def loader_length(self) -> int | None:
        ref = self.loader_refs.get(self.last_loader) if self.last_loader is not None else None
        loader = ref() if ref is not None else None
        try:
            return len(loader) if loader is not None else None
        except Exception:  # noqa: BLE001 - iterable datasets have no length
            return None

    def stop(self, reason: str) -> None:
        self.stopped_by = reason
        self.emit({"e": "stopping", "reason": reason, "n": self.steps, "t": time.time()})
        self.finish()
        raise _StopRun(0)

    def finish(self) -> None:
        """End of the measured run: the optional A/B, then the report."""
        if self.finished:
            return
        self.finished = True
        if self.compare_steps and self.primary_model_ref is not None:
            model = self.primary_model_ref()
            info = self.models.get(id(model)) if model is not None else None
            if model is not None and info is not None:
                self.precision_ab = _compare_precision(self, model, info, self.compare_steps)
            self.strong_model = None
        self.write_report()

    # ---- data loading ---------------------------------------------------------------

    @_guarded
    def on_loader_created(self, loader: Any) -> None:
        key = id(loader)
        frame = self.user_frame()
        num_workers = getattr(loader, "num_workers", 0)
        try:
            batches = len(loader)
        except Exception:  # noqa: BLE001 - iterable datasets and samplers without a length
            batches = None
        self.loaders[key] = {
            "site": self.site(frame) if frame is not None else None,
            "num_workers": num_workers,
            "pin_memory": bool(getattr(loader, "pin_memory", False)),
            "batch_size": getattr(loader, "batch_size", None),
            "batches_per_epoch": batches,
            "fetches": 0,
            "wait_s": 0.0,
            "passes": 0,
            "pass_s": 0.0,  # time inside passes over the loader: from iter() to its end
        }
        self.loader_refs[key] = weakref.ref(loader)

    @_guarded
    def on_pass(self, key: int, started: float | None, ended: float | None) -> None:
        """A pass over a loader began (``iter()``) or ended (its StopIteration)."""
        info = self.loaders.get(key)
        if info is None or self.paused:
            return
        if started is not None:
            self.close_pass(key, started)  # a new iter() abandons the previous pass
            self.pass_started[key] = started
            info["passes"] += 1
        if ended is not None:
            self.close_pass(key, ended)

    def close_pass(self, key: int, now: float) -> None:
        began = self.pass_started.pop(key, None)
        if began is not None:
            self.loaders[key]["pass_s"] += now - began

    @_guarded
    def on_wait(self, key: int, seconds: float, fetched: bool) -> None:
        info = self.loaders.get(key)
        if info is None or self.paused:
            return
        info["wait_s"] += seconds
        if fetched:
            info["fetches"] += 1
        self.pending_wait[key] = self.pending_wait.get(key, 0.0) + seconds
        self.last_loader = key

    # ---- module calls ---------------------------------------------------------------

    def depth(self) -> int:
        return getattr(self.local, "depth", 0)

    @_guarded
    def on_forward_pre(self, module: Any, args: tuple) -> None:
        depth = self.depth()
        self.local.depth = depth + 1
        if depth or self.paused or not self.enabled:
            return
        if next(module.parameters(), None) is None:
            self.local.eval_site = None
            return
        key = id(module)
        if key not in self.models and len(self.models) < 50:
            self.models[key] = _describe_model(module, args)
            self.model_refs[key] = weakref.ref(module)
        self.local.eval_site = None
        if not module.training:
            frame = self.user_frame()
            if frame is not None:
                grad = sys.modules["torch"].is_grad_enabled()
                self.local.eval_site = (self.site(frame), type(module).__name__, grad)

    @_guarded
    def on_forward_post(self, module: Any, output: Any) -> None:
        depth = self.depth() - 1
        self.local.depth = max(depth, 0)
        if depth or self.paused or not self.enabled:
            return
        pending = getattr(self.local, "eval_site", None)
        self.local.eval_site = None
        if pending is None:
            return
        site, name, grad = pending
        key = (site["path"], site["line"], name)
        entry = self.eval_forwards.get(key)
        if entry is None:
            entry = self.eval_forwards[key] = {"site": site, "model": name, "calls": 0, "grad_calls": 0, "graph_calls": 0}
        entry["calls"] += 1
        entry["grad_calls"] += int(grad)
        if grad and _builds_graph(output):
            entry["graph_calls"] += 1

    # ---- other events ---------------------------------------------------------------

    @_guarded
    def on_sync(self, tensor: Any, method: str) -> None:
        if self.paused or not self.enabled:
            return
        try:
            on_device = tensor.device.type not in ("cpu", "meta")
        except Exception:  # noqa: BLE001 - an exotic tensor subclass: count it as host-side
            on_device = False
        frame = sys._getframe(1)
        while frame.f_code.co_filename == _THIS_FILE:  # the immediate caller of the tensor method
            frame = frame.f_back
        if self.is_library(frame.f_code.co_filename):
            self.library_syncs["calls"] += 1
            self.library_syncs["device_calls"] += int(on_device)
            return
        site = self.site(frame)
        key = (site["path"], site["line"], method)
        entry = self.syncs.get(key)
        if entry is None:
            entry = self.syncs[key] = {"site": site, "method": method, "calls": 0, "device_calls": 0}
        entry["calls"] += 1
        entry["device_calls"] += int(on_device)

    @_guarded
    def on_autocast(self, device: str, dtype: Any) -> None:
        if self.paused or not self.enabled:
            return
        key = f"{device}:{str(dtype).replace('torch.', '')}"
        self.autocast[key] = self.autocast.get(key, 0) + 1

    @_guarded
    def on_scale(self, enabled: bool) -> None:
        if self.paused or not self.enabled:
            return
        self.grad_scaler["scaled_losses"] += 1
        self.grad_scaler["enabled"] = self.grad_scaler["enabled"] or bool(enabled)

    @_guarded
    def on_save(self, target: Any, via: str) -> None:
        if self.paused or not self.enabled:
            return
        name = target if isinstance(target, (str, os.PathLike)) else getattr(target, "name", None)
        if name is None or not isinstance(name, (str, os.PathLike)):
            return  # an in-memory buffer (a copy, a size estimate) keeps nothing on disk
        self.checkpoint_count += 1
        if len(self.checkpoints) < MAX_CHECKPOINTS:
            frame = self.user_frame()
            self.checkpoints.append({
                "step": self.steps,
                "at": time.time(),
                "target": os.fspath(name),
                "via": via,
                "site": self.site(frame) if frame is not None else None,
            })

    # ---- report ---------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        now = _now()
        for key in list(self.pass_started):  # passes still open count up to now
            self.close_pass(key, now)
            self.pass_started[key] = now
        return {
            "version": REPORT_VERSION,
            "pid": self.pid,
            "python": sys.version.split()[0],
            "torch_loaded": self.torch_loaded,
            "cuda_used": self.cuda_used,
            "steps": self.steps,
            "optimizers": len(self.optimizer_steps),
            "first_step_at": self.first_step_wall,
            "last_step_at": self.last_step_wall,
            "intervals": self.intervals,
            "intervals_dropped": self.intervals_dropped,
            "training_stack": self.training_stack,
            "total_steps": self.total_steps,
            "loaders": {str(k): v for k, v in self.loaders.items()},
            "syncs": list(self.syncs.values()),
            "library_syncs": self.library_syncs,
            "eval_forwards": list(self.eval_forwards.values()),
            "models": [m for m in self.models.values() if m.get("trained")] or list(self.models.values())[:5],
            "autocast": self.autocast,
            "grad_scaler": self.grad_scaler,
            "half_parameters": self.half_parameters,
            "checkpoints": self.checkpoints,
            "checkpoint_count": self.checkpoint_count,
            "flops": self.flops,
            "precision_ab": self.precision_ab,
            "stopped_by": self.stopped_by,
            "notes": self.notes,
        }

    def write_report(self) -> None:
        if self.report_path is None or not self.claimed or os.getpid() != self.pid:
            return
        temporary = f"{self.report_path}.{self.pid}.tmp"
        try:
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(self.report(), handle, default=str)
            os.replace(temporary, self.report_path)
        except (OSError, TypeError, ValueError) as error:
            sys.stderr.write(f"greenlint: could not write the profile report: {error}\n")

    def at_exit(self) -> None:
        if not self.active_reporter():
            return
        if not self.claimed:
            import multiprocessing

            if multiprocessing.parent_process() is not None or not self.torch_loaded or not self.claim():
                return  # a worker, or a process that never used torch: not the run
        self.finish()
        self.write_report()


# ---- helpers used by the recorder ------------------------------------------------------

_THIS_FILE = os.path.abspath(__file__)


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else None


def _total_steps_in(variables: dict[str, Any], batches_per_epoch: int | None) -> dict[str, Any] | None:
    """``max_steps = 5000`` or ``epochs``/``args.epochs`` x batches per epoch, from locals."""
    for name in TOTAL_STEP_NAMES:
        value = variables.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return {"steps": value, "source": f"{name} = {value}"}
    for holder in CONFIG_NAMES:
        owner = variables.get(holder)
        if owner is None:
            continue
        for name in TOTAL_STEP_NAMES:
            value = _attribute(owner, name)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return {"steps": value, "source": f"{holder}.{name} = {value}"}
    if not batches_per_epoch:
        return None
    for name in EPOCH_NAMES:
        value = variables.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return {"steps": value * batches_per_epoch,
                    "source": f"{name} = {value} epochs x {batches_per_epoch} batches per epoch"}
    for holder in CONFIG_NAMES:
        owner = variables.get(holder)
        if owner is None:
            continue
        for name in EPOCH_NAMES:
            value = _attribute(owner, name)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return {"steps": value * batches_per_epoch,
                        "source": f"{holder}.{name} = {value} epochs x {batches_per_epoch} batches per epoch"}
    return None


def _attribute(owner: Any, name: str) -> Any:
    if isinstance(owner, dict):
        return owner.get(name)
    try:
        return getattr(owner, name, None)
    except Exception:  # noqa: BLE001 - a config object with a strict __getattr__
        return None


def _describe_model(module: Any, args: tuple) -> dict[str, Any]:
    torch = sys.modules["torch"]
    tensors = all(isinstance(a, torch.Tensor) for a in args) and bool(args)
    parameters = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    device = next(module.parameters()).device.type
    return {
        "name": type(module).__name__,
        "parameters": parameters,
        "trainable_parameters": trainable,
        "device": device,
        "inputs": [{"shape": list(a.shape), "dtype": str(a.dtype).replace("torch.", ""), "device": str(a.device)}
                   for a in args] if tensors else None,
        "trained": False,
    }


def _builds_graph(output: Any, depth: int = 0) -> bool:
    torch = sys.modules["torch"]
    if isinstance(output, torch.Tensor):
        return output.requires_grad
    if depth > 2:
        return False
    if isinstance(output, dict):
        return any(_builds_graph(v, depth + 1) for v in output.values())
    if isinstance(output, (list, tuple)):
        return any(_builds_graph(v, depth + 1) for v in output[:8])
    return False


def _synthetic_inputs(info: dict[str, Any]) -> list[Any] | None:
    torch = sys.modules["torch"]
    if not info.get("inputs"):
        return None
    made = []
    for spec in info["inputs"]:
        dtype = getattr(torch, spec["dtype"])
        if dtype.is_floating_point:
            made.append(torch.randn(spec["shape"], dtype=dtype, device=spec["device"]))
        else:
            made.append(torch.zeros(spec["shape"], dtype=dtype, device=spec["device"]))
    return made


def _first_tensor(output: Any) -> Any:
    torch = sys.modules["torch"]
    if isinstance(output, torch.Tensor):
        return output
    values = output.values() if isinstance(output, dict) else output if isinstance(output, (list, tuple)) else ()
    for value in values:
        found = _first_tensor(value)
        if found is not None:
            return found
    return None


class _Paused:
    """Our own forwards and steps, with the model's buffers and the RNG left as found."""

    def __init__(self, recorder: Recorder, model: Any) -> None:
        self.recorder = recorder
        self.model = model

    def __enter__(self) -> None:
        torch = sys.modules["torch"]
        self.recorder.paused = True
        self.buffers = [(b, b.detach().clone()) for b in self.model.buffers()]
        self.rng = torch.get_rng_state()
        self.cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
        self.training = self.model.training

    def __exit__(self, *exc: object) -> None:
        torch = sys.modules["torch"]
        with torch.no_grad():
            for buffer, saved in self.buffers:
                buffer.copy_(saved)
        torch.set_rng_state(self.rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)
        self.model.train(self.training)
        self.recorder.paused = False


def _measure_flops(recorder: Recorder, model: Any, info: dict[str, Any]) -> dict[str, Any]:
    """Forward MACs of the trained model for its first real input shape.

    fvcore's count (one fused multiply-add = one flop) when fvcore is installed, else
    torch's FlopCounterMode halved to the same convention.
    """
    inputs = _synthetic_inputs(info)
    if inputs is None:
        return {"macs": None, "method": None, "note": "the model's inputs are not plain tensors; FLOPs not measured"}
    torch = sys.modules["torch"]
    import logging
    import warnings

    with _Paused(recorder, model), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from fvcore.nn import FlopCountAnalysis

            logging.getLogger("fvcore").setLevel(logging.ERROR)
            analysis = FlopCountAnalysis(model, tuple(inputs))
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            analysis.tracer_warnings("none")
            macs = int(analysis.total())
            unsupported = dict(sorted(analysis.unsupported_ops().items()))
            return {"macs": macs, "method": "fvcore FlopCountAnalysis", "unsupported_ops": unsupported, "note": None}
        except ImportError:
            method = "torch FlopCounterMode / 2 (fvcore is not installed)"
        except Exception as error:  # noqa: BLE001 - tracing fails on many real models
            method = f"torch FlopCounterMode / 2 (fvcore failed: {type(error).__name__})"
        try:
            from torch.utils.flop_counter import FlopCounterMode

            with FlopCounterMode(display=False) as counter:
                model(*inputs)
            return {"macs": int(counter.get_total_flops() // 2), "method": method, "unsupported_ops": {}, "note": None}
        except Exception as error:  # noqa: BLE001
            return {"macs": None, "method": None, "note": f"FLOPs not measured: {type(error).__name__}: {error}"}


def _compare_precision(recorder: Recorder, model: Any, info: dict[str, Any], steps: int) -> dict[str, Any]:
    """A short A/B of one training step of a copy of the model: fp32 against autocast.

    Synthetic inputs of the first real shape, the mean of the first output as the loss,
    plain SGD with a tiny learning rate; the parent attributes energy to each phase from
    the ``phase`` events' timestamps. The model's buffers and the RNG are left as found.
    """
    torch = sys.modules["torch"]
    if not info.get("inputs"):
        return {"error": "the model's inputs are not plain tensors"}
    device = next(model.parameters()).device
    if device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        dtype = torch.bfloat16
    result: dict[str, Any] = {"device": device.type, "dtype": str(dtype).replace("torch.", ""), "steps": steps}
    with _Paused(recorder, model):
        try:
            result.update(_time_phases(recorder, model, _synthetic_inputs(info), device, dtype, steps))
        except Exception as error:  # noqa: BLE001 - the comparison must never break the report
            result["error"] = f"{type(error).__name__}: {error}"
    return result


def _time_phases(recorder: Recorder, model: Any, inputs: list[Any], device: Any, dtype: Any, steps: int) -> dict[str, Any]:
    import copy

    torch = sys.modules["torch"]
    twin = copy.deepcopy(model).train()
    optimizer = torch.optim.SGD([p for p in twin.parameters() if p.requires_grad], lr=1e-9)
    scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None

    def one_step(mixed: bool) -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype, enabled=mixed):
            loss = _first_tensor(twin(*inputs)).float().mean()
        if scaler is not None and mixed:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()

    def synchronise() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    phases: dict[str, Any] = {}
    for phase, mixed in (("fp32", False), ("autocast", True)):
        for _ in range(3):
            one_step(mixed)
        synchronise()
        recorder.emit({"e": "phase", "name": phase, "edge": "start", "t": time.time()})
        wall = time.time()
        started = _now()
        for _ in range(steps):
            one_step(mixed)
        synchronise()
        elapsed = _now() - started
        recorder.emit({"e": "phase", "name": phase, "edge": "end", "t": time.time()})
        phases[phase] = {"step_s": elapsed / steps, "started_at": wall, "ended_at": time.time()}
    return phases


# ---- wrapping torch --------------------------------------------------------------------


def _instrument(torch: Any) -> None:
    """Wrap torch's entry points; called once, right after ``import torch`` finished."""
    recorder = _RECORDER
    if recorder is None:
        return
    recorder.torch_loaded = True
    torch_root = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
    stdlib = os.path.dirname(os.path.abspath(os.__file__)) + os.sep
    recorder.library_roots = (torch_root, stdlib)
    recorder.library_cache.clear()

    from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
    from torch.optim.optimizer import register_optimizer_step_post_hook

    register_optimizer_step_post_hook(lambda optimizer, args, kwargs: recorder.on_step(optimizer))
    register_module_forward_pre_hook(lambda module, args: recorder.on_forward_pre(module, args))
    register_module_forward_hook(lambda module, args, output: recorder.on_forward_post(module, output), always_call=True)

    _wrap_dataloader(recorder, torch)
    _wrap_precision(recorder, torch)
    _wrap_syncs(recorder, torch)
    save = _saving(recorder, torch.save, "torch.save")
    torch.save = save
    torch.serialization.save = save


def _wrap_dataloader(recorder: Recorder, torch: Any) -> None:
    from torch.utils.data import dataloader

    loader_class = dataloader.DataLoader
    original_init = loader_class.__init__
    original_iter = loader_class.__iter__
    original_next = dataloader._BaseDataLoaderIter.__next__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if recorder.enabled:
            recorder.on_loader_created(self)

    def __iter__(self: Any) -> Any:
        started = _now()
        recorder.on_pass(id(self), started, None)
        iterator = original_iter(self)
        try:
            iterator._greenlint_loader = id(self)
        except AttributeError:
            pass
        recorder.on_wait(id(self), _now() - started, fetched=False)
        return iterator

    def __next__(self: Any) -> Any:
        key = getattr(self, "_greenlint_loader", None)
        if key is None:
            return original_next(self)
        started = _now()
        try:
            batch = original_next(self)
        except StopIteration:
            ended = _now()
            recorder.on_wait(key, ended - started, fetched=False)
            recorder.on_pass(key, None, ended)
            raise
        recorder.on_wait(key, _now() - started, fetched=True)
        return batch

    loader_class.__init__ = __init__
    loader_class.__iter__ = __iter__
    dataloader._BaseDataLoaderIter.__next__ = __next__


def _wrap_precision(recorder: Recorder, torch: Any) -> None:
    from torch.amp import autocast_mode, grad_scaler

    original_enter = autocast_mode.autocast.__enter__
    original_scale = grad_scaler.GradScaler.scale

    def __enter__(self: Any) -> Any:
        result = original_enter(self)
        if getattr(self, "_enabled", False):
            recorder.on_autocast(getattr(self, "device", "?"), getattr(self, "fast_dtype", "?"))
        return result

    def scale(self: Any, outputs: Any) -> Any:
        recorder.on_scale(getattr(self, "_enabled", False))
        return original_scale(self, outputs)

    autocast_mode.autocast.__enter__ = __enter__
    grad_scaler.GradScaler.scale = scale


def _wrap_syncs(recorder: Recorder, torch: Any) -> None:
    for method in SYNC_METHODS:
        original = getattr(torch.Tensor, method)

        def wrapper(self: Any, *args: Any, __original: Any = original, __method: str = method, **kwargs: Any) -> Any:
            if recorder.enabled:
                recorder.on_sync(self, __method)
            return __original(self, *args, **kwargs)

        wrapper.__name__ = method
        wrapper.__doc__ = original.__doc__
        setattr(torch.Tensor, method, wrapper)


def _saving(recorder: Recorder, original: Any, via: str, target_index: int = 1) -> Any:
    """Wrap a save function; only the outermost of nested saves counts."""

    def save(*args: Any, **kwargs: Any) -> Any:
        outermost = recorder.save_depth == 0
        recorder.save_depth += 1
        try:
            return original(*args, **kwargs)
        finally:
            recorder.save_depth -= 1
            if outermost:
                target = args[target_index] if len(args) > target_index else next(iter(kwargs.values()), None)
                for key in ("f", "filename", "save_directory", "filepath", "output_dir"):
                    if key in kwargs:
                        target = kwargs[key]
                recorder.on_save(target, via)

    save.__wrapped__ = original  # type: ignore[attr-defined]
    save.__name__ = getattr(original, "__name__", "save")
    save.__doc__ = getattr(original, "__doc__", None)
    return save


def _wrap_method(recorder: Recorder, owner: Any, name: str, via: str, target_index: int) -> None:
    original = getattr(owner, name, None)
    if original is not None and not hasattr(original, "__wrapped_by_greenlint__"):
        wrapped = _saving(recorder, original, via, target_index)
        wrapped.__wrapped_by_greenlint__ = True  # type: ignore[attr-defined]
        setattr(owner, name, wrapped)


#: Framework save calls: module -> (object path, attribute, argument index of the target).
FRAMEWORK_SAVES: dict[str, list[tuple[str, str, int]]] = {
    "safetensors.torch": [("", "save_file", 1), ("", "save_model", 1)],
    "transformers.modeling_utils": [("PreTrainedModel", "save_pretrained", 1)],
    "lightning.pytorch.trainer.trainer": [("Trainer", "save_checkpoint", 1)],
    "pytorch_lightning.trainer.trainer": [("Trainer", "save_checkpoint", 1)],
    "accelerate.accelerator": [("Accelerator", "save_state", 1)],
}


def _instrument_framework(module: Any) -> None:
    recorder = _RECORDER
    if recorder is None:
        return
    for owner_name, attribute, index in FRAMEWORK_SAVES.get(module.__name__, ()):
        owner = getattr(module, owner_name, None) if owner_name else module
        if owner is not None:
            _wrap_method(recorder, owner, attribute, f"{module.__name__}.{owner_name + '.' if owner_name else ''}{attribute}", index)


class _PostImportHook:
    """A ``sys.meta_path`` finder that runs a callback after chosen modules load.

    It delegates finding to the other finders and wraps the found loader's
    ``exec_module``, so the module is imported exactly as it would be without us.
    """

    def __init__(self, callbacks: dict[str, Any]) -> None:
        self.callbacks = callbacks

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        callback = self.callbacks.get(name)
        if callback is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        original = loader.exec_module

        def exec_module(module: Any) -> None:
            original(module)
            try:
                callback(module)
            except Exception as error:  # noqa: BLE001 - never break the user's import
                if _RECORDER is not None:
                    _RECORDER.notes.append(f"instrumenting {name} failed: {type(error).__name__}: {error}")

        try:
            loader.exec_module = exec_module
        except AttributeError:
            return spec
        return spec


def _forked() -> None:
    if _RECORDER is not None:
        _RECORDER.enabled = False


def install() -> Recorder | None:
    """Start recording in this process (called by the generated ``sitecustomize``)."""
    global _RECORDER
    if _RECORDER is not None or ENV_REPORT not in os.environ:
        return _RECORDER
    _RECORDER = Recorder()
    callbacks: dict[str, Any] = {"torch": _instrument}
    callbacks.update({name: _instrument_framework for name in FRAMEWORK_SAVES})
    if "torch" in sys.modules:
        _instrument(sys.modules["torch"])
    sys.meta_path.insert(0, _PostImportHook(callbacks))
    os.register_at_fork(after_in_child=_forked)
    atexit.register(_RECORDER.at_exit)
    return _RECORDER


def chain_sitecustomize(own_file: str) -> None:
    """Run the ``sitecustomize`` our generated one shadows (a distribution's, a venv's)."""
    import importlib.machinery
    import importlib.util

    own_dir = os.path.dirname(os.path.abspath(own_file))
    search = [p for p in sys.path if os.path.abspath(p or ".") != own_dir]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", search)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
