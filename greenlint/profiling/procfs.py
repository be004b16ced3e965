"""CPU time and memory of the profiled process and its descendants, from ``/proc``.

Only the run's own process tree is counted (DataLoader workers included), so the
numbers say what the run used, not what the machine was doing meanwhile.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class TreeUsage:
    """One reading: cumulative CPU seconds of the tree, its resident memory, its processes."""

    cpu_seconds: float
    rss_bytes: int
    pids: frozenset[int]


class ProcessTree:
    """Reads a process tree's usage; ``available`` is False where there is no ``/proc``."""

    def __init__(self, root_pid: int, proc: Path = PROC) -> None:
        self.root_pid = root_pid
        self.proc = proc
        self.available = (proc / "self").exists() or (proc / str(root_pid)).exists()
        self.note = None if self.available else f"{proc} is not readable: CPU and memory of the run were not sampled"
        self.ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self.highest = 0.0

    def read(self) -> TreeUsage | None:
        """The tree's usage now; None when the root process is gone or ``/proc`` is absent."""
        if not self.available:
            return None
        stats = self._all_stats()
        if self.root_pid not in stats:
            return None
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in stats.items():
            children.setdefault(ppid, []).append(pid)
        cpu = 0.0
        rss = 0
        pids = set()
        stack = [self.root_pid]
        while stack:
            pid = stack.pop()
            if pid in pids:
                continue
            _, ticks, pages = stats[pid]
            cpu += ticks / self.ticks
            rss += pages * self.page
            pids.add(pid)
            stack.extend(children.get(pid, ()))
        # A descendant reaped by init takes its CPU time with it; never go backwards.
        self.highest = max(self.highest, cpu)
        return TreeUsage(self.highest, rss, frozenset(pids))

    def _all_stats(self) -> dict[int, tuple[int, int, int]]:
        """pid -> (parent pid, utime+stime+cutime+cstime ticks, resident pages)."""
        stats: dict[int, tuple[int, int, int]] = {}
        try:
            entries = os.listdir(self.proc)
        except OSError:
            return stats
        for name in entries:
            if not name.isdigit():
                continue
            parsed = parse_stat(self.proc / name / "stat")
            if parsed is not None:
                stats[int(name)] = parsed
        return stats


def parse_stat(path: Path) -> tuple[int, int, int] | None:
    """Parent pid, CPU ticks (own and reaped children's) and RSS pages from one stat file."""
    try:
        text = path.read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after its last ')'.
    fields = text[text.rfind(")") + 2:].split()
    try:
        ppid = int(fields[1])
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
        pages = int(fields[21])
    except (IndexError, ValueError):
        return None
    return ppid, ticks, pages


def memory_total_bytes(proc: Path = PROC) -> int | None:
    try:
        for line in (proc / "meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def cpu_model(proc: Path = PROC) -> str | None:
    try:
        for line in (proc / "cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        return None
    return None
