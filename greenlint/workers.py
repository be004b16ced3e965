"""Parsing files in worker processes, with garbage collection in batches.

Kept apart from the engine because everything here runs in child processes: it must be
importable at module level and picklable, and it owns the one piece of per-process state
(the worker's garbage-collection batcher).
"""

from __future__ import annotations

import gc
import multiprocessing
import re
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from greenlint.analyzer.sources import SourceFile, analyze_bytes, module_name, read_source
from greenlint.cache import Entry
from greenlint.findings import Diagnostic

#: A file is parsed only if it mentions one of these; other files cannot hold a finding.
TRIGGERS = re.compile(
    rb"torch|sklearn|keras|tensorflow|lightning|transformers|optuna|\bray\b|wandb|accelerate|"
    rb"deepspeed|onnx|xgboost|lightgbm|catboost|\bjax\b|flax|fastapi|flask|gradio|bentoml|"
    rb"\btrain|\.fit\(|itertools|codecarbon|carbontracker|zeus|eco2ai|nvml|nvidia-smi"
)
#: Files parsed between two explicit garbage collections (see ``GcBatches``).
GC_EVERY = 64


class GcBatches:
    """Collect garbage every few files instead of whenever the allocator says so.

    libcst trees hold reference cycles, so garbage collection must run, but Python's
    automatic collections rescan every long-lived object (all facts gathered so far) and
    made a cold run twice as slow. Here collection runs every ``GC_EVERY`` files, and the
    survivors are frozen so later collections skip them.
    """

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> GcBatches:
        self.was_enabled = gc.isenabled()
        gc.disable()
        gc.freeze()
        return self

    def tick(self) -> None:
        self.count += 1
        if self.count % GC_EVERY == 0:
            gc.collect()
            gc.freeze()

    def __exit__(self, *exc: object) -> None:
        gc.collect()
        gc.unfreeze()
        if self.was_enabled:
            gc.enable()


def _worker_start() -> None:
    """Pool initializer: workers batch their collections too, for their whole life."""
    _WORKER_GC.append(GcBatches().__enter__())


#: The worker process's batcher (one per process; empty in the parent).
_WORKER_GC: list[GcBatches] = []


def analyze_one(task: tuple[str, str]) -> Entry:
    """Worker entry point: read and analyse one file (must be picklable, module level)."""
    for batches in _WORKER_GC:
        batches.tick()
    root, relative = task
    source = SourceFile(Path(root), relative, module_name(relative))
    data = read_source(source)
    if isinstance(data, Diagnostic):
        return data
    return analyze_bytes(source, data, TRIGGERS)


def pool(jobs: int) -> ProcessPoolExecutor:
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method), initializer=_worker_start)


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the facts already loaded out of garbage collection while rules run.

    Rules allocate many small objects (graphs, cost estimates); each automatic collection
    of the oldest generation would otherwise rescan every fact of the project, which made
    building the call graph of a 2,000-file project take seconds instead of milliseconds.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
