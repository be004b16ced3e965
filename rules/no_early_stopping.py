"""GL204 no-early-stopping: a large fixed training budget that runs to the end regardless."""

from __future__ import annotations

import re
from collections.abc import Iterator

from greenlint.analyzer import long_run, ml, recorded_runtime, run_length
from greenlint.analyzer.facts import Call, FileFacts, Value
from greenlint.analyzer.project import Project
from greenlint.findings import Finding, Saving
from greenlint.rules.base import Rule

SAVING = Saving(
    text="training stops once the validation score has stopped improving, instead of running every remaining epoch or round",
    source="Prechelt, Early Stopping - But When?, Neural Networks: Tricks of the Trade, 1998, doi:10.1007/3-540-49430-8_3",
)
#: Budgets at or above these are "large" (library defaults in brackets).
KERAS_EPOCHS = 20  # Keras fit (1)
BOOSTING_ROUNDS = 500  # xgboost/lightgbm n_estimators (100), num_boost_round (10 / 100)
LIGHTNING_EPOCHS = 50
HF_EPOCHS = 10  # TrainingArguments num_train_epochs (3)
#: sklearn estimator -> (budget parameter, threshold, default, early-stopping parameter, value meaning "off").
SKLEARN = {
    "MLPClassifier": ("max_iter", 500, 200, "early_stopping", False),
    "MLPRegressor": ("max_iter", 500, 200, "early_stopping", False),
    "SGDClassifier": ("max_iter", 5000, 1000, "early_stopping", False),
    "SGDRegressor": ("max_iter", 5000, 1000, "early_stopping", False),
    "Perceptron": ("max_iter", 5000, 1000, "early_stopping", False),
    "PassiveAggressiveClassifier": ("max_iter", 5000, 1000, "early_stopping", False),
    "PassiveAggressiveRegressor": ("max_iter", 5000, 1000, "early_stopping", False),
    "GradientBoostingClassifier": ("n_estimators", 500, 100, "n_iter_no_change", None),
    "GradientBoostingRegressor": ("n_estimators", 500, 100, "n_iter_no_change", None),
}
#: HistGradientBoosting stops early by default on large data; only an explicit False is off.
HIST_GRADIENT_BOOSTING = frozenset({"HistGradientBoostingClassifier", "HistGradientBoostingRegressor"})
BOOSTERS = frozenset({"XGBClassifier", "XGBRegressor", "XGBRanker", "LGBMClassifier", "LGBMRegressor", "LGBMRanker"})
BOOSTING_ROOTS = ("xgboost", "lightgbm")
EARLY_STOPPING_WORDS = ("early_stopping", "EarlyStopping", "early_stop")
#: A hyperparameter search that prunes trials (optuna's ``KerasPruningCallback``,
#: ``trial.should_prune()``) already ends unpromising runs on their validation score.
PRUNING_WORDS = ("PruningCallback", "should_prune")
EARLY_STOPPING_KEYS = frozenset({"early_stopping_rounds", "early_stopping_round", "early_stopping", "n_iter_no_change",
                                 "early_stopping_patience"})
KERAS_ROOTS = frozenset({"tensorflow", "keras", "tf_keras"})
#: The calls that carry a training budget in some framework: a file without any is skipped.
TRAINING_CALLS = frozenset({"fit", "train", "cv", "Trainer", "TrainingArguments", "Seq2SeqTrainingArguments",
                            *BOOSTERS, *SKLEARN, *HIST_GRADIENT_BOOSTING})
#: Learning-rate schedules whose shape is fixed to the budget (milestones, a cosine or
#: linear decay to its end): stopping early would cut off their low-rate phase.
BUDGET_SCHEDULES = re.compile(
    r"MultiStepLR|CosineAnnealing|OneCycle|PolynomialLR|SequentialLR|cosine_schedule|linear_schedule_with_warmup|"
    r"polynomial_decay_schedule|CosineLRScheduler|CosineDecay|PiecewiseConstantDecay|Cosine\w*(Scheduler|Schedule|LR)",
)
#: Self-supervised pretraining and reinforcement learning run fixed budgets by design, and
#: an energy-based model's validation numbers (contrastive divergence against noise) say
#: nothing about when to stop.
FIXED_BY_DESIGN = re.compile(
    r"pretrain|simclr|byol|moco|barlow|simsiam|swav|vicreg|dino|self_supervised|contrastive|dqn|ppo|reinforce|"
    r"energy.?based|\bebm",
    re.I,
)
#: A file that reads one of these clocks twice or more is timing what it runs.
CLOCKS = frozenset({"time.time", "time.perf_counter", "time.monotonic", "time.process_time", "time.time_ns",
                    "time.perf_counter_ns", "timeit.default_timer"})
#: Boosting ``train`` calls watch a validation set through this argument (keyword, position).
BOOSTING_VALIDATION = {"xgboost": ("evals", 3), "lightgbm": ("valid_sets", 3)}


class NoEarlyStopping(Rule):
    """
    ## What it does
    Finds framework training with a large fixed budget and no early stopping:

    - Keras `fit(epochs=...)` with 20 or more epochs (or a number chosen at run time,
      unless a notebook's saved log shows it ran with fewer: `Epoch 1/2`) and no
      `EarlyStopping` callback;
    - xgboost and LightGBM with 500 or more boosting rounds (`n_estimators`,
      `num_boost_round`) and no `early_stopping_rounds` or early-stopping callback
      anywhere in the file;
    - scikit-learn estimators with a large iteration budget and early stopping off:
      `MLPClassifier`/`MLPRegressor` with `max_iter` of 500 or more, the SGD family
      (`SGDClassifier`, `Perceptron`, ...) with `max_iter` of 5000 or more, both without
      `early_stopping=True`; `GradientBoosting*` with 500 or more `n_estimators` and no
      `n_iter_no_change`; `HistGradientBoosting*` with 500 or more `max_iter` and
      `early_stopping=False`;
    - a Lightning `Trainer` with `max_epochs` of 50 or more and no `EarlyStopping`
      callback; also `trainer.max_epochs` in a Lightning CLI config whose
      `trainer.callbacks` list has no `class_path` ending in `EarlyStopping`;
    - Hugging Face `TrainingArguments` with `num_train_epochs` of 10 or more when no
      `EarlyStoppingCallback` is passed to a `Trainer` in the same file (or, for a
      training-arguments YAML or JSON file, anywhere in the project). This is reported
      at low confidence (hidden by default) unless the run shows its size: a notebook
      record of a long run, or two of these signs: 20 or more epochs, a large data set
      named, a large checkpoint fine-tuned (`wav2vec2-large`, a 7B model), in a config
      file named among its values (`model_name_or_path: google/flan-t5-xl`). Every
      pretrained transformer has tens of millions of parameters, so the model's size is
      no sign here, and ten epochs of a 9B checkpoint over a few hundred captioned
      images are a run of minutes. Lightning CLI configs are graded the same way.

    Budgets are read from literals, module constants and `argparse` defaults; a budget
    that cannot be read is not flagged, except for Keras epochs (a function parameter is
    left to its callers). Runs are flagged only when they have validation data to watch
    (`validation_data`/`validation_split`, a `validation_step`, an evaluation strategy,
    an `eval_set` for the estimator's `fit`, `evals`/`valid_sets` for `train`; `cv`
    always has held-out folds), since early stopping needs a score. Not flagged either:
    files that mention early stopping in any other form (a params dict with
    `early_stopping_rounds`, a custom callback that sets `stop_training`, a config key
    such as `early_stopping.patience`) or prune trials of a search on their validation
    score (optuna's `KerasPruningCallback`, `trial.should_prune()`); AutoKeras searches,
    which add early stopping to every trial themselves; Keras and Lightning
    runs whose learning-rate schedule is laid out over the whole budget (multi-step,
    cosine, one-cycle, warm-up-then-decay), where stopping early would cut off the
    low-rate phase; self-supervised pretraining, reinforcement learning and energy-based
    models, whose budgets are fixed by design or whose validation numbers do not say
    when to stop; notebook runs whose per-epoch curves the notebook reads back (the
    Keras `History` through the name it is assigned to, `history.history["val_loss"]`,
    or a Lightning logger's `metrics.csv`), which train past the best epoch on purpose
    to find it (the read is matched by name anywhere in the notebook, so one `history`
    name reused by every fit covers them all); and three or more training calls in one
    file with the same budget, which compare variants (model sizes, regularisers) on
    equal terms, or two when the file reads a clock, which compare speed (GPU against
    CPU) and need every run to do the same work.

    Notebooks whose saved outputs record the whole training as under 10 minutes are not
    reported, nor a training call whose own cell records its run as under 10 minutes:
    stopping early saves little of a run that short.

    ## Why it costs energy
    Validation loss usually stops improving well before a generous budget runs out; every
    epoch or boosting round after that point costs the same energy as the useful ones and
    often makes the model worse by overfitting. Early stopping ends the run when the
    monitored score has not improved for a few evaluations.

    ## Example
    ```python
    model.fit(x_train, y_train, validation_split=0.1, epochs=200)
    ```

    ## Use instead
    ```python
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)
    model.fit(x_train, y_train, validation_split=0.1, epochs=200, callbacks=[stop])
    ```
    For xgboost pass `early_stopping_rounds=50` with an `eval_set`; for LightGBM
    `callbacks=[lgb.early_stopping(50)]`; for scikit-learn `early_stopping=True` or
    `n_iter_no_change`; for Lightning `callbacks=[EarlyStopping("val_loss")]`; for
    Hugging Face `Trainer(callbacks=[EarlyStoppingCallback(3)])` with
    `load_best_model_at_end=True`.

    ## Evidence
    Prechelt, "Early Stopping - But When?" (Neural Networks: Tricks of the Trade, 1998):
    validation-based stopping criteria trade a small loss in generalisation for large
    savings in training time. Tactic T10 (use dynamic parameter adaptation: adapt the
    training budget to what the run shows) of Järvenpää et al., ICSE-SEIS 2024,
    doi:10.1145/3639475.3640111.
    """

    code = "GL204"
    name = "no-early-stopping"
    summary = "Large fixed training budget with no early stopping"
    tactics = ("T10",)

    def check(self, project: Project) -> Iterator[Finding]:
        project_hf_stopping = False
        project_lightning_stopping = False
        project_validates = False
        for facts in project.python_files():
            project_hf_stopping |= any(n.endswith("EarlyStoppingCallback") for n in facts.names)
            project_lightning_stopping |= any(n.endswith("EarlyStopping") for n in facts.names)
            project_validates |= any(f.name == "validation_step" for f in facts.functions)
            if not any(c.method in TRAINING_CALLS for c in facts.calls):
                continue
            if _mentions_early_stopping(facts) or _fixed_by_design(facts):
                continue
            if recorded_runtime.recorded_under(facts, recorded_runtime.SHORT_RUN_MINUTES):
                continue  # the notebook shows the whole training took minutes
            compared = _compared_budgets(facts)
            for call in facts.calls:
                if call.has_unpacking or (compared and (call.method, _budget_literal(facts, call)) in compared):
                    continue
                finding = self._graded_fit(project, facts, call, (
                    self._keras(project, facts, call)
                    or self._boosting(facts, call)
                    or self._sklearn(facts, call)
                    or self._lightning(project, facts, call)
                )) or self._graded_fine_tune(project, facts, call, self._hugging_face(facts, call))
                if finding is not None and not self._few_examples(project, facts, call) and not _cell_short(facts, call):
                    yield finding
        for facts in project.config_files():
            yield from self._config(facts, project_hf_stopping, project_lightning_stopping or not project_validates)

    def _few_examples(self, project: Project, facts: FileFacts, call: Call) -> bool:
        """A deep-learning fit whose whole budget passes over few examples (a sliced split,
        Cora, Reuters): it ends in minutes, early stopping or not."""
        return long_run.few_examples(project, facts, run_length.framework_epochs(facts, call))

    # -- per framework ------------------------------------------------------------------

    def _keras(self, project: Project, facts: FileFacts, call: Call) -> Finding | None:
        if call.method != "fit" or not call.receiver or not facts.imported_roots & KERAS_ROOTS:
            return None
        epochs = call.keyword("epochs")
        if epochs is None:
            return None
        if call.keyword("validation_data") is None and call.keyword("validation_split") is None:
            return None  # nothing to monitor: early stopping needs a validation score
        if _autokeras(facts, call):
            return None  # AutoKeras stops its trials early itself, then refits the best model on all data
        literal = ml.resolved_literal(facts, epochs, call.scope, call.line)
        if literal is not None and (not isinstance(literal.literal, int) or literal.literal < KERAS_EPOCHS):
            return None
        if literal is None and epochs.kind == "name" and epochs.text in run_length.params_of(facts, call.scope):
            return None  # the caller chooses the budget
        recorded = recorded_runtime.recorded_epochs_for_line(facts, call.line)
        if literal is None and recorded is not None and recorded < KERAS_EPOCHS:
            return None  # the notebook's log shows the budget it ran with: Epoch 1/2
        if not self._callbacks_lack(facts, call, "EarlyStopping") or _budget_schedule(project, facts):
            return None
        if _curves_read_back(facts, call):
            return None
        count = _budget(literal, epochs)
        message = f"Keras fit() trains for {count} epochs with no EarlyStopping callback: every epoch runs even after validation loss stops improving"
        fix = 'add keras.callbacks.EarlyStopping(monitor="val_loss", patience=..., restore_best_weights=True) to callbacks'
        return self.finding(facts.path, call.line, call.column, message, fix, SAVING)

    def _boosting(self, facts: FileFacts, call: Call) -> Finding | None:
        root = call.name.split(".")[0]
        if root not in BOOSTING_ROOTS:
            return None
        if call.method in BOOSTERS:
            budget, parameter = call.keyword("n_estimators"), "n_estimators"
        elif call.method in ("train", "cv") and call.receiver in BOOSTING_ROOTS:
            budget, parameter = call.argument("num_boost_round", 2), "num_boost_round"
        else:
            return None
        literal = ml.resolved_literal(facts, budget, call.scope, call.line)
        if literal is None or not isinstance(literal.literal, int) or literal.literal < BOOSTING_ROUNDS:
            return None
        if call.keyword("callbacks") is not None or call.keyword("early_stopping_rounds") is not None:
            return None
        if not _boosting_validates(facts, call, root):
            return None  # nothing to monitor: early stopping needs a validation score
        library = "xgboost" if root == "xgboost" else "LightGBM"
        message = f"{library} {call.method}({parameter}={literal.literal}) builds every round with no early stopping on a validation set"
        fix = (
            "pass early_stopping_rounds=50 with an eval_set (xgboost)"
            if root == "xgboost"
            else "pass callbacks=[lightgbm.early_stopping(50)] with a valid set"
        )
        return self.finding(facts.path, call.line, call.column, message, fix, SAVING)

    def _sklearn(self, facts: FileFacts, call: Call) -> Finding | None:
        if not call.name.startswith("sklearn."):
            return None
        if call.method in HIST_GRADIENT_BOOSTING:
            stopping = call.keyword("early_stopping")
            if stopping is None or stopping.literal is not False:
                return None
            budget = ml.resolved_literal(facts, call.keyword("max_iter"), call.scope, call.line)
            if budget is None or not isinstance(budget.literal, int) or budget.literal < BOOSTING_ROUNDS:
                return None
            message = f"{call.method}(max_iter={budget.literal}, early_stopping=False) fits every iteration with no validation check"
            return self.finding(facts.path, call.line, call.column, message, 'leave early_stopping="auto" or set it to True', SAVING)
        if call.method not in SKLEARN:
            return None
        parameter, threshold, _, switch, off = SKLEARN[call.method]
        budget = ml.resolved_literal(facts, call.keyword(parameter), call.scope, call.line)
        if budget is None or not isinstance(budget.literal, int) or budget.literal < threshold:
            return None
        stopping = call.keyword(switch)
        if stopping is not None and not (stopping.kind == "literal" and stopping.literal == off):
            return None
        if switch == "early_stopping":
            message = (
                f"{call.method}({parameter}={budget.literal}) with early_stopping off: it stops only when the training loss "
                "stalls, never on a held-out score"
            )
            fix = "pass early_stopping=True (validation_fraction and n_iter_no_change set the hold-out and patience)"
        else:
            message = f"{call.method}({parameter}={budget.literal}) fits every stage: n_iter_no_change is not set, so there is no early stopping"
            fix = "pass n_iter_no_change=10 (with validation_fraction) to stop adding stages when the held-out score stops improving"
        return self.finding(facts.path, call.line, call.column, message, fix, SAVING)

    def _lightning(self, project: Project, facts: FileFacts, call: Call) -> Finding | None:
        if call.method != "Trainer" or call.name.split(".")[0] not in ("lightning", "pytorch_lightning"):
            return None
        literal = ml.resolved_literal(facts, call.keyword("max_epochs"), call.scope, call.line)
        if literal is None or not isinstance(literal.literal, int) or literal.literal < LIGHTNING_EPOCHS:
            return None
        if not self._callbacks_lack(facts, call, "EarlyStopping") or _budget_schedule(project, facts):
            return None
        if not any(f.name == "validation_step" for related in _related(project, facts) for f in related.functions):
            return None  # nothing to monitor: early stopping needs a validation score
        if _curves_read_back(facts, call):
            return None
        message = f"Lightning Trainer(max_epochs={literal.literal}) has no EarlyStopping callback: all {literal.literal} epochs run"
        fix = 'add lightning.pytorch.callbacks.EarlyStopping(monitor="val_loss", patience=...) to callbacks'
        return self.finding(facts.path, call.line, call.column, message, fix, SAVING)

    def _graded_fit(self, project: Project, facts: FileFacts, call: Call, finding: Finding | None) -> Finding | None:
        """A fit's budget at the rule's confidence only where a fact (a recorded duration)
        or two agreeing signs show a long run: its own epoch count with a large data set
        or model, or two of those. A Keras fit of 50 epochs over Fashion-MNIST, or
        ``config.epochs`` of a demo notebook, ends in minutes: low confidence."""
        if finding is None:
            return None
        budget = run_length.framework_epochs(facts, call)
        return long_run.graded(finding, long_run.evidence(project, facts, budget=budget, line=call.line,
                                                          corroborated=True))

    def _graded_fine_tune(self, project: Project, facts: FileFacts, call: Call, finding: Finding | None) -> Finding | None:
        """A Trainer's epochs at the rule's confidence only where the run shows its size:
        a notebook record of a long run, or two of these: 20 or more epochs, a large data
        set, a large checkpoint. Every pretrained transformer has tens of millions of
        parameters, so the model's size says nothing here; ten epochs of a 9B checkpoint
        over 800 captioned images are a run of minutes: low confidence."""
        if finding is None:
            return None
        budget = run_length.framework_epochs(facts, call)
        return long_run.graded(finding, long_run.evidence(project, facts, budget=budget, line=call.line,
                                                          by_model=False, corroborated=True))

    def _hugging_face(self, facts: FileFacts, call: Call) -> Finding | None:
        if call.method not in ("TrainingArguments", "Seq2SeqTrainingArguments") or call.name.split(".")[0] != "transformers":
            return None
        literal = ml.resolved_literal(facts, call.keyword("num_train_epochs"), call.scope, call.line)
        if literal is None or not isinstance(literal.literal, (int, float)) or literal.literal < HF_EPOCHS:
            return None
        max_steps = call.keyword("max_steps")
        if max_steps is not None and not (max_steps.kind == "literal" and max_steps.literal in (-1, 0)):
            return None  # max_steps overrides the epoch count
        if any(name.endswith("EarlyStoppingCallback") for name in facts.names):
            return None
        evaluation = call.keyword("eval_strategy") or call.keyword("evaluation_strategy")
        if evaluation is None or (evaluation.kind == "literal" and evaluation.literal in ("no", None)):
            return None  # no evaluation: early stopping has nothing to monitor
        message = f"{call.method}(num_train_epochs={literal.literal:g}) and no EarlyStoppingCallback is given to the Trainer: every epoch runs"
        fix = "pass callbacks=[EarlyStoppingCallback(early_stopping_patience=3)] to the Trainer, with load_best_model_at_end=True and an eval strategy"
        return self.finding(facts.path, call.line, call.column, message, fix, SAVING)

    def _config(self, facts: FileFacts, hf_stopping: bool, lightning_silent: bool) -> Iterator[Finding]:
        if _config_stops_early(facts):
            return
        evaluates = any(e.key in ("eval_strategy", "evaluation_strategy") and e.value not in ("no", None, False) for e in facts.config)
        for entry in facts.config:
            value = entry.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if facts.config_kind == "lightning" and entry.key == "trainer.max_epochs" and value >= LIGHTNING_EPOCHS and not lightning_silent:
                message = f"trainer.max_epochs: {value} with no EarlyStopping callback: all {value} epochs run"
                fix = "add an EarlyStopping callback under trainer.callbacks (class_path: lightning.pytorch.callbacks.EarlyStopping)"
                yield _graded_config(facts, value, self.finding(facts.path, entry.line, entry.column, message, fix, SAVING))
            elif facts.config_kind == "hf-training-args" and entry.key == "num_train_epochs" and value >= HF_EPOCHS and evaluates and not hf_stopping:
                message = f"num_train_epochs: {value:g} and the project passes no EarlyStoppingCallback to its Trainer: every epoch runs"
                fix = "pass callbacks=[EarlyStoppingCallback(early_stopping_patience=3)] to the Trainer, with load_best_model_at_end: true"
                yield _graded_config(facts, value, self.finding(facts.path, entry.line, entry.column, message, fix, SAVING))

    # -- callbacks ------------------------------------------------------------------------

    def _callbacks_lack(self, facts: FileFacts, call: Call, callback: str) -> bool:
        """True when the call's callbacks are known and none of them is ``callback``."""
        given = call.keyword("callbacks")
        if given is None:
            return True
        value = ml.literal_or_resolved(facts, given, call.scope, call.line)
        if value is None or value.kind != "list":
            return False  # built elsewhere: cannot tell
        for item in value.items:
            if item.kind == "name":
                item = ml.resolve_name(facts, item.text, call.scope, call.line) or item
            if item.kind != "call":
                return False
            if item.text.endswith(callback):
                return False
        return True


def _graded_config(facts: FileFacts, epochs: float, finding: Finding) -> Finding:
    """A config's budget at the rule's confidence where two signs agree: 20 or more epochs,
    a large data set or a large checkpoint named in the config. Fifty epochs of a dummy
    config's 96 clips, or forty of a small model's pretraining, are one sign: low."""
    signs = ([f"{epochs:g} epochs"] if epochs >= long_run.LONG_EPOCHS else []) + long_run.config_signs(facts)
    return long_run.graded(finding, ", ".join(signs) if len(signs) >= 2 else None)


def _autokeras(facts: FileFacts, call: Call) -> bool:
    """Is the fitted model an AutoKeras one (``ak.ImageRegressor(...)``)? AutoKeras adds an
    EarlyStopping callback to every trial of its search itself, then refits the best
    model on all the data for the epochs the best trial needed."""
    return any(a.target == call.receiver and a.value.kind == "call" and a.value.text.startswith("autokeras.")
               for a in facts.assignments)


def _config_stops_early(facts: FileFacts) -> bool:
    """Early stopping configured in the file itself, by a key or a value that names it.

    A Lightning CLI ``trainer.callbacks`` entry with ``class_path:
    lightning.pytorch.callbacks.EarlyStopping`` (or a list of class names), a callback
    added to the CLI as its own argument group (``early_stopping.patience``), a
    script's ``early_stopping_patience``.
    """
    for entry in facts.config:
        values = entry.value if isinstance(entry.value, list) else [entry.value]
        texts = (entry.key, *(v for v in values if isinstance(v, str)))
        if any(word in text for text in texts for word in EARLY_STOPPING_WORDS):
            return True
    return False


def _mentions_early_stopping(facts: FileFacts) -> bool:
    """Any sign of early stopping in the file: a callback, a params key, ``stop_training``, a pruner."""
    if any(word in name for name in facts.names for word in EARLY_STOPPING_WORDS + PRUNING_WORDS):
        return True
    if facts.strings & EARLY_STOPPING_KEYS:
        return True
    if any(a.target.endswith(".stop_training") for a in facts.assignments):
        return True
    for call in facts.calls:
        for arg in call.args:
            if arg.keyword in EARLY_STOPPING_KEYS and not (arg.value.kind == "literal" and arg.value.literal in (None, False)):
                return True
    return False


#: Where each kind of training call takes its budget.
BUDGET_KEYWORDS = ("epochs", "max_epochs", "n_estimators", "max_iter", "num_boost_round", "num_train_epochs")
#: This many training calls with one budget in a file are variants compared on equal terms;
#: when the file reads a clock, two are enough: it compares their speed (GPU against CPU).
COMPARED_RUNS = 3
TIMED_RUNS = 2


def _budget_literal(facts: FileFacts, call: Call) -> object:
    for keyword in BUDGET_KEYWORDS:
        value = call.keyword(keyword)
        if value is not None:
            literal = ml.resolved_literal(facts, value, call.scope, call.line)
            return literal.literal if literal is not None else None
    return None


def _compared_budgets(facts: FileFacts) -> set[tuple[str, object]]:
    """(method, budget) shared by several training calls: a controlled comparison of variants.

    Early stopping would end each variant at a different point, so neither their scores
    nor their timings would compare any more.
    """
    counts: dict[tuple[str, object], int] = {}
    for call in facts.calls:
        budget = _budget_literal(facts, call)
        if budget is not None:
            counts[(call.method, budget)] = counts.get((call.method, budget), 0) + 1
    enough = TIMED_RUNS if sum(c.name in CLOCKS for c in facts.calls) >= 2 else COMPARED_RUNS
    return {key for key, count in counts.items() if count >= enough}


def _curves_read_back(facts: FileFacts, call: Call) -> bool:
    """A notebook run whose per-epoch curves are read back afterwards.

    Exploratory notebooks train past the best epoch on purpose: the plotted curves show
    where overfitting starts, and that picks the epoch count of the final run. Keras:
    ``history = model.fit(...)`` then ``history.history["val_loss"]``; Lightning:
    ``trainer = Trainer(...)`` then ``pd.read_csv(f"{trainer.logger.log_dir}/metrics.csv")``.
    Facts do not place attribute reads, so the read may be anywhere in the notebook.
    """
    if not facts.cells or call.target is None:
        return False
    if call.method == "fit":
        return f"{call.target}.history" in facts.names
    return f"{call.target}.logger.log_dir" in facts.names and any(c.method == "read_csv" for c in facts.calls)


def _boosting_validates(facts: FileFacts, call: Call, root: str) -> bool:
    """Does the boosting run have a validation set whose score early stopping could watch?"""
    if call.method == "cv":
        return True  # every fold scores its held-out part
    if call.method == "train":
        keyword, index = BOOSTING_VALIDATION[root]
        return call.argument(keyword, index) is not None
    return any(c.keyword("eval_set") is not None for c in facts.calls)  # given to the estimator's fit


def _fixed_by_design(facts: FileFacts) -> bool:
    if FIXED_BY_DESIGN.search(facts.path):
        return True
    return any(FIXED_BY_DESIGN.search(c.name) for c in facts.classes) or any(FIXED_BY_DESIGN.search(f.name) for f in facts.functions)


def _related(project: Project, facts: FileFacts) -> list[FileFacts]:
    """The file and the project modules it imports (where its model and schedule live)."""
    return [facts, *project.imported_files(facts)]


def _budget_schedule(project: Project, facts: FileFacts) -> bool:
    for related in _related(project, facts):
        if any(BUDGET_SCHEDULES.search(name) for name in related.names) or any(BUDGET_SCHEDULES.search(c.name) for c in related.classes):
            return True
    return False


def _budget(literal: Value | None, given: Value) -> str:
    if literal is not None:
        return str(literal.literal)
    return given.text or "a run-time number of"


def _cell_short(facts: FileFacts, call: Call) -> bool:
    """Does the notebook cell of this training call record its run as under 10 minutes
    (20 epochs of 11 s each)? The rest of the notebook may train longer."""
    minutes = recorded_runtime.recorded_for_line(facts, call.line)
    return minutes is not None and minutes < recorded_runtime.SHORT_RUN_MINUTES
