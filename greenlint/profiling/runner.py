"""Run the user's command under the recorder, sample the machine, enforce the bounds.

One thread: a ``select`` loop over the recorder's progress pipe (and, with a live view,
the program's stdout and stderr) that wakes at every sampling interval. Without a live
view the program writes straight to the terminal or file it inherited, so its output
passes through untouched. Bounds are first enforced by the recorder at a step boundary
(a clean exit); the loop only escalates (SIGINT, then SIGTERM, then SIGKILL of the whole
tree) when the program does not reach a boundary in time.
"""

from __future__ import annotations

import json
import os
import resource
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from greenlint.profiling.assemble import RunRecord
from greenlint.profiling.launch import Bounds, Injection
from greenlint.profiling.nvml import NvmlSource
from greenlint.profiling.procfs import ProcessTree
from greenlint.profiling.rapl import RaplSource
from greenlint.profiling.sampler import Sampler
from greenlint.profiling.schema import GpuDevice, Sample

#: Seconds a program may take after asking to stop (or after its last sign of life while
#: stopping) before it is interrupted; longer with the precision comparison, which runs then.
STOP_GRACE_S = 15.0
COMPARE_GRACE_S = 120.0
ESCALATE_AFTER_S = 5.0
DRAIN_S = 1.0


class CommandError(Exception):
    """The command could not be started at all (not found, not executable)."""


@dataclass(frozen=True, slots=True)
class Request:
    """What to run and how to bound and sample it."""

    command: list[str]
    max_steps: int | None = None
    timeout_s: float | None = None
    interval_s: float = 0.5
    compare_steps: int | None = None
    total_steps: int | None = None


@dataclass
class Progress:
    """What the live view shows; updated as events and samples arrive."""

    started: float
    steps: int = 0
    last_step_at: float | None = None
    first_step_at: float | None = None
    sample: Sample | None = None
    stopping: str | None = None
    phase: str | None = None
    step_times: list[float] = field(default_factory=list)

    @property
    def elapsed(self) -> float:
        return time.time() - self.started

    @property
    def steps_per_s(self) -> float | None:
        if self.steps >= 2 and self.first_step_at is not None and self.last_step_at is not None:
            span = self.last_step_at - self.first_step_at
            return (self.steps - 1) / span if span > 0 else None
        return None


class View(Protocol):
    """Where progress and the program's forwarded streams (``forwards``) go."""

    forwards: frozenset[str]  # of "stdout", "stderr": the rest is inherited untouched

    def update(self, progress: Progress) -> None: ...

    def output(self, stream: str, data: bytes) -> None: ...

    def close(self) -> None: ...


class QuietView:
    """No live view: the program's output is inherited, not forwarded."""

    forwards: frozenset[str] = frozenset()

    def update(self, progress: Progress) -> None:
        pass

    def output(self, stream: str, data: bytes) -> None:  # pragma: no cover - never forwarded
        pass

    def close(self) -> None:
        pass


@dataclass
class _Escalation:
    """When to interrupt, terminate and kill a program that does not stop by itself."""

    at: float | None = None
    stage: int = 0

    def schedule(self, when: float) -> None:
        if self.stage == 0 and (self.at is None or when > self.at):
            self.at = when


def run(
    request: Request,
    view: View,
    nvml: NvmlSource | None = None,
    rapl: RaplSource | None = None,
    proc: Path = Path("/proc"),
    environ: dict[str, str] | None = None,
) -> RunRecord:
    """Run the command to its end or its bound; returns everything measured."""
    injection = Injection.create()
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    started = time.time()
    deadline = started + request.timeout_s if request.timeout_s else None
    bounds = Bounds(request.max_steps, deadline, request.compare_steps, request.total_steps)
    env = injection.environment(dict(os.environ if environ is None else environ), write_fd, bounds)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    stdout = subprocess.PIPE if "stdout" in view.forwards else None
    stderr = subprocess.PIPE if "stderr" in view.forwards else None
    try:
        child = subprocess.Popen(request.command, env=env, pass_fds=(write_fd,), stdout=stdout, stderr=stderr)
    except OSError as error:
        os.close(read_fd)
        os.close(write_fd)
        injection.remove()
        raise CommandError(f"cannot run {request.command[0]!r}: {error.strerror or error}") from None
    os.close(write_fd)
    nvml = nvml if nvml is not None else NvmlSource()
    rapl = rapl if rapl is not None else RaplSource()
    sampler = Sampler(ProcessTree(child.pid, proc), nvml, rapl, started)
    progress = Progress(started)
    loop = _Loop(child, read_fd, view, sampler, progress, request, deadline)
    try:
        loop.run()
    finally:
        os.close(read_fd)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    last_cpu = sampler.samples[-1].cpu_seconds if sampler.samples else None
    sampler.take(cpu_seconds=max(child_cpu, last_cpu or 0.0))
    ended = time.time()
    report, report_note = _read_report(injection.report)
    notes = [report_note] if report_note else []
    notes.extend(loop.notes)
    record = RunRecord(
        command=list(request.command),
        cwd=os.getcwd(),
        started=started,
        ended=ended,
        exit_code=child.returncode,
        stopped_by=loop.stopped_by(),
        max_steps=request.max_steps,
        timeout_s=request.timeout_s,
        interval_s=request.interval_s,
        samples=sampler.samples,
        sources=sampler.sources(),
        gpus=[GpuDevice(d.index, d.name, d.memory_total_bytes, d.power_limit_w, d.energy_counter) for d in nvml.devices],
        rapl_ranges={z.name: z.max_range_uj for z in rapl.zones},
        report=report,
        notes=notes,
    )
    sampler.close()
    injection.remove()
    return record


class _Loop:
    """The select loop of one run."""

    def __init__(self, child: subprocess.Popen, events_fd: int, view: View, sampler: Sampler,
                 progress: Progress, request: Request, deadline: float | None) -> None:
        self.child = child
        self.view = view
        self.sampler = sampler
        self.progress = progress
        self.request = request
        self.deadline = deadline
        self.selector = selectors.DefaultSelector()
        self.selector.register(events_fd, selectors.EVENT_READ, "events")
        for name, stream in (("stdout", child.stdout), ("stderr", child.stderr)):
            if stream is not None:
                os.set_blocking(stream.fileno(), False)
                self.selector.register(stream.fileno(), selectors.EVENT_READ, name)
        self.buffer = b""
        self.escalation = _Escalation()
        self.stopping_reason: str | None = None
        self.deadline_hit = False
        self.interrupted = False
        self.notes: list[str] = []
        self.grace = COMPARE_GRACE_S if request.compare_steps else STOP_GRACE_S

    def run(self) -> None:
        next_sample = time.time()
        while True:
            try:
                now = time.time()
                if now >= next_sample:
                    self.progress.sample = self.sampler.take(now)
                    self.view.update(self.progress)
                    next_sample = now + self.request.interval_s
                if self.child.poll() is not None:
                    self._drain()
                    return
                self._check_deadline(now)
                self._escalate(now)
                wait = max(0.0, min(next_sample - time.time(), 0.1))
                for key, _ in self.selector.select(wait):
                    self._read(key.fileobj, key.data)  # type: ignore[arg-type]
            except KeyboardInterrupt:
                # The terminal sent SIGINT to the program as well; give it time to stop.
                if self.interrupted:
                    self._kill_tree()
                self.interrupted = True
                self.escalation.schedule(time.time() + ESCALATE_AFTER_S)

    def _read(self, fd: int, name: str) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.selector.unregister(fd)
            return
        if name == "events":
            self._events(data)
        else:
            self.view.output(name, data)

    def _events(self, data: bytes) -> None:
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self._event(event)

    def _event(self, event: dict[str, Any]) -> None:
        kind = event.get("e")
        if kind == "step":
            steps = int(event.get("n", 0))
            at = float(event.get("t", time.time()))
            if self.progress.first_step_at is None:
                self.progress.first_step_at = at
            elif steps > self.progress.steps and self.progress.last_step_at is not None:
                self.progress.step_times.append((at - self.progress.last_step_at) / (steps - self.progress.steps))
            self.progress.steps = steps
            self.progress.last_step_at = at
        elif kind == "stopping":
            self.stopping_reason = str(event.get("reason"))
            self.progress.stopping = self.stopping_reason
            self.progress.steps = int(event.get("n", self.progress.steps))
        elif kind == "phase":
            self.progress.phase = f"{event.get('name')} {event.get('edge')}"
            self.progress.sample = self.sampler.take()  # a reading at each phase edge
        if self.stopping_reason is not None:
            self.escalation.schedule(time.time() + self.grace)
        self.view.update(self.progress)

    def _check_deadline(self, now: float) -> None:
        if self.deadline is None or self.deadline_hit or now < self.deadline:
            return
        self.deadline_hit = True
        times = sorted(self.progress.step_times)
        # A program that steps stops itself at its next step; allow it a few steps' time.
        grace = min(30.0, max(2.0, 3 * times[len(times) // 2])) if times else 2.0
        self.escalation.schedule(now + grace)
        self.progress.stopping = self.progress.stopping or "timeout"

    def _escalate(self, now: float) -> None:
        state = self.escalation
        if state.at is None or now < state.at:
            return
        if state.stage == 0:
            self._signal(signal.SIGINT)
            self.notes.append("the program did not stop at a step boundary in time: it was interrupted (SIGINT)")
        elif state.stage == 1:
            self._signal(signal.SIGTERM)
            self.notes.append("the program ignored SIGINT: it was terminated (SIGTERM)")
        else:
            self._kill_tree()
            self.notes.append("the program ignored SIGTERM: its process tree was killed (SIGKILL)")
        state.stage += 1
        state.at = now + ESCALATE_AFTER_S

    def _signal(self, number: int) -> None:
        try:
            self.child.send_signal(number)
        except ProcessLookupError:
            pass

    def _kill_tree(self) -> None:
        for pid in sorted(self.sampler.pids | {self.child.pid}, reverse=True):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def _drain(self) -> None:
        """Read what the program wrote before it ended; workers it left may hold pipes open."""
        until = time.time() + DRAIN_S
        while self.selector.get_map() and time.time() < until:
            ready = self.selector.select(0.05)
            if not ready:
                continue
            for key, _ in ready:
                self._read(key.fileobj, key.data)  # type: ignore[arg-type]
        self.selector.close()

    def stopped_by(self) -> str | None:
        if self.stopping_reason in ("max_steps", "timeout"):
            return self.stopping_reason
        if self.deadline_hit:
            return "timeout"
        if self.interrupted:
            return "interrupt"
        return None


def _read_report(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except OSError as error:
        return None, f"the recorder's report could not be read: {error}"
    try:
        data = json.loads(text)
    except ValueError:
        return None, "the recorder's report was cut short (the program was killed while writing it)"
    return (data, None) if isinstance(data, dict) else (None, "the recorder's report is not an object")


def exit_status(returncode: int | None) -> int:
    """A shell-style exit status: 128 + N for a program killed by signal N."""
    if returncode is None:
        return 1
    return 128 - returncode if returncode < 0 else returncode

