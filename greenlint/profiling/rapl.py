"""CPU package and DRAM energy counters of Intel and AMD CPUs (Linux powercap, RAPL).

Since Linux 5.10 the counters are readable by root only (a side-channel fix), and
containers often lack the directory: both cases degrade to an estimate with a note.
Counters wrap at ``max_energy_range_uj``; :func:`counter_delta` undoes that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

POWERCAP = Path("/sys/class/powercap")


@dataclass(frozen=True, slots=True)
class RaplZone:
    """A counter: ``package-0`` or ``package-0/dram``."""

    name: str
    directory: Path
    max_range_uj: int | None


def read_int(path: Path) -> int:
    return int(path.read_text().strip())


class RaplSource:
    """Finds package and DRAM zones under ``root`` and reads their counters in microjoules."""

    def __init__(self, root: Path = POWERCAP, reader: Callable[[Path], int] = read_int) -> None:
        self.root = root
        self.reader = reader
        self.zones: list[RaplZone] = []
        self.available = False
        self.note: str | None = None
        if not root.is_dir():
            self.note = f"RAPL is not available ({root} does not exist); CPU energy is estimated"
            return
        # Sub-zones sit inside their package's directory and, in sysfs, beside it too.
        found = {d.name: d for d in [*root.glob("intel-rapl:*/intel-rapl:*"), *root.glob("intel-rapl:*")]}
        packages: dict[str, str] = {}
        for key in sorted(found, key=lambda k: (k.count(":"), k)):
            directory = found[key]
            parts = key.split(":")
            name = _zone_name(directory)
            if name is None:
                continue
            if len(parts) == 2 and name.startswith("package"):
                packages[parts[1]] = name
                self.zones.append(RaplZone(name, directory, _max_range(directory, reader)))
            elif len(parts) == 3 and name == "dram":
                package = packages.get(parts[1], f"package-{parts[1]}")
                self.zones.append(RaplZone(f"{package}/dram", directory, _max_range(directory, reader)))
        if not self.zones:
            self.note = f"RAPL is not available (no package zones under {root}); CPU energy is estimated"
            return
        try:
            for zone in self.zones:
                reader(zone.directory / "energy_uj")
        except PermissionError:
            self.note = ("RAPL energy counters are not readable (root only since Linux 5.10; "
                         "see docs/profile-format.md); CPU energy is estimated")
            return
        except (OSError, ValueError) as error:
            self.note = f"RAPL energy counters are not readable ({error}); CPU energy is estimated"
            return
        self.available = True

    def read(self) -> dict[str, int]:
        """Every zone's counter now; zones that fail this time are left out."""
        if not self.available:
            return {}
        values = {}
        for zone in self.zones:
            try:
                values[zone.name] = self.reader(zone.directory / "energy_uj")
            except (OSError, ValueError):
                continue
        return values

    def max_range(self, name: str) -> int | None:
        return next((z.max_range_uj for z in self.zones if z.name == name), None)


def counter_delta(before: int, after: int, max_range: int | None) -> int:
    """Microjoules between two readings of a counter that wraps at ``max_range``."""
    if after >= before:
        return after - before
    if max_range:
        return after + max_range - before
    return 0


def _zone_name(directory: Path) -> str | None:
    try:
        return (directory / "name").read_text().strip()
    except OSError:
        return None


def _max_range(directory: Path, reader: Callable[[Path], int]) -> int | None:
    try:
        return reader(directory / "max_energy_range_uj")
    except (OSError, ValueError):
        return None
