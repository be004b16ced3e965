"""The static estimate of every model a project defines or builds from a library.

For each ``nn.Module`` class that is not a part of another (a root), the estimator
finds where the project constructs it, evaluates that call's arguments (argparse
defaults, module constants, config dataclasses), builds the model abstractly to count
its parameters, picks an input shape (see ``inputs``) and runs ``forward`` on it to count
MACs in fvcore's convention. Library architectures (torchvision, timm, Hugging Face) come
from ``architectures``. Nothing is imported or executed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from greenlint.analyzer.cost import architectures
from greenlint.analyzer.cost.conventions import TARGET_PARAMS
from greenlint.analyzer.cost.conventions import input_count as paired_inputs
from greenlint.analyzer.cost.inputs import InputShape, datasets, example_inputs, sequence_first, sequence_length
from greenlint.analyzer.cost.interpreter import Interpreter, Scope, param_count, submodules
from greenlint.analyzer.cost.scopes import ProjectIndex, call_node, project_index
from greenlint.analyzer.cost.training import TrainingPlan, plan
from greenlint.analyzer.cost.values import ClassRef, ConfigObject, EvalError, Instance, Layer, Tally, Tensor, Unknown
from greenlint.analyzer.facts import Call, FileFacts
from greenlint.analyzer.model_facts import ModelClass, Node
from greenlint.analyzer.project import Project



@dataclass(frozen=True, slots=True)
class ModelEstimate:
    """Parameters and MACs of one model, with where every number came from.

    ``macs`` is one forward pass on one sample in eval mode, in fvcore's convention
    (one multiply-add counted once); ``train_macs`` the forward as run during training
    when that differs (targets given). Either is None when unknown, with the reason.
    """

    name: str
    path: str
    line: int
    column: int
    origin: str
    params: int | None
    params_reason: str = ""
    macs: int | None = None
    macs_reason: str = ""
    macs_by_op: tuple[tuple[str, int], ...] = ()
    train_macs: int | None = None
    input: InputShape | None = None
    built_at: str = ""
    family: str = "other"
    training: TrainingPlan | None = None
    notes: tuple[str, ...] = ()
    #: Dotted class name for the measured run (``pkg.model.GPT``) and the constructor
    #: arguments used, when they are plain literals; else None.
    target: str | None = None
    arguments: dict[str, Any] | None = field(default=None, compare=False)
    #: The tensor shape the forward ran on, batch of 1 included (sequence-first models
    #: put it second), so a measured run can use the very same input.
    input_tensor: tuple[int, ...] | None = None

    @property
    def training_forward_macs(self) -> int | None:
        return self.train_macs if self.train_macs is not None else self.macs


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """``[tool.greenlint.models.<name>]``: what the code does not say about one model."""

    args: dict[str, Any] = field(default_factory=dict)
    input_shape: tuple[int, ...] | None = None
    tokens: bool = False
    dataset_size: int | None = None
    epochs: float | None = None

    def overrides(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.dataset_size is not None:
            out["dataset-size"] = self.dataset_size
        if self.epochs is not None:
            out["epochs"] = self.epochs
        return out


#: Python errors the interpreter raises when a value it inferred is not what the code
#: expects there (``Ref - 1`` where the code subtracts from a number it could not read):
#: that model's estimate is unknown, and the rules asking about it still run.
INTERPRETER_SLIPS = (TypeError, ValueError, ArithmeticError, LookupError, AttributeError)


def estimate_project(project: Project, settings: dict[str, ModelSettings] | None = None,
                     input_shape: InputShape | None = None, training: ModelSettings | None = None,
                     within: Callable[[str], bool] | None = None) -> list[ModelEstimate]:
    """Every model the project defines (roots only) or builds from a library, sorted.

    ``settings`` are per model name; ``training`` (dataset size, epochs from the command
    line) applies to every model and wins over configuration. ``within`` limits the work
    to models defined or built in the files it accepts (the whole project is still read
    for their parts and arguments): estimating is the costly step, so a report about a
    few files should not pay for every model of a large project.
    """
    merged = _ModelSettingsTable(settings or {}, training)
    index = project_index(project)
    roots = root_classes(index, configured=set(merged.settings))
    if within is not None:
        roots = [ref for ref in roots if within(ref.facts.path) or any(within(f.path) for f, _ in sites_of(index, ref))]
    estimates = [estimate_class(index, ref, merged.get(ref.cls.name), input_shape) for ref in roots]
    estimates.extend(architectures.library_models(project, index, merged, input_shape, within))
    return sorted(estimates, key=lambda e: (e.path, e.line, e.name))


@dataclass(frozen=True)
class _ModelSettingsTable:
    """Per-model settings with the command line's training figures laid over them."""

    settings: dict[str, ModelSettings]
    training: ModelSettings | None

    def get(self, name: str) -> ModelSettings | None:
        own = self.settings.get(name)
        if self.training is None or (self.training.dataset_size is None and self.training.epochs is None):
            return own
        base = own or ModelSettings()
        return replace(base, dataset_size=self.training.dataset_size or base.dataset_size,
                       epochs=self.training.epochs or base.epochs)


# -- which classes are models of their own -----------------------------------------------------


def root_classes(index: ProjectIndex, configured: set[str] | None = None) -> list[ClassRef]:
    """Module classes that no other model class builds, and that are not only bases.

    A class that no code builds and whose constructor needs arguments is a building
    block, not a model, unless the configuration gives its arguments (``configured``).
    """
    configured = configured or set()
    modules = {key: value for key, value in index.classes.items() if value[0].kind == "module"}
    used: set[int] = set()
    bases: set[int] = set()
    for (module, name), (cls, facts) in modules.items():
        for ref in _referenced(index, cls, facts):
            if ref.cls is not cls:
                used.add(id(ref.cls))
        for base in cls.bases:
            found = _class(index, base, facts)
            if found is not None:
                bases.add(id(found.cls))
    instantiated = set()
    for ref, facts, call in _all_sites(index):
        instantiated.add(id(ref.cls))
        for arg in call.args:  # ResNet(BasicBlock, [2, 2, 2, 2]), Coupling(network=GatedNet(...)): parts
            if arg.value.kind in ("name", "attribute", "call"):
                part = _class(index, arg.value.text, facts)
                if part is not None and part.cls is not ref.cls:
                    used.add(id(part.cls))
    roots = []
    for (module, name), (cls, facts) in sorted(modules.items(), key=lambda kv: (kv[1][1].path, kv[1][0].line)):
        if id(cls) in used:
            continue
        if id(cls) in bases and id(cls) not in instantiated:
            continue
        if cls.method("forward") is None and not _inherits_forward(index, cls, facts) and id(cls) not in instantiated:
            continue  # a mixin or helper no code builds; a built one without forward still has parameters
        if id(cls) not in instantiated and _needs_arguments(cls) and cls.name not in configured:
            continue  # a building block no code builds: nothing to estimate
        roots.append(ClassRef(cls, facts))
    return roots


def _needs_arguments(cls: ModelClass) -> bool:
    init = cls.method("__init__")
    return init is not None and any(p.kind in ("pos", "kwonly") and p.default is None for p in init.params[1:])


def _inherits_forward(index: ProjectIndex, cls: ModelClass, facts: FileFacts, depth: int = 0) -> bool:
    for base in cls.bases:
        if base.startswith(("torch.nn.", "nn.")) and base.rpartition(".")[2] not in ("Module",):
            return True
        found = _class(index, base, facts)
        if found is not None and depth < 6:
            if found.cls.method("forward") is not None or _inherits_forward(index, found.cls, found.facts, depth + 1):
                return True
    return False


def _class(index: ProjectIndex, name: str, facts: FileFacts) -> ClassRef | None:
    if not name:
        return None
    if "." not in name:
        return index.class_in(facts, name)
    found, rest = index.resolve_ref(name, facts)
    return found if isinstance(found, ClassRef) and not rest else None


def _referenced(index: ProjectIndex, cls: ModelClass, facts: FileFacts) -> Iterator[ClassRef]:
    stack: list[Node] = []
    for method in cls.methods:
        stack.extend(p.default for p in method.params if p.default is not None)
        for statement in method.body:
            stack.extend(_statement_nodes(statement))
    for item in cls.globals:
        if item.function is not None:
            for statement in item.function.body:
                stack.extend(_statement_nodes(statement))
    seen: set[str] = set()
    while stack:
        node = stack.pop()
        if node.kind in ("name", "ref") and isinstance(node.value, str) and node.value not in seen:
            seen.add(node.value)
            found = _class(index, node.value, facts)
            if found is not None:
                yield found
        stack.extend(node.children)


def _statement_nodes(statement: Any) -> Iterator[Node]:
    yield from statement.targets
    if statement.value is not None:
        yield statement.value
    for inner in (*statement.body, *statement.orelse):
        yield from _statement_nodes(inner)


# -- where models are built ------------------------------------------------------------------


def _all_sites(index: ProjectIndex) -> list[tuple[ClassRef, FileFacts, Call]]:
    """Every call that builds a project module class, found once per project."""
    if index.sites is None:
        index.sites = list(_find_sites(index))
    return index.sites


def _find_sites(index: ProjectIndex) -> Iterator[tuple[ClassRef, FileFacts, Call]]:
    for facts in index.project.python_files():
        model_names = {m.name for m in facts.models if isinstance(m, ModelClass)}
        for call in facts.calls:
            if not call.name or call.name.startswith("?"):
                continue
            if call.scope and call.scope.split(".")[0] in model_names:
                continue
            found = _class(index, call.name, facts)
            if found is not None and found.cls.kind == "module":
                yield found, facts, call


def sites_of(index: ProjectIndex, ref: ClassRef) -> list[tuple[FileFacts, Call]]:
    """Where the project builds a class, training scripts first (their arguments are the
    ones that cost energy), then entry points, then the rest by path."""
    def rank(item: tuple[FileFacts, Call]) -> tuple[bool, bool, bool, str, int]:
        facts, call = item
        name = facts.path.rsplit("/", 1)[-1].lower()
        unused_builder = bool(call.scope) and "." not in call.scope and not index.project.call_sites.get(f"{facts.module}:{call.scope}")
        return ("train" not in name, unused_builder, not facts.entry_point, facts.path, call.line)

    return sorted(((f, c) for r, f, c in _all_sites(index) if r.cls is ref.cls), key=rank)


# -- one class ------------------------------------------------------------------------------------


@dataclass
class _Built:
    """A model built at one call site (or from constructor defaults)."""

    interp: Interpreter
    model: Any
    built_at: str
    facts: FileFacts | None
    call: Call | None
    arguments: dict[str, Any] | None

    @property
    def counted(self) -> bool:
        return isinstance(self.model, Instance) and not isinstance(param_count(self.model), Unknown)

    def failure(self) -> str:
        if isinstance(self.model, Unknown):
            return self.model.reason
        counted = param_count(self.model) if isinstance(self.model, Instance) else None
        return counted.reason if isinstance(counted, Unknown) else "; ".join(self.interp.tally.incomplete)


def _build_at(index: ProjectIndex, ref: ClassRef, settings: ModelSettings, site: tuple[FileFacts, Call] | None) -> _Built:
    """Evaluate one construction of the class: its call's arguments, then ``__init__``."""
    overrides = {ref.cls.name: settings.args} if settings.args else {}
    interp = Interpreter(index, overrides)
    arguments = None
    try:
        if site is None:
            model: Any = interp.instantiate(ref, [], {})
            arguments = json_arguments([], {}, settings.args)
        else:
            site_facts, call = site
            evaluated = interp.arguments(call_node(call, index.import_roots(site_facts)), Scope(site_facts, site=(call.scope, call.line)))
            if isinstance(evaluated, Unknown):
                model = evaluated
            else:
                evaluated = _with_overrides(ref, *evaluated, settings.args)
                arguments = json_arguments(*evaluated, {})  # before __init__ changes a config
                model = interp.instantiate(ref, *evaluated)
    except EvalError as error:
        model = Unknown(str(error))
    except INTERPRETER_SLIPS as error:  # an operation on values the estimate got wrong: unknown, not a crash
        model = Unknown(f"the estimate cannot follow this construction ({type(error).__name__}: {error})")
    if site is None:
        return _Built(interp, model, "constructor defaults (no call site in the project)", None, None, arguments)
    return _Built(interp, model, f"{site[0].path}:{site[1].line}", site[0], site[1], arguments)


def _with_overrides(ref: ClassRef, args: list[Any], kwargs: dict[str, Any], overrides: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """The call's arguments with configured ones laid over them by name, positional
    arguments named after ``__init__``'s parameters, so the measured run gets them too."""
    if not overrides:
        return args, kwargs
    init = ref.cls.method("__init__")
    names = [p.name for p in init.params[1:] if p.kind == "pos"] if init is not None else []
    if len(args) > len(names):
        return args, {**kwargs, **overrides}
    named = dict(zip(names, args))
    return [], {**named, **kwargs, **overrides}


def estimate_class(index: ProjectIndex, ref: ClassRef, settings: ModelSettings | None = None,
                   input_shape: InputShape | None = None) -> ModelEstimate:
    """Build one model class at its best call site and count its cost.

    The best site is the first (training scripts first) whose construction can be counted;
    when that is not the first, a note says why the first could not be.
    """
    settings = settings or ModelSettings()
    cls, facts = ref.cls, ref.facts
    sites = sites_of(index, ref)[:8]
    built = [_build_at(index, ref, settings, site) for site in sites] or [_build_at(index, ref, settings, None)]
    best = next((b for b in built if b.counted), built[0])
    interp, model, site_facts = best.interp, best.model, best.facts
    variables = _variables(index, sites)
    base = ModelEstimate(cls.name, facts.path, cls.line, cls.column, "class", None, built_at=best.built_at,
                         target=f"{facts.module}.{cls.name}")
    if not isinstance(model, Instance):
        reason = model.reason if isinstance(model, Unknown) else f"the call builds a {type(model).__name__}"
        return replace(base, params_reason=reason, macs_reason=reason)
    params = param_count(model)
    notes = list(interp.tally.notes) + [f"construction: {text}" for text in interp.tally.incomplete]
    if isinstance(params, Unknown):
        base = replace(base, params_reason=params.reason)
    elif interp.tally.incomplete:
        base = replace(base, params_reason="construction was not followed completely: " + "; ".join(interp.tally.incomplete))
    else:
        base = replace(base, params=params)
    if best is not built[0]:
        notes.append(f"{built[0].built_at} builds it with arguments the source does not fix ({built[0].failure()}); "
                     f"the construction at {best.built_at} is estimated")
    files: list[FileFacts] = []
    for candidate in [site_facts, *(f for f, _ in variables), facts]:
        if candidate is not None and all(candidate.path != f.path for f in files):
            files.append(candidate)
    data = [d for f in files for d in datasets(interp, f)]
    estimate = _forward(index, base, model, settings, input_shape, variables, data, files)
    training = plan(interp, _training_files(sites, files), data, settings.overrides())
    family = "language-model" if estimate.input is not None and estimate.input.integer else ("vision" if _has_conv(model) else "other")
    return replace(estimate, training=training, family=family, notes=tuple(dict.fromkeys([*notes, *estimate.notes])),
                   arguments=best.arguments)


def _training_files(sites: list[tuple[FileFacts, Call]], files: list[FileFacts]) -> list[FileFacts]:
    """Where to read the amount of training: every file that builds the model, training
    scripts first (a benchmark script's step count is not the training's), then the rest."""
    out: list[FileFacts] = []
    for candidate in [*(f for f, _ in sites), *files]:
        if all(candidate.path != f.path for f in out):
            out.append(candidate)
    return out


def _has_conv(model: Any) -> bool:
    return any(isinstance(m, Layer) and m.kind.startswith(("Conv", "ConvTranspose")) for m in submodules(model))


def _variables(index: ProjectIndex, sites: list[tuple[FileFacts, Call]]) -> list[tuple[FileFacts, str | None]]:
    """Where each construction is stored; for a builder function (``def resnet18():
    return ResNet(...)``), where its callers store the result."""
    out: list[tuple[FileFacts, str | None]] = []
    for facts, call in sites:
        variable = model_variable(facts, call)
        out.append((facts, variable))
        if variable is None and call.scope and "." not in call.scope:
            for located in index.project.call_sites.get(f"{facts.module}:{call.scope}", [])[:8]:
                out.append((located.file, model_variable(located.file, located.call)))
    return out


def model_variable(facts: FileFacts, call: Call) -> str | None:
    """The variable a construction is stored in, also through ``Net().to(device)``."""
    if call.target:
        return call.target
    for other in facts.calls:
        if other.statement == call.statement and other.target and other.name.startswith("?.") and other.line == call.line:
            return other.target
    return None


def json_arguments(args: list[Any], kwargs: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any] | None:
    """Evaluated constructor arguments as JSON for the measured run (``#0`` for positional);
    project config objects become ``{"__class__": "path.py:Name", "kwargs": {...}}``.
    None when any argument is not plain data."""
    def convert(value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, (list, tuple)):
            items = [convert(v) for v in value]
            return _NOT_JSON if any(i is _NOT_JSON for i in items) else items
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            items = {k: convert(v) for k, v in value.items()}
            return _NOT_JSON if any(i is _NOT_JSON for i in items.values()) else items
        if isinstance(value, ClassRef):
            return {"__ref__": f"{value.facts.path}:{value.cls.name}"}
        if isinstance(value, ConfigObject) and value.cls is not None and value.facts is not None:
            attrs = {k: convert(v) for k, v in value.attrs.items()}
            if any(v is _NOT_JSON for v in attrs.values()):
                return _NOT_JSON
            return {"__class__": f"{value.facts.path}:{value.cls.name}", "kwargs": attrs}
        return _NOT_JSON

    out: dict[str, Any] = {}
    for i, value in enumerate(args):
        out[f"#{i}"] = convert(value)
    for key, value in kwargs.items():
        out[key] = convert(value)
    for key, value in overrides.items():
        out[key] = value
    if any(v is _NOT_JSON for v in out.values()):
        return None
    return out


_NOT_JSON = object()


def _candidates(index: ProjectIndex, model: Instance, settings: ModelSettings, input_shape: InputShape | None,
                variables: list[tuple[FileFacts, str | None]], data: list[Any], files: list[FileFacts]) -> Iterator[InputShape]:
    if settings.input_shape is not None:
        yield InputShape(settings.input_shape, settings.tokens, f"[tool.greenlint.models.{model.cls.name}] input-shape")
    if input_shape is not None:
        yield input_shape
    for facts, variable in variables:
        yield from example_inputs(Interpreter(index), facts, variable)
    for use in data:
        if use.shape is not None:
            yield InputShape(use.shape, False, use.source)
    interp = Interpreter(index)
    found = sequence_length(interp, model, files)
    if found is not None:
        yield found
    yield from _project_data(index, model, files)


def _project_data(index: ProjectIndex, model: Instance, files: list[FileFacts]) -> Iterator[InputShape]:
    """The data the project's scripts load elsewhere (``main.py`` trains on CIFAR-10 while
    ``models/lenet.py`` only defines LeNet): last resort, entry points first, said so."""
    interp = Interpreter(index)
    seen = {f.path for f in files}
    shapes: set[tuple[int, ...]] = set()
    for facts in sorted(index.project.python_files(), key=lambda f: (not f.entry_point, f.path)):
        if facts.path in seen:
            continue
        for use in datasets(interp, facts):
            if use.shape is not None and use.shape not in shapes and len(shapes) < 3:
                shapes.add(use.shape)
                yield InputShape(use.shape, False, f"{use.source}, the project's data ({model.cls.name} is not built there)")


def _forward(index: ProjectIndex, base: ModelEstimate, model: Instance, settings: ModelSettings, input_shape: InputShape | None,
             variables: list[tuple[FileFacts, str | None]], data: list[Any], files: list[FileFacts]) -> ModelEstimate:
    if Interpreter(index)._find_method(model.cls, model.facts, "forward") is None:
        # an actor-critic's pi() and v(): its own methods run it, and its parameters still count
        return replace(base, macs_reason="the class has no forward method: its own methods run it, on inputs not known here")
    tried: list[str] = []
    seq_first = sequence_first(model)
    for candidate in _candidates(index, model, settings, input_shape, variables, data, files):
        if seq_first and candidate.integer and candidate.example is not None and len(candidate.example) == 2:
            candidate = replace(candidate, shape=(candidate.example[0],))
        shape = ((*candidate.shape, 1) if candidate.integer and seq_first and len(candidate.shape) == 1
                 else (1, *candidate.shape))
        tally, output, error = run_forward(index, model, Tensor(shape, candidate.integer))
        if error is not None or isinstance(output, Unknown) and not tally.incomplete:
            tried.append(f"{candidate.describe()} from {candidate.source}: {error or output}")
            continue
        notes = list(tally.notes)
        if tally.incomplete:
            reason = "forward not followed completely: " + "; ".join(tally.incomplete)
            return replace(base, input=candidate, macs_reason=reason, notes=tuple(notes))
        train_macs = None
        train_tally, _, train_error = run_forward(index, model, Tensor(shape, candidate.integer), training=True)
        if train_error is None and not train_tally.incomplete and train_tally.total != tally.total:
            train_macs = train_tally.total
            notes.append("training passes targets to forward, which changes its cost")
        by_op = tuple(sorted(tally.macs.items(), key=lambda kv: (-kv[1], kv[0])))
        return replace(base, input=candidate, macs=tally.total, macs_by_op=by_op, train_macs=train_macs, notes=tuple(notes),
                       input_tensor=tuple(shape))
    if tried:
        return replace(base, macs_reason="no input shape fits: " + "; ".join(tried[:3]))
    return replace(base, macs_reason="input shape unknown: no example input, known dataset or configured input-shape")


def input_count(forward: Any) -> int:
    """Inputs one sample feeds ``forward`` (see ``conventions.input_count``); the measured
    run (``greenlint.measure.child``) passes the same number."""
    return paired_inputs([p.name for p in forward.params[1:] if p.kind == "pos" and p.default is None])


def run_forward(index: ProjectIndex, model: Instance, x: Tensor, training: bool = False) -> tuple[Tally, Any, str | None]:
    """One forward pass on a fresh tally; training passes targets shaped like the input."""
    interp = Interpreter(index)
    kwargs: dict[str, Any] = {}
    forward = interp._find_method(model.cls, model.facts, "forward")
    if training:
        names = [p.name for p in forward[0].params] if forward is not None else []
        given = [n for n in TARGET_PARAMS if n in names]
        if not given:
            return interp.tally, None, "no targets"
        kwargs[given[0]] = Tensor(x.shape, True)
    inputs = input_count(forward[0]) if forward is not None else 1
    if inputs > 1:
        interp.tally.note(f"forward takes {inputs} inputs; each is given the same shape (as a Siamese pair is)")
    try:
        output = interp.call(model, [x] * inputs, kwargs)
    except EvalError as error:
        return interp.tally, None, str(error)
    except INTERPRETER_SLIPS as error:
        return interp.tally, None, f"the estimate cannot follow this forward pass ({type(error).__name__}: {error})"
    except RecursionError:
        return interp.tally, None, "code nests too deeply"
    return interp.tally, output, None
