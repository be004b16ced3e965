"""The live view on stderr while the program runs (only when stderr is a terminal).

With the view on, the program's stdout and stderr come through pipes and are printed
above the view, line by line, so neither garbles the other.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from greenlint.profiling.runner import Progress


def format_bytes(value: float | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover


def render_progress(progress: Progress, command: str, max_steps: int | None = None) -> Table:
    """The view's table; a function of the progress alone, so it can be tested."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    status = f"stopping ({progress.stopping})" if progress.stopping else (progress.phase or "running")
    table.add_row("greenlint profile", Text(f"{command}  [{status}]"))
    steps = f"{progress.steps}" + (f" / {max_steps}" if max_steps else "")
    rate = progress.steps_per_s
    table.add_row("elapsed", f"{progress.elapsed:6.1f} s    steps {steps}    "
                  + (f"{rate:.2f} steps/s" if rate else "- steps/s"))
    sample = progress.sample
    if sample is not None:
        cores = f"{sample.cpu_cores_busy:.2f} cores busy" if sample.cpu_cores_busy is not None else "- cores"
        table.add_row("cpu", f"{cores}    rss {format_bytes(sample.rss_bytes)}    processes {sample.processes or '-'}")
        for gpu in sample.gpus:
            util = f"{gpu.util_pct:.0f}%" if gpu.util_pct is not None else "-"
            power = f"{gpu.power_w:.0f} W" if gpu.power_w is not None else "- W"
            table.add_row(f"gpu {gpu.index}", f"util {util}    mem {format_bytes(gpu.memory_used_bytes)}    power {power}")
    return table


class LiveView:
    """A rich ``Live`` region on stderr; the program's output is printed above it.

    The program's stderr always comes through the view; its stdout only when stdout is
    the same kind of thing (a terminal), so ``> log.txt`` still gets the program's output.
    """

    def __init__(self, command: str, max_steps: int | None, stream: TextIO | None = None,
                 forward_stdout: bool | None = None) -> None:
        self.console = Console(file=stream or sys.stderr)
        if forward_stdout is None:
            forward_stdout = sys.stdout.isatty()
        self.forwards = frozenset({"stderr", "stdout"} if forward_stdout else {"stderr"})
        self.command = command
        self.max_steps = max_steps
        self.partial = {"stdout": b"", "stderr": b""}
        self.live = Live(Group(Text("starting ...")), console=self.console, refresh_per_second=4, transient=True)
        self.live.start()

    def update(self, progress: Progress) -> None:
        self.live.update(render_progress(progress, self.command, self.max_steps))

    def output(self, stream: str, data: bytes) -> None:
        buffered = self.partial[stream] + data
        *lines, self.partial[stream] = buffered.split(b"\n")
        for line in lines:
            self._print(line)

    def _print(self, line: bytes) -> None:
        # A carriage return redraws a line in a terminal: keep what would remain visible.
        text = line.decode("utf-8", errors="replace").rsplit("\r", 1)[-1]
        self.console.print(Text(text), soft_wrap=True, highlight=False)

    def close(self) -> None:
        for stream in ("stdout", "stderr"):
            if self.partial[stream]:
                self._print(self.partial[stream])
                self.partial[stream] = b""
        self.live.stop()
