"""GL101 float64-compute: a model trained or run in double precision."""

from __future__ import annotations

import re
from collections.abc import Iterator

from greenlint.analyzer import ml
from greenlint.analyzer.facts import Call, FileFacts, Value
from greenlint.analyzer.project import Project
from greenlint.findings import Finding, Saving
from greenlint.rules.base import Rule

SAVING = Saving(
    text="float32 halves memory traffic against float64 and runs 2x (data-centre GPUs, CPU SIMD) "
    "to 32-64x (consumer GPUs) more arithmetic per second",
    source="NVIDIA CUDA C++ Programming Guide, 'Arithmetic Instructions' throughput table; NVIDIA A100/H100 datasheets",
)
FLOAT64 = frozenset({"torch.float64", "torch.double", "torch.DoubleTensor", "torch.cuda.DoubleTensor", "numpy.float64"})
FLOAT64_STRINGS = frozenset({"float64", "double", "torch.DoubleTensor", "torch.cuda.DoubleTensor"})
#: Numerical work that needs float64 on purpose: gradient checks, Gaussian processes,
#: Bayesian optimisation, probabilistic programming (MCMC, exact enumeration), ODE and SDE
#: solvers, and covariance matrices factorised by hand.
NUMERICS = ("torch.autograd.gradcheck", "torch.autograd.gradgradcheck", *ml.PRECISION_SENSITIVE_LIBRARIES,
            "torch.func.jacrev", "torch.autograd.functional", "torch.linalg.cholesky", "torch.cholesky",
            "torch.optim.LBFGS")
DATASETS = ("torch.utils.data.TensorDataset", "TensorDataset")
#: Code that implements a float64 option rather than choosing it: a branch taken when the
#: user asks for it (``if args.double:``), a function or class named for the precision mode.
PRECISION_OPTION = re.compile(r"double|float64|fp64|precision|dtype|\b64\b", re.IGNORECASE)
MODEL_FIX = "keep the model in float32 (the default) and lower it further with autocast/bfloat16 where accuracy allows"
TENSOR_FIX = "create model inputs as float32 (torch.float32, .float()); keep float64 for metrics and numerics only"


class Float64Compute(Rule):
    """
    ## What it does
    Finds models computed in float64: `torch.set_default_dtype(torch.float64)` (or
    `set_default_tensor_type` with a double tensor type, Keras `set_floatx("float64")` or
    a global `"float64"` dtype policy) in code that builds or trains a model; a model
    converted with `model.double()` or `model.to(torch.float64)`; layers built with
    `dtype=torch.float64`; `from_pretrained(..., torch_dtype=torch.float64)`; a Lightning
    `Trainer(precision=64)` or `Fabric(precision="64-true")`; and tensors created as
    float64 (`dtype=torch.float64`, `.double()`, `.to(torch.double)`) that are passed into
    a model call or into a
    `TensorDataset` of a training script. Float64 used for metrics (`correct.double() /
    total`), schedules or other numerics that never enter a model is not flagged, nor are
    outputs cast to float64 for a parameter-free module or a loss (`criterion(pred.double(),
    y)` with `criterion = nn.BCEWithLogitsLoss()`): a batch of scores, no matrix product. Nor is
    a file doing scientific numerics where double precision is the point and its author
    chose it on purpose: gradient checks and Jacobians, Gaussian processes (GPyTorch,
    BoTorch, Pyro's `contrib.gp`, or a covariance factorised with `torch.linalg.cholesky`,
    which float32 round-off makes indefinite), probabilistic programs in Pyro (HMC and
    NUTS need accurate log-densities and energy conservation, exact enumeration sums many
    tiny probabilities), ODE or SDE solvers (torchdiffeq, torchsde) with tight
    tolerances, differentiable optimisation layers (Theseus, qpth, cvxpylayers), whose
    nonlinear least-squares and convex solves factorise ill-conditioned systems, and L-BFGS fits (`torch.optim.LBFGS` estimates curvature from differences
    of gradients, which float32 round-off swamps). Such a file is skipped whole, so a neural network trained in float64
    beside such numerics goes unreported: the rule errs towards trusting the author.
    Code that implements a float64 option instead of choosing it is not flagged either: a
    cast under a flag the user sets (`if args.double:`, `if precision == "64":`) or in a
    function or class named for the mode (a precision plugin's `convert_module`); the
    choice, when written as a literal (`Trainer(precision=64)`), is what gets reported.
    When the model itself is float64 the tensors fed to it are not reported again.

    ## Why it costs energy
    Deep-learning accelerators are built for 32-bit and lower precision. Consumer GPUs run
    float64 arithmetic 32 to 64 times slower than float32, data-centre GPUs about 2 times
    slower and without tensor cores, and CPUs fit half as many values into each vector
    instruction. Every value also takes twice the memory and bandwidth. Neural networks
    gain nothing from the extra digits: their weights and inputs are noisy far beyond
    float32's precision.

    ## Example
    ```python
    X = torch.tensor(features, dtype=torch.float64)
    model = Regressor().double()
    loss = F.mse_loss(model(X), y)
    ```

    ## Use instead
    ```python
    X = torch.tensor(features, dtype=torch.float32)
    model = Regressor()
    loss = F.mse_loss(model(X), y)
    ```
    NumPy arrays are float64 by default: convert them with `torch.from_numpy(a).float()`.

    ## Evidence
    NVIDIA CUDA C++ Programming Guide, arithmetic instruction throughput per compute
    capability; NVIDIA A100 and H100 datasheets (FP64 against FP32 and tensor-core rates).
    Tactic T4 (use input quantization: represent inputs with no more precision than the
    task needs) of Järvenpää et al., ICSE-SEIS 2024, doi:10.1145/3639475.3640111.
    """

    code = "GL101"
    name = "float64-compute"
    summary = "Model trained or run in float64 (double) precision"
    tactics = ("T4",)

    def check(self, project: Project) -> Iterator[Finding]:
        modules = ml.module_classes(project)
        for facts in project.python_files():
            if not facts.imported_roots & {"torch", "tensorflow", "keras", "lightning", "pytorch_lightning", "transformers"}:
                continue
            if any(name.startswith(NUMERICS) for name in facts.names):
                continue
            whole = list(self._model_casts(facts, modules))
            yield from whole
            if not whole:
                yield from self._tensors(facts, modules)

    # -- the model or the default dtype in float64 ---------------------------------------

    def _model_casts(self, facts: FileFacts, modules: frozenset[str]) -> Iterator[Finding]:
        for call in facts.calls:
            for finding in self._model_cast(facts, call, modules):
                if not _implements_option(call):
                    yield finding

    def _model_cast(self, facts: FileFacts, call: Call, modules: frozenset[str]) -> Iterator[Finding]:
        """The finding a call that puts the model in float64 gets, if it is one."""
        if call.name in ("torch.set_default_dtype", "torch.set_default_tensor_type") or _keras_global_dtype(call):
            if _is_float64(call.positional(0)) and _has_model(facts, modules):
                message = f"{call.name}(...) makes every new tensor and parameter float64, so the model computes in double precision"
                yield self.finding(facts.path, call.line, call.column, message, MODEL_FIX, SAVING)
        elif call.method in ("double", "to", "type") and call.receiver:
            if call.method != "double" and not any(_is_float64(a.value) for a in call.args if a.keyword in (None, "dtype")):
                return
            if call.method == "double" and call.args:
                return
            model = _model_receiver(facts, call, modules)
            if model is not None:
                message = f"{model}.{call.method}({'' if call.method == 'double' else 'float64'}) converts the model to float64: every forward and backward pass runs in double precision"
                yield self.finding(facts.path, call.line, call.column, message, MODEL_FIX, SAVING)
        elif call.name.startswith("torch.nn.") and ml.builds_model(call.name, modules) and _is_float64(call.keyword("dtype")):
            message = f"{call.name}(..., dtype=float64) creates double-precision parameters: this layer computes in float64"
            yield self.finding(facts.path, call.line, call.column, message, MODEL_FIX, SAVING)
        elif call.method == "from_pretrained" and _is_float64(call.keyword("torch_dtype") or call.keyword("dtype")):
            message = "the pretrained model is loaded in float64: every forward pass runs in double precision"
            yield self.finding(facts.path, call.line, call.column, message, MODEL_FIX, SAVING)
        elif call.method in ("Trainer", "Fabric") and call.name.split(".")[0] in ("lightning", "pytorch_lightning", "lightning_fabric"):
            precision = call.keyword("precision")
            if precision is not None and precision.kind == "literal" and str(precision.literal) in ("64", "64-true", "double"):
                message = f"Lightning {call.method}(precision={precision.literal!r}) trains the model in float64"
                yield self.finding(facts.path, call.line, call.column, message, 'use precision="bf16-mixed" or "16-mixed" (or 32)', SAVING)

    # -- float64 tensors fed to a model --------------------------------------------------

    def _tensors(self, facts: FileFacts, modules: frozenset[str]) -> Iterator[Finding]:
        holders = ml.model_holders(facts, modules)
        forwards = [c for c in facts.calls if ml.is_model_call(facts, c, modules, holders)]
        datasets = [c for c in facts.calls if c.name.endswith(DATASETS)] if ml.step_loops(facts) else []
        if not forwards and not datasets:
            return
        reported: set[str] = set()
        for call in facts.calls:
            if call.scope in reported or not _creates_float64(facts, call, modules) or _implements_option(call):
                continue
            consumer = self._consumer(facts, call, forwards + datasets)
            if consumer is None:
                continue
            reported.add(call.scope)
            shown = call.shown
            into = "a TensorDataset for training" if consumer.name.endswith(DATASETS) else f"{consumer.name}(...)"
            where = "" if consumer.line == call.line else f" at line {consumer.line}"
            message = f"{shown}({'...' if call.args else ''}) makes a float64 tensor that is fed to {into}{where}: the model computes on it in double precision"
            yield self.finding(facts.path, call.line, call.column, message, TENSOR_FIX, SAVING)

    def _consumer(self, facts: FileFacts, call: Call, consumers: list[Call]) -> Call | None:
        """The model call or dataset the float64 value flows into, if any (same scope).
        A parameter-free elementwise module (``self.sig = nn.Sigmoid()``) is not the model:
        an output squashed in float64 before a log-likelihood is numerics on the output."""
        names = _derived_names(facts, call)
        for consumer in consumers:
            if consumer.scope != call.scope or consumer.line < call.line or _elementwise_module(facts, consumer):
                continue
            if consumer.statement == call.statement:
                if (consumer.line, consumer.column) < (call.line, call.column):
                    return consumer  # model(x.double()): the cast sits inside the call's arguments
                continue  # out = self.linear(out).double(): this statement reads the old ``out``
            for arg in consumer.args:
                for value in arg.value.walk():
                    if value.kind == "name" and value.text in names:
                        return consumer
                    if value.kind == "call" and value.text.partition(".")[0] in names and "." in value.text:
                        return consumer
        return None


#: Modules without parameters that act on each value alone: no matrix product runs in float64.
ELEMENTWISE_MODULES = frozenset(f"torch.nn.{name}" for name in (
    "Sigmoid", "Tanh", "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Softplus",
    "Softsign", "Hardtanh", "Hardsigmoid", "Hardswish", "LogSigmoid", "Softmax", "LogSoftmax", "Dropout",
    "Identity", "Flatten"))


def _elementwise_module(facts: FileFacts, consumer: Call) -> bool:
    """Is the consumer a name the file binds only to a parameter-free elementwise module,
    or to a loss (``criterion = nn.BCEWithLogitsLoss()``)? A loss over the outputs cast to
    float64 (``criterion(pred.double(), y)``) is numerics on a batch of scores, not the
    model computing in double precision."""
    bound = [a.value for a in facts.assignments if a.target == consumer.name]
    return bool(bound) and all(v.kind == "call" and (v.text in ELEMENTWISE_MODULES or _loss_module(v.text))
                               for v in bound)


def _loss_module(name: str) -> bool:
    return name.startswith("torch.nn.") and name.endswith("Loss")


def _implements_option(call: Call) -> bool:
    """Is the cast the implementation of a precision the user picks elsewhere? It runs only
    when a flag asks for it (``if args.double: model.double()``), or in a function or class
    named for the mode (a precision plugin's ``DoublePrecision.convert_module``)."""
    return PRECISION_OPTION.search(call.scope) is not None or any(PRECISION_OPTION.search(c) for c in call.conditions)


def _keras_global_dtype(call: Call) -> bool:
    """Keras' global float type: ``backend.set_floatx`` (Keras 2), ``keras.config.set_floatx``
    (Keras 3), or a dtype policy set globally (``set_global_policy``, ``set_dtype_policy``)."""
    if call.name.split(".")[0] not in ("keras", "tensorflow", "tf_keras"):
        return False
    return call.method in ("set_floatx", "set_global_policy", "set_dtype_policy")


def _is_float64(value: Value | None) -> bool:
    if value is None:
        return False
    if value.kind in ("attribute", "name"):
        return value.text in FLOAT64
    return value.kind == "literal" and isinstance(value.literal, str) and value.literal in FLOAT64_STRINGS


def _model_receiver(facts: FileFacts, call: Call, modules: frozenset[str]) -> str | None:
    """The model a method is called on: ``model.double()``, or ``Net(...).double()`` in one chain."""
    if not call.receiver.startswith("?"):
        return call.receiver if ml.holds_model(facts, call.receiver, modules) else None
    for inner in facts.calls:  # the chain's first call starts where the whole chain does
        if inner is not call and (inner.line, inner.column, inner.statement) == (call.line, call.column, call.statement):
            if ml.builds_model(inner.name, modules):
                return f"{inner.name}(...)"
    return None


def _creates_float64(facts: FileFacts, call: Call, modules: frozenset[str]) -> bool:
    """``x.double()``, ``t.to(torch.float64)``, ``torch.zeros(..., dtype=torch.double)`` on data."""
    if call.method == "double" and not call.args:
        return bool(call.receiver) and _model_receiver(facts, call, modules) is None
    if call.method in ("to", "type") and call.receiver:
        if not any(_is_float64(a.value) for a in call.args if a.keyword in (None, "dtype")):
            return False
        return _model_receiver(facts, call, modules) is None
    if call.name in ("torch.DoubleTensor", "torch.cuda.DoubleTensor"):
        return True
    return call.name.startswith("torch.") and _is_float64(call.keyword("dtype"))


def _derived_names(facts: FileFacts, call: Call) -> set[str]:
    """The name a call's result is bound to, and names bound from it by one more call."""
    if call.target is None:
        return set()
    names = {call.target}
    for op in facts.operations:  # batch = x[start:start + size]
        if op.op == "[]" and op.scope == call.scope and op.left == call.target and op.target and not op.store:
            names.add(op.target)
    for assignment in facts.assignments:
        value = assignment.value
        if assignment.scope == call.scope and assignment.line > call.line and value.kind == "call":
            if value.text.partition(".")[0] == call.target and "." in value.text:
                names.add(assignment.target)  # x = x_double.to(device)
    return names


def _has_model(facts: FileFacts, modules: frozenset[str]) -> bool:
    """Does this file build, train or run a model (not only compute numerics)?"""
    if ml.step_loops(facts) or any(c.method == "fit" and c.receiver for c in facts.calls):
        return True
    if any(cls.name in modules for cls in facts.classes):
        return True
    holders = ml.model_holders(facts, modules)
    return any(ml.builds_model(c.name, modules) or ml.is_model_call(facts, c, modules, holders) for c in facts.calls if c.name)
