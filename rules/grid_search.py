"""GL201 grid-search: exhaustive hyperparameter grids that train every combination."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

from greenlint.analyzer import long_run, ml
from greenlint.analyzer.config_facts import grid_search_axes
from greenlint.analyzer.cost.quotes import TrainingRun, training_kwh_per_run
from greenlint.analyzer.cost.report import kwh
from greenlint.analyzer.facts import Call, ConfigEntry, FileFacts, Loop, Value
from greenlint.analyzer.project import Project
from greenlint.findings import Confidence, Finding, Saving
from greenlint.rules.base import Rule

#: Loop variables that name repetitions or data, not hyperparameters.
NOT_HYPERPARAMETERS = frozenset(
    {
        "seed", "seeds", "random_state", "dataset", "datasets", "data", "ds", "dataset_name",
        "fold", "folds", "split", "splits", "run", "runs", "trial", "rep", "repeat", "repetition",
        "i", "j", "k", "idx", "index", "_", "model", "models", "model_name", "name", "clf",
        "estimator", "est", "epoch", "path", "file", "filename", "task", "lang", "language",
        "subset", "env", "env_name", "benchmark", "metric", "device",
    }
)
TRAINING_METHODS = frozenset(
    {"fit", "fit_generator", "train", "train_model", "run_training", "finetune", "fine_tune", "train_and_evaluate"}
)
SAVING = Saving(
    text="Bayesian or successive-halving search usually reaches the same score with a fraction of the trainings",
    source="Yarally et al., CAIN 2023, doi:10.1109/CAIN58948.2023.00012",
)
#: A grid of fewer candidates is left alone: random or successive-halving search would
#: need about as many trials to cover it, so there is little to save.
SMALL_GRID = 10
#: A GridSearchCV of scikit-learn's own estimators fitting fewer times than this is
#: reported at low confidence: each fit takes CPU-seconds on in-memory data.
MANY_SKLEARN_FITS = 1000
#: Libraries and scikit-learn wrappers whose estimators train networks or boosted
#: ensembles: a grid over them costs what its trainings cost, often GPU-hours.
NETWORK_LIBRARIES = frozenset({"torch", "tensorflow", "keras", "tf_keras", "scikeras", "skorch", "xgboost", "lightgbm",
                               "catboost"})
NETWORK_WRAPPERS = frozenset({"KerasClassifier", "KerasRegressor", "NeuralNetClassifier", "NeuralNetRegressor",
                              "NeuralNet", "XGBClassifier", "XGBRegressor", "LGBMClassifier", "LGBMRegressor",
                              "CatBoostClassifier", "CatBoostRegressor"})
FIX = (
    "search the space adaptively: sklearn HalvingGridSearchCV or RandomizedSearchCV, or "
    "optuna's default TPE sampler with a pruner, and cap the number of trials"
)


class GridSearch(Rule):
    """
    ## What it does
    Finds exhaustive hyperparameter grids: scikit-learn `GridSearchCV` and `ParameterGrid`,
    optuna's `GridSampler`, Ray Tune's `tune.grid_search` (over two or more
    hyperparameters, as in files), keras-tuner's `GridSearch`,
    and nested loops (or `itertools.product`) over literal lists of hyperparameter values
    whose body trains a model. In config files: Weights & Biases sweeps with `method:
    grid`, Hydra multirun sweeps over two or more comma lists with the basic sweeper, and
    Ray Tune search-space or experiment files (YAML or JSON, such as RLlib's) with two or
    more `{grid_search: [...]}` hyperparameters; Ray runs every combination `num_samples`
    times, and the message counts it. A `GridSearchCV`, `ParameterGrid`, `GridSampler` or
    W&B grid of fewer than 10 candidates is not flagged: an adaptive search would need
    about as many trials to cover it. A `GridSearchCV` whose estimators are all
    scikit-learn's own (forests, SVMs, linear models, pipelines of transformers; also an
    estimator class or pipeline factory of the file's own, in a file that imports no
    network or boosting library) and that fits fewer than 1,000 times is reported at low
    confidence, so `check` hides it by
    default: each fit takes CPU-seconds on in-memory data and the whole grid minutes. A
    grid over Keras, skorch, XGBoost, LightGBM or CatBoost estimators keeps high
    confidence: each of its fits is a training run. When the grid is literal, the message counts the
    trainings it costs: values per axis (lists, `range`, `np.arange`, and
    `np.linspace`/`logspace`/`geomspace` with a literal count), times folds or samples. Where the cost model can
    estimate one training of the model the grid trains (its forward cost, and samples x
    epochs from the code), the message also multiplies that energy out, under the
    assumptions `greenlint estimate` prints.

    ## Why it costs energy
    A grid trains one model per combination, and the number of combinations multiplies
    with every axis added. Most of those trainings land in regions an adaptive search
    would have abandoned after a few trials, so the energy buys almost no accuracy.

    ## Example
    ```python
    booster = XGBClassifier(n_estimators=2000, tree_method="hist", device="cuda")
    grid = {"max_depth": [4, 6, 8, 10], "learning_rate": [0.3, 0.1, 0.03]}
    search = GridSearchCV(booster, grid, cv=5)
    search.fit(X_train, y_train)  # 4 x 3 = 12 candidates x 5 folds = 60 boosted trainings
    ```

    ## Use instead
    ```python
    search = HalvingGridSearchCV(booster, grid, cv=5, factor=3)  # drops weak candidates early
    # or: optuna.create_study(sampler=optuna.samplers.TPESampler(), pruner=optuna.pruners.MedianPruner())
    ```
    Random search over the same space with a fixed budget, Bayesian optimisation, and
    successive halving are not flagged (nor a W&B grid sweep with `early_terminate`:
    hyperband stops its weak runs early); nor is a Ray Tune file whose space is sampled
    (`choice`, `loguniform`) or a Ray Tune space that sweeps a single hyperparameter.

    ## Evidence
    Yarally, Cruz, Feitosa, Sallou, van Deursen, "Uncovering Energy-Efficient Practices in
    Deep Learning Training: Preliminary Steps Towards Green AI", CAIN 2023: Bayesian
    optimisation dominates grid and random search in energy for the same accuracy.
    Tactics T6 (choose an energy-efficient algorithm) and T1 (sampling) of Järvenpää et al.,
    ICSE-SEIS 2024, doi:10.1145/3639475.3640111.
    """

    code = "GL201"
    name = "grid-search"
    summary = "Exhaustive hyperparameter grid that trains every combination"
    tactics = ("T6", "T1")
    confidence = Confidence.HIGH

    def check(self, project: Project) -> Iterator[Finding]:
        runs: dict[str | None, TrainingRun | None] = {}
        for grid in self._grids(project):
            finding = grid.finding
            if grid.trainings is not None:
                if grid.model_scope not in runs:
                    runs[grid.model_scope] = training_kwh_per_run(project, grid.model_scope)
                finding = _with_cost(grid, runs[grid.model_scope])
            yield _graded(project, finding)

    def _grids(self, project: Project) -> Iterator[_Grid]:
        for facts in project.python_files():
            yield from (_Grid(f) for f in self._library_grids(facts))
            yield from self._tune_grids(facts)
            yield from self._loop_grids(project, facts)
        for facts in project.config_files():
            yield from self._sweep_config(facts)

    # -- library calls ----------------------------------------------------------------

    def _library_grids(self, facts: FileFacts) -> Iterator[Finding]:
        """GridSearchCV, ParameterGrid, Optuna's GridSampler and W&B grid sweeps in code."""
        for call in facts.calls:
            kind = _grid_kind(call)
            if kind is None:
                continue
            if kind in ("GridSearchCV", "ParameterGrid", "GridSampler"):
                index = 1 if kind == "GridSearchCV" else 0
                keyword = {"GridSearchCV": "param_grid", "ParameterGrid": "param_grid", "GridSampler": "search_space"}[kind]
                grid = ml.literal_or_resolved(facts, call.argument(keyword, index), call.scope, call.line)
                combos = grid_size(grid)
                shape = grid_shape(grid)
            elif kind == "wandb.sweep":
                sweep = ml.literal_or_resolved(facts, call.argument("sweep", 0), call.scope, call.line)
                if sweep is None or sweep.kind != "dict":
                    continue
                method = sweep.get("method")
                if method is None or method.kind != "literal" or method.literal != "grid":
                    continue
                combos = _sweep_size(sweep.get("parameters"))
                shape = ""
            else:
                combos, shape = None, ""
            if combos is not None and combos < SMALL_GRID:
                continue  # random search would need about as many trials to cover it
            message = f"{kind} trains every combination of its grid"
            if combos is not None:
                message = f"{kind} trains every combination: {shape}{combos} candidates"
            if kind == "GridSearchCV":
                folds = _folds(facts, call)
                if combos is not None and folds is not None:
                    message += f" x {folds} folds = {combos * folds} fits (plus one refit)"
                elif folds is not None:
                    message += f", each cross-validated {folds} times"
            finding = self.finding(facts.path, call.line, call.column, message, FIX, SAVING)
            if kind == "GridSearchCV" and _cheap_fits(facts, call, combos):
                finding = replace(finding, confidence=Confidence.LOW)
            yield finding

    def _tune_grids(self, facts: FileFacts) -> Iterator[_Grid]:
        """Ray Tune: one finding per statement that builds a space with grid_search axes."""
        by_statement: dict[int, list[Call]] = {}
        for call in facts.calls:
            if call.name.endswith("tune.grid_search") and call.name.split(".")[0] in ("ray", "tune"):
                by_statement.setdefault(call.statement, []).append(call)
        for calls in by_statement.values():
            sizes = [_list_length(c.positional(0)) for c in calls]
            if len([s for s in sizes if s is None or s >= 2]) < 2:
                continue  # one searched axis is a list of runs, not a combinatorial grid
            first = min(calls, key=lambda c: (c.line, c.column))
            message = f"Ray Tune grid_search over {len(calls)} axes runs every combination"
            trainings = math.prod(sizes) if all(s is not None for s in sizes) else None  # type: ignore[arg-type]
            if trainings is not None:
                message += f": {' x '.join(map(str, sizes))} = {trainings} trials"
            yield _Grid(self.finding(facts.path, first.line, first.column, message, FIX, SAVING), trainings, facts.path)

    # -- hand-written grids -------------------------------------------------------------

    def _loop_grids(self, project: Project, facts: FileFacts) -> Iterator[_Grid]:
        reported: set[int] = set()
        for loop in reversed(facts.loops):  # innermost first, so a grid is seen whole
            if ml.is_benchmark(facts, loop.scope):
                continue  # a benchmark sweeps configurations to compare them, not to tune
            axes = self._axes(facts, loop)
            if not axes:
                continue
            chain = [loop, *(p for p in facts.loop_chain(loop.parent) if self._axes(facts, p))]
            dims = [size for l in chain for size in self._axes(facts, l)]
            if len(dims) < 2 or chain[-1].id in reported:
                continue
            if not self._trains(project, facts, loop):
                continue
            outer = chain[-1]
            reported.add(outer.id)
            names = [t for l in reversed(chain) for t in l.targets if t not in ("_",)]
            message = (
                f"this grid trains {' x '.join(map(str, reversed(dims)))} = {math.prod(dims)} models, "
                f"one per combination of {', '.join(names)}"
            )
            yield _Grid(self.finding(facts.path, outer.line, outer.column, message, FIX, SAVING), math.prod(dims), facts.path)

    def _axes(self, facts: FileFacts, loop: Loop) -> list[int]:
        """Lengths of the literal hyperparameter lists a loop iterates, [] if it is no grid axis."""
        if loop.kind != "for" or loop.iter is None or not loop.targets:
            return []
        if any(t.lower() in NOT_HYPERPARAMETERS for t in loop.targets):
            return []
        value = loop.iter
        if value.kind == "call" and value.text in ("itertools.product", "product"):
            sizes = [_list_length(ml.literal_or_resolved(facts, a.value, loop.scope, loop.line)) for a in value.args]
            if len(sizes) >= 2 and all(s is not None and s >= 2 for s in sizes):
                return sizes  # type: ignore[return-value]
            return []
        size = _list_length(ml.literal_or_resolved(facts, value, loop.scope, loop.line))
        return [size] if size is not None and size >= 2 else []

    def _trains(self, project: Project, facts: FileFacts, loop: Loop) -> bool:
        calls = list(ml.calls_in_loop(facts, loop))
        for call in calls:
            if call.method in TRAINING_METHODS or ml.is_backward(call) or call.method.startswith("train_"):
                return True
        for located in project.calls_in_functions(project.reachable(facts, calls)):
            if ml.is_backward(located.call) or located.call.method in ("fit", "fit_generator"):
                return True
        return False

    # -- sweep configs ------------------------------------------------------------------

    def _sweep_config(self, facts: FileFacts) -> Iterator[_Grid]:
        yield from self._hydra_sweep(facts)
        if facts.config_kind == "ray-tune":
            yield from self._ray_tune_space(facts)
        if facts.config_kind != "wandb-sweep":
            return
        method = next((e for e in facts.config if e.key == "method"), None)
        if method is None or method.value != "grid":
            return
        if any(e.key.startswith("early_terminate") for e in facts.config):
            return  # hyperband stops the weak runs early: successive halving over the grid
        sizes = [len(e.value) for e in facts.config if e.key.endswith(".values") and isinstance(e.value, list)]
        if sizes and math.prod(sizes) < SMALL_GRID:
            return  # random search would need about as many runs to cover it
        message = "W&B sweep with method: grid runs every combination of its parameter values"
        if sizes:
            message = (
                f"W&B sweep with method: grid runs every combination: "
                f"{' x '.join(map(str, sizes))} = {math.prod(sizes)} runs"
            )
        fix = "use method: bayes (or random with a run cap) and an early_terminate hyperband schedule"
        yield _Grid(self.finding(facts.path, method.line, method.column, message, fix, SAVING), math.prod(sizes) if sizes else None)


    def _hydra_sweep(self, facts: FileFacts) -> Iterator[_Grid]:
        """Hydra's basic sweeper runs the cross product of comma lists in hydra.sweeper.params."""
        params = [e for e in facts.config if e.key.startswith("hydra.sweeper.params.")]
        sweeper = next((e.value for e in facts.config if e.key in ("hydra.sweeper._target_", "defaults") or
                        e.key.startswith("defaults.") and "sweeper" in e.key), None)
        if sweeper is not None and "basic" not in str(sweeper).lower():
            return  # optuna, ax, nevergrad: adaptive sweepers
        sizes = [_comma_values(e.value) for e in params]
        axes = [(e, n) for e, n in zip(params, sizes) if n is not None and n >= 2]
        if len(axes) < 2:
            return
        first = axes[0][0]
        counts = [n for _, n in axes]
        if math.prod(counts) < SMALL_GRID:
            return
        message = (
            f"Hydra multirun sweep runs every combination: {' x '.join(map(str, counts))} = {math.prod(counts)} runs"
        )
        fix = "use an adaptive sweeper (hydra-optuna-sweeper with TPE) and cap n_trials"
        yield _Grid(self.finding(facts.path, first.line, first.column, message, fix, SAVING), math.prod(counts))


    def _ray_tune_space(self, facts: FileFacts) -> Iterator[_Grid]:
        """Ray Tune runs every combination of the ``grid_search`` axes, ``num_samples`` times over."""
        for root, axes in _ray_experiments(facts).items():
            sized = [(axis, n) for axis in axes if (n := _ray_axis_size(facts, axis)) is not None and n >= 2]
            tuned = [a for a, _ in sized if a.rpartition(".")[2].lower() not in NOT_HYPERPARAMETERS]
            if len(tuned) < 2:
                continue  # one swept hyperparameter (with seeds, say) is a sweep, not a grid that multiplies
            first = min((_ray_axis_entry(facts, a) for a, _ in sized), key=lambda e: (e.line, e.column))
            samples = _ray_num_samples(facts, root)
            message = _ray_grid_message(sized, samples)
            fix = (
                "replace grid_search with ranges (tune.loguniform, tune.choice) searched by OptunaSearch or "
                "HyperOptSearch with a capped num_samples, and stop weak trials with an ASHA scheduler"
            )
            trials = math.prod(n for _, n in sized) * max(samples or 1, 1)
            yield _Grid(self.finding(facts.path, first.line, first.column, message, fix, SAVING), trials)


@dataclass(frozen=True, slots=True)
class _Grid:
    """A grid finding and what its cost quote needs: how many trainings the grid runs, and
    the file whose model it trains (None for a sweep config: the project's main model)."""

    finding: Finding
    trainings: int | None = None
    model_scope: str | None = None


def _graded(project: Project, finding: Finding) -> Finding:
    """A grid in code is worth what each of its trainings is: medium confidence (or the
    rule's own) where the file shows a long run by a fact or two agreeing signs, low where
    it does not (a grid over an iris classifier or a ten-epoch MNIST net repeats seconds).
    A sweep file is kept as it is: it exists to launch whole training runs."""
    facts = project.files.get(finding.path)
    if facts is None or facts.kind != "python" or finding.confidence is Confidence.LOW:
        return finding
    return long_run.graded(finding, long_run.evidence(project, facts, corroborated=True))


def _with_cost(grid: _Grid, run: TrainingRun | None) -> Finding:
    """``...= 36 runs; at ~1.3 kWh per training (Net, 840,000 samples), about 47 kWh in all``."""
    if run is None or grid.trainings is None:
        return grid.finding
    total = kwh(run.kwh * grid.trainings)
    message = f"{grid.finding.message}; at {run.describe()}, about {total} in all (greenlint estimate shows the assumptions)"
    return replace(grid.finding, message=message)


#: Keys under an RLlib or ``tune.run_experiments`` experiment that make it one (``alg`` in
#: old RLlib files): each such top-level name is an experiment with its own grid.
RAY_EXPERIMENT_KEYS = ("run", "run_or_experiment", "alg")


def _ray_experiments(facts: FileFacts) -> dict[str, list[str]]:
    """Grid axes per experiment: an experiment file's top-level names, or the whole file ("")."""
    keys = [e.key for e in facts.config]
    experiments = {k.split(".")[0] for k in keys if k.count(".") == 1 and k.split(".")[1] in RAY_EXPERIMENT_KEYS}
    grouped: dict[str, list[str]] = {}
    for axis in grid_search_axes(keys):
        top = axis.split(".")[0]
        grouped.setdefault(top if top in experiments and axis != top else "", []).append(axis)
    return grouped


def _ray_axis_entries(facts: FileFacts, axis: str) -> list[ConfigEntry]:
    marker = f"{axis}.grid_search"
    return [e for e in facts.config if e.key == marker or e.key.startswith(marker + ".")]


def _ray_axis_entry(facts: FileFacts, axis: str) -> ConfigEntry:
    return min(_ray_axis_entries(facts, axis), key=lambda e: (e.line, e.column))


def _ray_axis_size(facts: FileFacts, axis: str) -> int | None:
    """Values of one axis: a list of scalars, or a list of mappings (``grid_search.0.units``...)."""
    marker = f"{axis}.grid_search"
    indices: set[int] = set()
    for entry in _ray_axis_entries(facts, axis):
        if entry.key == marker:
            return len(entry.value) if isinstance(entry.value, list) else None
        index = entry.key[len(marker) + 1:].split(".")[0]
        if not index.isdigit():
            return None
        indices.add(int(index))
    return max(indices) + 1 if indices else None


def _ray_grid_message(sized: list[tuple[str, int]], samples: int | None) -> str:
    """``Ray Tune grid over lr, depth runs every combination: 3 x 2 = 6 combinations x 4 samples = 24 trials``."""
    names = ", ".join(axis.rpartition(".")[2] for axis, _ in sized)
    counts = [n for _, n in sized]
    combos = math.prod(counts)
    product = f"{' x '.join(map(str, counts))} = {combos}"
    if samples is not None and samples > 1:
        product += f" combinations x {samples} samples = {combos * samples}"
    return f"Ray Tune grid over {names} runs every combination: {product} trials"


def _ray_num_samples(facts: FileFacts, root: str) -> int | None:
    """``num_samples`` of the experiment (or of a search-space file's ``tune_config``)."""
    prefix = f"{root}." if root else ""
    wanted = {f"{prefix}num_samples", f"{prefix}tune_config.num_samples"}
    for entry in facts.config:
        if entry.key in wanted and isinstance(entry.value, int) and not isinstance(entry.value, bool):
            return entry.value
    return None


def _comma_values(value: object) -> int | None:
    """``0.1,0.01,0.001`` -> 3; ranges and choice() are counted only when literal."""
    if isinstance(value, list):
        return len(value)
    if isinstance(value, str) and "," in value and "(" not in value:
        return len([v for v in value.split(",") if v.strip()])
    return None


def _grid_kind(call: Call) -> str | None:
    name = call.name
    root = name.split(".")[0]
    last = call.method
    if last == "GridSearchCV" and root in ("sklearn", "GridSearchCV", "dask_ml", "cuml"):
        return "GridSearchCV"
    if last == "ParameterGrid" and root in ("sklearn", "ParameterGrid"):
        return "ParameterGrid"
    if last == "GridSampler" and root == "optuna":
        return "GridSampler"
    if last == "GridSearch" and root in ("keras_tuner", "kerastuner"):
        return "keras_tuner GridSearch"
    if name == "wandb.sweep":
        return "wandb.sweep"
    return None


#: numpy's evenly spaced value ranges whose length is their ``num`` argument (third, default 50).
NUMPY_SPACED = frozenset({"numpy.linspace", "numpy.logspace", "numpy.geomspace"})


def _list_length(value: Value | None) -> int | None:
    """Values of a literal axis: a list, ``range(...)``, ``np.arange(...)``, or
    ``np.linspace``/``logspace``/``geomspace`` with a literal ``num``."""
    if value is None:
        return None
    if value.kind == "list":
        return len(value.items)
    if value.kind != "call" or not all(a.value.kind == "literal" for a in value.args):
        return None
    literals = [a.value.literal for a in value.args if a.keyword is None]
    if value.text == "range" or value.text == "numpy.arange" and all(isinstance(v, int) for v in literals):
        try:
            return len(range(*literals))
        except (TypeError, ValueError):
            return None
    if value.text in NUMPY_SPACED:
        num = next((a.value.literal for a in value.args if a.keyword == "num"), literals[2] if len(literals) > 2 else 50)
        return num if isinstance(num, int) and not isinstance(num, bool) else None
    return None


def grid_size(grid: Value | None) -> int | None:
    """Combinations of a param grid: a dict of lists, or a list of such dicts (summed)."""
    if grid is None:
        return None
    if grid.kind == "dict":
        sizes = [_list_length(item) for item in grid.items]
        return math.prod(sizes) if sizes and all(s is not None for s in sizes) else None  # type: ignore[arg-type]
    if grid.kind == "list" and grid.items and all(i.kind == "dict" for i in grid.items):
        sizes = [grid_size(item) for item in grid.items]
        return sum(sizes) if all(s is not None for s in sizes) else None  # type: ignore[arg-type]
    return None


def grid_shape(grid: Value | None) -> str:
    """``4 x 3 = `` for a single dict grid of literal lists (empty when not that simple)."""
    if grid is None or grid.kind != "dict" or len(grid.items) < 2:
        return ""
    sizes = [_list_length(item) for item in grid.items]
    if not all(s is not None for s in sizes):
        return ""
    return " x ".join(map(str, sizes)) + " = "


def _sweep_size(parameters: Value | None) -> int | None:
    if parameters is None or parameters.kind != "dict":
        return None
    sizes = []
    for item in parameters.items:
        values = item.get("values") if item.kind == "dict" else None
        if values is not None:
            size = _list_length(values)
            if size is None:
                return None
            sizes.append(size)
    return math.prod(sizes) if sizes else None


def _cheap_fits(facts: FileFacts, call: Call, combos: int | None) -> bool:
    """Does a GridSearchCV fit only scikit-learn's own estimators, fewer than
    ``MANY_SKLEARN_FITS`` times (or an uncounted number of times)? A forest, an SVM or a
    pipeline of transformers fits on in-memory arrays in CPU-seconds: the whole grid
    costs minutes, far from the GPU-hours a grid of network trainings burns. An estimator
    the file defines itself counts as scikit-learn's when the file imports scikit-learn
    and no network or boosting library: there is nothing else for it to fit with."""
    folds = _folds(facts, call)
    if combos is not None and folds is not None and combos * folds >= MANY_SKLEARN_FITS:
        return False
    estimator = ml.literal_or_resolved(facts, call.argument("estimator", 0), call.scope, call.line)
    if estimator is None:
        return False
    if estimator.kind == "name":  # ``pipe = Pipeline([...])``: assignments keep only the callee
        estimator = ml.resolve_with_arguments(facts, estimator.text, call.scope, call.line) or estimator
    callees = [v.text for v in estimator.walk() if v.kind == "call"]
    for name in (v.text for v in estimator.walk() if v.kind == "name"):
        nested = ml.resolve_with_arguments(facts, name, call.scope, call.line)
        callees += [v.text for v in nested.walk() if v.kind == "call"] if nested is not None else []
    if any(c.split(".")[0] in NETWORK_LIBRARIES or c.rpartition(".")[2] in NETWORK_WRAPPERS for c in callees):
        return False
    if any(c.startswith("sklearn.") for c in callees):
        return True
    # an estimator of the file's own (a scikit-learn-style class, a function returning a
    # pipeline) in a file that imports no network or boosting library fits on the CPU
    return "sklearn" in facts.imported_roots and not facts.imported_roots & NETWORK_LIBRARIES


#: Splitters whose default is five folds (``LeaveOneOut()`` has as many as there are samples).
DEFAULT_FIVE_FOLDS = frozenset({"KFold", "StratifiedKFold", "GroupKFold", "StratifiedGroupKFold", "TimeSeriesSplit"})


def _folds(facts: FileFacts, call: Call) -> int | None:
    """Cross-validation folds of a GridSearchCV: literal cv, a KFold(n), or the default 5."""
    cv = call.keyword("cv")
    if cv is None:
        return None if call.has_unpacking else 5
    cv = ml.literal_or_resolved(facts, cv, call.scope, call.line)
    if cv is not None and cv.kind == "literal" and isinstance(cv.literal, int):
        return cv.literal
    if cv is not None and cv.kind == "call":
        splits = next((a.value for a in cv.args if a.keyword == "n_splits" or a.keyword is None), None)
        if splits is not None and splits.kind == "literal" and isinstance(splits.literal, int):
            return splits.literal
        if not cv.args and cv.text.rpartition(".")[2] in DEFAULT_FIVE_FOLDS:
            return 5
    return None
