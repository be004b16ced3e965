"""How long a notebook's training took, as its saved outputs record it.

Static analysis cannot see how long a run lasts, and the advice of several rules pays only
on long runs: checkpoints protect hours, not minutes; mixed precision and a busy loader
save a fraction of the run time. A notebook saved after running carries the answer in its
outputs: ``Time elapsed: 4.03 min``, ``Epoch Time: 0m 27s``, Keras' ``1875/1875 [====] -
5s 3ms/step``, a finished tqdm bar ``390/390 [01:12<00:00``. This module reads them
(text only; nothing is run) and sums what the cells that train record.

A cell counts as training when its code fits, trains or steps (``.fit(``, ``train(...)``,
``.backward(``) or its output names the time as training or epoch time. Progress bars of
data preparation (``Map``, downloads, tokenization) are left out. A notebook whose training
cells record no time answers None: "not known", never "short".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from greenlint.analyzer.facts import FileFacts

#: A recorded run shorter than this gains minutes at most from faster steps (mixed
#: precision, loader workers, fewer syncs, stopping early). Readers of real notebooks
#: judged mixed precision for an 8-minute run and a sync in a 9-minute one not worth it.
SHORT_RUN_MINUTES = 10.0
#: A recorded run shorter than this loses little to a crash: checkpoints protect hours.
#: Readers of real notebooks judged three 34-minute runs not worth one, and 38 minutes and
#: up worth it.
CHECKPOINT_WORTH_MINUTES = 35.0

#: ``Time elapsed: 4.03 min``, ``Total Training Time: 18.73 min``, ``Training took 95 s``.
_ELAPSED = re.compile(
    r"(?i)(?:(total training time|total time)|time elapsed|elapsed time|training time|training took|elapsed)"
    r"\s*[:=]?\s*([\d.]+)\s*(min|minutes|m\b|s\b|sec|seconds|h\b|hours)"
)
#: ``Epoch: 01 | Epoch Time: 0m 27s`` or ``Epoch: 01 | Time: 0m 13s``.
_EPOCH_TIME = re.compile(r"(?i)\b(epoch )?time\s*:?\s*(\d+)m\s*(\d+)s")
#: IPython's ``%time``: ``Wall time: 3min 32s``, ``Wall time: 1h 2min 5s``, ``Wall time: 830 ms``.
_WALL_TIME = re.compile(r"Wall time: (?:([\d.]+)h ?)?(?:([\d.]+)min ?)?(?:([\d.]+) ?s\b)?(?:([\d.]+) ?[mµu]s)?")
#: Keras' finished epoch: ``1875/1875 [====] - 5s 3ms/step`` or ``1875/1875 ━━━━ 5s 3ms/step``.
_KERAS_EPOCH = re.compile(r"(\d+)/(\d+) (?:\[[=>.]+\] - |[━─]+ )(\d+)s (?:\d+(?:ms|us|s)/step)")
#: A tqdm bar: ``desc: 100%|███| 390/390 [01:12<00:00, 5.4it/s]``.
_TQDM = re.compile(r"(\d+)/(\d+) \[(?:(\d+):)?(\d+):(\d+)<")
_DATA_BAR = re.compile(
    r"(?i)map|download|tokeniz|filter|generat|extract|load|fetch|resolv|process|shard|upload|"
    r"examples/s|ba/s|[kMG]?B/s|files/s"
)
_TRAINING_WORDS = re.compile(r"(?i)train|epoch")
#: Code that trains: a fit, a call of a function named for training, a backward pass.
_TRAINING_CODE = re.compile(r"\.fit\(|\.backward\(|\b(?!train_test_split)\w*train\w*\(|\.train\(\)|\bfit\w*\(")


def recorded_under(facts: FileFacts, minutes: float) -> bool:
    """True when the file is a notebook whose outputs record its training as under ``minutes``."""
    return facts.recorded_minutes is not None and facts.recorded_minutes < minutes


def recorded_training_minutes(cells: Iterable[dict]) -> float | None:
    """Minutes of training that the code cells' saved outputs record, or None when none do.

    Each record is rounded up (a tqdm bar's ``00:00`` counts as a second), so the answer is
    an upper bound: "under N minutes" read from it is safe.
    """
    per_cell = recorded_cell_minutes(cells)
    return sum(per_cell.values()) if per_cell else None


def recorded_cell_minutes(cells: Iterable[dict]) -> dict[int, float]:
    """Minutes of training each code cell's saved outputs record, by code-cell number
    (1-based, as findings number cells); cells that record none are left out."""
    found: dict[int, float] = {}
    for number, cell in _code_cells(cells):
        record = _cell_record(_output_text(cell))
        if record is None:
            continue
        minutes, named_training = record
        if named_training or _TRAINING_CODE.search(_text(cell.get("source", ""))):
            found[number] = minutes
    return found


#: Keras' epoch header: ``Epoch 3/50``, the budget of the fit that printed it.
_KERAS_EPOCH_HEADER = re.compile(r"^Epoch \d+/(\d+)\s*$", re.MULTILINE)


def recorded_cell_epochs(cells: Iterable[dict]) -> dict[int, int]:
    """The epoch budget each code cell's saved Keras log shows (``Epoch 1/2`` -> 2), by
    code-cell number; cells that show none are left out. The budget the run had, when
    the code takes it from a variable set elsewhere (``epochs=int(EPOCHS)``)."""
    found: dict[int, int] = {}
    for number, cell in _code_cells(cells):
        budgets = [int(m.group(1)) for m in _KERAS_EPOCH_HEADER.finditer(_output_text(cell))]
        if budgets:
            found[number] = max(budgets)
    return found


def _code_cells(cells: Iterable[dict]) -> Iterator[tuple[int, dict]]:
    """The code cells with their numbers (1-based, as findings number cells)."""
    number = 0
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            number += 1
            yield number, cell


def recorded_epochs_for_line(facts: FileFacts, line: int) -> int | None:
    """The epoch budget the outputs of the cell holding joined ``line`` show, None if none."""
    cell = facts.cell_of(line)
    return facts.recorded_epochs.get(cell) if cell is not None else None


def recorded_for_line(facts: FileFacts, line: int) -> float | None:
    """Minutes the outputs of the cell holding joined ``line`` record, None if none."""
    cell = facts.cell_of(line)
    return facts.recorded_cells.get(cell) if cell is not None else None


def _cell_record(output: str) -> tuple[float, bool] | None:
    """Minutes one cell's output records and whether it names them as training or epoch
    time; None when the output records no time at all."""
    elapsed = _elapsed(output)
    epoch_times = list(_EPOCH_TIME.finditer(output))
    epochs = [int(m.group(2)) + (int(m.group(3)) + 1) / 60 for m in epoch_times]
    keras = [(int(m.group(3)) + 1) / 60 for m in _KERAS_EPOCH.finditer(output) if m.group(1) == m.group(2)]
    wall = [_wall_minutes(m) for m in _WALL_TIME.finditer(output) if any(m.groups())]
    bars, training_bar = _finished_bars(output)
    if elapsed is None and not (epochs or keras or wall or bars):
        return None
    named = elapsed is not None or any(m.group(1) for m in epoch_times) or bool(keras) or training_bar
    return max(elapsed or 0.0, sum(epochs), sum(keras), sum(wall), sum(bars)), named


def _wall_minutes(match: re.Match[str]) -> float:
    hours, mins, secs, fraction = (float(g) if g else 0.0 for g in match.groups())
    return hours * 60 + mins + (secs + 1) / 60 + fraction / 60_000


def _elapsed(output: str) -> float | None:
    """A logged total counts as it is. Other elapsed times are logged cumulatively (rising;
    the last is the total) or per epoch (they add up)."""
    totals: list[float] = []
    times: list[float] = []
    for match in _ELAPSED.finditer(output):
        minutes = _to_minutes(float(match.group(2)), match.group(3))
        if minutes > 0:  # "0.00 min": the cell loaded a checkpoint instead of training
            (totals if match.group(1) else times).append(minutes)
    if not totals and not times:
        return None
    cumulative = all(earlier < later for earlier, later in zip(times, times[1:]))
    running = (times[-1] if cumulative else sum(times)) if times else 0.0  # repeated values: per epoch
    return max(max(totals, default=0.0), running)


def _finished_bars(output: str) -> tuple[list[float], bool]:
    """Minutes of each tqdm bar that finished, data preparation left out; and whether one
    of them is described as training or epochs."""
    minutes: list[float] = []
    training = False
    previous = ""
    for segment in re.split(r"[\r\n]", output):
        matches = list(_TQDM.finditer(segment))
        if not matches or segment == previous:
            continue
        previous = segment
        bar = matches[-1]
        if bar.group(1) != bar.group(2) or _DATA_BAR.search(segment):
            continue
        hours, mins, secs = int(bar.group(3) or 0), int(bar.group(4)), int(bar.group(5))
        minutes.append(hours * 60 + mins + (secs + 1) / 60)
        training = training or bool(_TRAINING_WORDS.search(segment[: bar.start()]))
    return minutes, training


def _to_minutes(value: float, unit: str) -> float:
    unit = unit.lower()
    if unit.startswith("h"):
        return value * 60
    if unit.startswith("s"):
        return value / 60
    return value


def _output_text(cell: dict) -> str:
    parts: list[str] = []
    outputs = cell.get("outputs")
    for output in outputs if isinstance(outputs, list) else []:
        if not isinstance(output, dict):
            continue
        parts.append(_text(output.get("text", "")))
        data = output.get("data")
        if isinstance(data, dict):
            parts.append(_text(data.get("text/plain", "")))
    return "\n".join(parts)


def _text(value: object) -> str:
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return value if isinstance(value, str) else ""
