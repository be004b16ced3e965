"""greenlint's rules, one module per rule, registered in ``ALL_RULES`` in code order.

To find a rule by name, open the module of the same name with underscores:
``no-mixed-precision`` lives in ``no_mixed_precision.py``.
"""

from __future__ import annotations

from greenlint.rules.base import Rule
from greenlint.rules.data_reload_in_loop import DataReloadInLoop
from greenlint.rules.dataloader_no_workers import DataloaderNoWorkers
from greenlint.rules.float64_compute import Float64Compute
from greenlint.rules.grad_in_inference import GradInInference
from greenlint.rules.grid_search import GridSearch
from greenlint.rules.heavy_architecture import HeavyArchitecture
from greenlint.rules.host_sync_in_loop import HostSyncInLoop
from greenlint.rules.missing_checkpoint import MissingCheckpoint
from greenlint.rules.model_over_budget import ModelOverBudget
from greenlint.rules.no_early_stopping import NoEarlyStopping
from greenlint.rules.no_energy_monitoring import NoEnergyMonitoring
from greenlint.rules.no_mixed_precision import NoMixedPrecision
from greenlint.rules.no_quantization import NoQuantization
from greenlint.rules.reimplemented_builtin import ReimplementedBuiltin
from greenlint.rules.train_from_scratch import TrainFromScratch

ALL_RULES: tuple[type[Rule], ...] = (
    Float64Compute,
    GridSearch,
    HeavyArchitecture,
    ReimplementedBuiltin,
    NoEarlyStopping,
    TrainFromScratch,
    ModelOverBudget,
    NoMixedPrecision,
    MissingCheckpoint,
    NoQuantization,
    DataloaderNoWorkers,
    HostSyncInLoop,
    GradInInference,
    DataReloadInLoop,
    NoEnergyMonitoring,
)


def all_rules() -> tuple[Rule, ...]:
    """One instance of every rule, sorted by code."""
    return tuple(sorted((cls() for cls in ALL_RULES), key=lambda r: r.code))
