"""Architectures built from libraries: torchvision and timm constructors, Hugging Face
``from_pretrained`` names and configs, with their published size.

A vision model's parameters and MACs come from torchvision's table at the weights' input
size; MACs at another resolution are scaled by the pixel count (convolutions cost in
proportion to it), and a replaced classifier (``model.fc = nn.Linear(512, 2)``, or
``num_classes=2``) is accounted for exactly. A Hugging Face model's numbers come from its
configuration through ``transformer``. Inside a project class the same objects act as
layers, so ``self.backbone = resnet18(); self.head = nn.Linear(512, 10)`` adds up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from greenlint.analyzer.cost import transformer as tf
from greenlint.analyzer.cost import vision_parts
from greenlint.analyzer.cost.layers import make
from greenlint.analyzer.cost.published import lookup
from greenlint.analyzer.cost.values import ConfigObject, EvalError, Layer, Param, Tensor, Unknown

if TYPE_CHECKING:
    from greenlint.analyzer.cost.interpreter import Interpreter
    from greenlint.analyzer.cost.scopes import ProjectIndex
    from greenlint.analyzer.cost.static import ModelEstimate, ModelSettings
    from greenlint.analyzer.facts import Call, FileFacts
    from greenlint.analyzer.project import Project
    from greenlint.analyzer.cost.inputs import InputShape

TEXT_LOADERS = ("from_pretrained", "from_config")


@dataclass(eq=False)
class KnownModel:
    """A library model with published numbers; its classifier may be replaced."""

    name: str
    row: dict[str, Any]
    num_classes: int = 1000
    head: Layer | None = None
    removed_head: bool = False
    notes: list[str] = field(default_factory=list)
    weights: Param = field(default_factory=lambda: Param((0,)))
    #: Parts taken out of the model (``features``), built once so they keep their identity.
    parts: dict[str, Any] = field(default_factory=dict)
    #: The model layer by layer, once code changes more than its head (a new stem): from
    #: then on it stands for the model (see ``layered``).
    layers: Layer | None = None

    def __post_init__(self) -> None:
        self.weights = Param((self.base_params(),))

    @property
    def head_path(self) -> str | None:
        head = self.row.get("head")
        return head[0] if head else None

    @property
    def head_in(self) -> int | None:
        head = self.row.get("head")
        return int(head[1]) if head else None

    def base_params(self) -> int:
        """Parameters without the classifier (which ``head`` holds)."""
        total = int(self.row["params"])
        if self.head_in is not None:
            total -= self.head_in * 1000 + 1000
        return total


@dataclass(eq=False)
class KnownText:
    """A Hugging Face transformer from its configuration."""

    name: str
    shape: tf.TransformerShape
    head: str
    num_labels: int = 2
    source: str = ""
    weights: Param = field(default_factory=lambda: Param((0,)))
    #: What was assumed where the code does not say (a label count from the data).
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.weights = Param((self.params(),))

    def params(self) -> int:
        return tf.parameters(self.shape, self.head, self.num_labels)


@dataclass(eq=False)
class HeadPath:
    """``model.classifier`` of a torchvision model, on the way to its last layer."""

    model: KnownModel
    rest: list[str]


def build_vision(name: str, row: dict[str, Any], kwargs: dict[str, Any]) -> KnownModel | Unknown:
    classes = kwargs.get("num_classes", 1000)
    if isinstance(classes, Unknown):
        return classes
    model = KnownModel(name, row, int(classes))
    if model.head_in is not None:
        model.head = make("Linear", [model.head_in, model.num_classes], {})
    elif classes != 1000:
        return Unknown(f"{name} with num_classes={classes}: its classifier is not a single linear layer")
    return model


def forward_known(interp: Interpreter, model: KnownModel, x: Any) -> Any:
    if model.layers is not None:
        return interp.call(model.layers, [x], {})
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise EvalError(f"{model.name} expects a batch of images")
    native = tuple(model.row["input"])
    if tuple(x.shape[1:]) != native and model.row.get("fixed_size"):
        return Unknown(f"{model.name} is published at {native[1]}x{native[2]}; another size is not estimated")
    if x.shape[1] != native[0]:
        raise EvalError(f"{model.name} expects {native[0]} channels")
    scale = (x.shape[2] * x.shape[3]) / (native[1] * native[2])
    macs = model.row["gmacs"] * 1e9
    if model.head_in is not None:
        macs -= model.head_in * 1000
    interp.tally.add("published", round(macs * scale * x.shape[0]))
    if scale != 1:
        interp.tally.note(f"{model.name}: published MACs at {native[1]}x{native[2]} scaled by the pixel count")
    features = Tensor((x.shape[0], model.head_in or 1000))
    if model.head is not None and not model.removed_head:
        return interp.call(model.head, [features], {})
    return features


def forward_text(interp: Interpreter, model: KnownText, x: Any) -> Any:
    if not isinstance(x, Tensor) or x.ndim != 2:
        raise EvalError(f"{model.name} expects token ids of shape (batch, sequence)")
    batch, tokens = x.shape
    interp.tally.add("transformer", batch * tf.forward_macs(model.shape, tokens, model.head, model.num_labels))
    hidden = Tensor((batch, tokens, model.shape.hidden))
    attrs: dict[str, Any] = {"last_hidden_state": hidden, "pooler_output": Tensor((batch, model.shape.hidden))}
    if model.head == "causal-lm":
        attrs = {"logits": Tensor((batch, tokens, model.shape.vocab))}
    elif model.head == "classification":
        attrs = {"logits": Tensor((batch, model.num_labels))}
    elif model.head in tf.NO_POOLER:
        outputs = 2 if model.head == "question-answering" else model.num_labels
        attrs = {"logits": Tensor((batch, tokens, outputs))}
    return ConfigObject("ModelOutput", attrs, record=True)


def build_text(name: str, class_name: str, attrs: dict[str, Any] | None, kwargs: dict[str, Any]) -> KnownText | Unknown:
    """A Hugging Face model from a checkpoint name or a config object's attributes."""
    built = _text_model(name, class_name, attrs, kwargs)
    if isinstance(built, KnownText) and built.shape.family == "llama" and built.head in tf.NO_POOLER:
        return Unknown(f"{class_name}: per-token heads of Llama models are not modeled")
    return built


def _text_model(name: str, class_name: str, attrs: dict[str, Any] | None, kwargs: dict[str, Any]) -> KnownText | Unknown:
    head = tf.head_of(class_name)
    if head is None:
        return Unknown(f"{class_name}: its task head is not modeled (base, causal LM, sequence and token classification, "
                       "question answering are)")
    labels = kwargs.get("num_labels", 2)
    if "num_labels" not in kwargs and "id2label" in kwargs:  # transformers takes the count from the mapping
        mapping = kwargs["id2label"]
        labels = len(mapping) if isinstance(mapping, dict) else mapping
    notes: tuple[str, ...] = ()
    if not isinstance(labels, int) or isinstance(labels, bool):
        reason = labels.reason if isinstance(labels, Unknown) else "not an integer"
        notes = (f"num_labels is unknown ({reason}); the task head is counted with 2 labels, "
                 f"{tf.ALIASES['hidden'][0]} + 1 parameters per further label",)
        labels = 2
    if attrs is not None:
        family = next((f for prefix, f in tf.MODEL_CLASS_FAMILIES.items() if class_name.startswith(prefix)), None)
        family = attrs.get("__family__", family)
        if family is None:
            return Unknown(f"{class_name} is not a transformer family the cost model knows")
        shape = tf.shape_from_config(family, attrs)
        return KnownText(class_name, shape, head, labels, "configuration in the code", notes=notes)
    row = lookup(name)
    if row is None or "family" not in row:
        return Unknown(f"'{name}' is not in the table of known checkpoints")
    shape = tf.TransformerShape.from_values(row["family"], {k: row.get(k) for k in tf.ALIASES})
    return KnownText(row["name"], shape, head, labels, row["source"], notes=notes)


def config_object(class_name: str, kwargs: dict[str, Any]) -> ConfigObject:
    """``GPT2Config(n_layer=6)``: the attributes given, the family remembered."""
    family = tf.CONFIG_CLASSES.get(class_name)
    attrs = dict(kwargs)
    if family is not None:
        attrs["__family__"] = family
    return ConfigObject(class_name, attrs)


# -- call sites outside project classes -----------------------------------------------------


def library_models(project: Project, index: ProjectIndex, settings: dict[str, ModelSettings],
                   input_shape: InputShape | None, within: Callable[[str], bool] | None = None) -> list[ModelEstimate]:
    """One estimate per call that builds a known library architecture (in the files
    ``within`` accepts, when given)."""
    from greenlint.analyzer.cost.interpreter import Interpreter, Scope, param_count
    from greenlint.analyzer.cost.scopes import call_node
    from greenlint.analyzer.cost.static import ModelEstimate
    from greenlint.analyzer.model_facts import ModelClass

    out: list[ModelEstimate] = []
    for facts in project.python_files():
        if within is not None and not within(facts.path):
            continue
        classes = {m.name for m in facts.models if isinstance(m, ModelClass)}
        for call in facts.calls:
            if call.scope and call.scope.split(".")[0] in classes:
                continue
            if not _builds_library_model(call):
                continue
            interp = Interpreter(index)
            try:
                model = interp.eval(call_node(call, index.import_roots(facts)), Scope(facts, site=(call.scope, call.line)))
            except EvalError:
                continue
            if not isinstance(model, (KnownModel, KnownText)):
                continue
            _apply_head_assignments(interp, facts, call, model)
            params = param_count(model)
            if interp.tally.incomplete:
                params = Unknown("; ".join(interp.tally.incomplete))
            estimate = ModelEstimate(
                name=model.name, path=facts.path, line=call.line, column=call.column, origin="library",
                params=params if isinstance(params, int) else None,
                params_reason=params.reason if isinstance(params, Unknown) else "",
                macs_reason=params.reason if isinstance(params, Unknown) else "",
                built_at=f"{facts.path}:{call.line}",
                family="language-model" if isinstance(model, KnownText) else "vision",
                notes=_library_notes(model),
            )
            if interp.tally.incomplete:
                out.append(estimate)  # a changed model the published figures do not describe
                continue
            out.append(_library_forward(index, estimate, model, facts, call, settings.get(model.name), input_shape))
        if not any(e.path == facts.path and e.origin == "library" for e in out):
            for call, name, row in chosen_by_option(index, facts):
                model = build_vision(name, row, {})
                if isinstance(model, Unknown):
                    continue
                flag = next((a.value.literal for a in call.args if a.keyword is None and a.value.kind == "literal"), "--arch")
                estimate = ModelEstimate(
                    name=name, path=facts.path, line=call.line, column=call.column, origin="library",
                    params=param_count(model), built_at=f"{facts.path}:{call.line} ({flag} default)", family="vision",
                    notes=(f"the architecture is chosen at run time by {flag}; its default {name} is estimated",
                           f"published figures: {row['source']}"),
                )
                fake = replace(call, target=None)
                out.append(_library_forward(index, estimate, model, facts, fake, settings.get(name), input_shape))
    return out


#: Command-line options that choose an architecture by name at run time.
ARCH_OPTIONS = ("arch", "a", "model", "architecture", "model_name", "net", "backbone", "model_type")


def chosen_by_option(index: ProjectIndex, facts: FileFacts) -> list[tuple[Call, str, dict[str, Any]]]:
    """``parser.add_argument('--arch', default='resnet18')`` in a file that builds
    torchvision or timm models by name: the default architecture, where it is chosen."""
    if not any(q.startswith(("torchvision.models", "timm")) for q in facts.imports.values()):
        return []
    found = []
    for call in facts.calls:
        if call.method != "add_argument":
            continue
        flags = [a.value.literal for a in call.args if a.keyword is None and a.value.kind == "literal" and isinstance(a.value.literal, str)]
        dests = {f.lstrip("-").replace("-", "_") for f in flags}
        default = call.keyword("default")
        if not dests & set(ARCH_OPTIONS) or default is None or default.kind != "literal" or not isinstance(default.literal, str):
            continue
        row = lookup(default.literal)
        if row is not None and "gmacs" in row:
            found.append((call, default.literal, row))
    return found


def _library_notes(model: KnownModel | KnownText) -> tuple[str, ...]:
    """Where a library model's numbers come from, and what was assumed."""
    if isinstance(model, KnownText):
        return (f"configuration: {model.source}", *model.notes)
    source = () if model.layers is not None else (f"published figures: {model.row['source']}",)
    return (*source, *model.notes)


def _builds_library_model(call: Call) -> bool:
    name = call.name
    if name.startswith("torchvision.models.") or name.startswith("timm.create_model"):
        return True
    if call.method in TEXT_LOADERS and name.startswith("transformers."):
        return True
    return name.startswith("transformers.") and any(name.rpartition(".")[2].startswith(p) for p in tf.MODEL_CLASS_FAMILIES)


def _apply_head_assignments(interp: Interpreter, facts: FileFacts, call: Call, model: Any) -> None:
    """``model.fc = nn.Linear(num_ftrs, 2)`` after the call, in the same function."""
    from greenlint.analyzer.cost.interpreter import Scope
    from greenlint.analyzer.cost.scopes import call_assigned, call_node, value_to_node

    if not call.target or not isinstance(model, KnownModel):
        return
    for assignment in facts.assignments:
        if assignment.scope != call.scope or assignment.line <= call.line or not assignment.target.startswith(call.target + "."):
            continue
        path = assignment.target.split(".")[1:]
        imports = interp.index.import_roots(facts)
        source = call_assigned(facts, assignment) if assignment.value.kind == "call" else None
        node = call_node(source, imports) if source is not None else value_to_node(assignment.value, imports)
        scope = Scope(facts, site=(assignment.scope, assignment.line - 1), locals={call.target: model})
        try:
            value = interp.eval(node, scope)
            holder: Any = model
            for part in path[:-1]:
                holder = interp.getattr(holder, part)
            interp.setattr(holder, path[-1], value)
        except EvalError as error:  # a head built from values the code does not show: the count is incomplete
            interp.tally.missing(f"{assignment.target} = ...: {error}")


def _library_forward(index: ProjectIndex, estimate: ModelEstimate, model: Any, facts: FileFacts, call: Call,
                     settings: ModelSettings | None, input_shape: InputShape | None) -> ModelEstimate:
    from greenlint.analyzer.cost.inputs import InputShape, datasets, example_inputs
    from greenlint.analyzer.cost.interpreter import Interpreter
    from greenlint.analyzer.cost.training import plan

    interp = Interpreter(index)
    candidates: list[InputShape] = []
    if settings is not None and settings.input_shape is not None:
        candidates.append(InputShape(settings.input_shape, settings.tokens, f"[tool.greenlint.models.{model.name}] input-shape"))
    if input_shape is not None:
        candidates.append(input_shape)
    candidates.extend(example_inputs(interp, facts, call.target))
    data = datasets(interp, facts)
    candidates.extend(InputShape(d.shape, False, d.source) for d in data if d.shape is not None)
    if isinstance(model, KnownModel):
        candidates.append(InputShape(tuple(model.row["input"]), False, f"{model.name}'s published input size"))
    else:
        length = _text_length(interp, facts) or (model.shape.positions, f"assumed: the model's maximum context ({model.shape.positions} tokens)")
        candidates.append(InputShape((length[0],), True, length[1]))
    notes = list(estimate.notes)
    for candidate in candidates:
        run = Interpreter(index)
        try:
            output = run.call(model, [Tensor((1, *candidate.shape), candidate.integer)], {})
        except EvalError:
            continue
        if isinstance(output, Unknown):
            continue
        notes.extend(run.tally.notes)
        training = plan(interp, [facts], data, settings.overrides() if settings is not None else {})
        by_op = tuple(sorted(run.tally.macs.items()))
        return replace(estimate, macs=run.tally.total, macs_by_op=by_op, input=candidate, training=training, notes=tuple(notes))
    return replace(estimate, macs_reason="no input shape fits the published model")


def _text_length(interp: Interpreter, facts: FileFacts) -> tuple[int, str] | None:
    """``tokenizer(..., max_length=128, padding="max_length")`` sets the sequence length."""
    for call in facts.calls:
        value = call.keyword("max_length")
        if value is not None and value.kind == "literal" and isinstance(value.literal, int):
            return value.literal, f"max_length={value.literal} at {facts.path}:{call.line}"
    return None


def build_inside_model(name: str, kwargs: dict[str, Any]) -> Any:
    """``torchvision.models.resnet18(...)`` inside a project's model, layer by layer, so the
    model may replace its stem or drop its head (see ``vision_parts``); None when the
    family is not built that way (the published figures then stand for it)."""
    if not name.startswith("torchvision.models."):
        return None
    classes = kwargs.get("num_classes", 1000)
    if isinstance(classes, Unknown):
        return classes
    if not isinstance(classes, int):
        return None
    return vision_parts.whole(name.rpartition(".")[2], classes)


def call_library(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """A library constructor of a known architecture, or None when ``name`` is not one."""
    method = name.rpartition(".")[2]
    if name.startswith("torchvision.models."):
        if method == "get_model":
            target = args[0] if args else kwargs.get("name")
            row = lookup(target) if isinstance(target, str) else None
            return build_vision(target, row, kwargs) if row is not None and "gmacs" in row else Unknown(f"get_model({target!r})")
        row = lookup(method)
        if row is not None and "gmacs" in row:
            return build_vision(method, row, kwargs)
        return None
    if name == "timm.create_model":
        target = args[0] if args else kwargs.get("model_name")
        row = lookup(target) if isinstance(target, str) else None
        if row is None or "gmacs" not in row:
            return Unknown(f"timm model {target!r} is not in the table of known architectures")
        return build_vision(str(target), row, kwargs)
    if not name.startswith("transformers."):
        return None
    owner = name.split(".")[-2] if method in TEXT_LOADERS else method
    if method == "from_pretrained":
        if owner.endswith(("Tokenizer", "TokenizerFast", "Processor", "FeatureExtractor", "ImageProcessor")):
            return None
        target = args[0] if args else kwargs.get("pretrained_model_name_or_path")
        if owner.endswith("Config"):
            row = lookup(target) if isinstance(target, str) else None
            if row is None or "family" not in row:
                return Unknown(f"configuration {target!r} is not in the table of known checkpoints")
            attrs = {tf.ALIASES[k][0]: row[k] for k in tf.ALIASES if row.get(k) is not None}
            attrs["__family__"] = row["family"]
            return ConfigObject(owner, attrs)
        if not isinstance(target, str):
            return Unknown("from_pretrained() of a name the source does not fix")
        return build_text(target, owner, None, kwargs)
    if method == "from_config":
        config = args[0] if args else kwargs.get("config")
        if isinstance(config, ConfigObject):
            return build_text("", owner, config.attrs, kwargs)
        return Unknown("from_config() of a configuration the source does not fix")
    if owner.endswith("Config"):
        return config_object(owner, kwargs)
    if any(owner.startswith(prefix) for prefix in tf.MODEL_CLASS_FAMILIES):
        config = args[0] if args else kwargs.get("config")
        if isinstance(config, ConfigObject):
            return build_text("", owner, config.attrs, kwargs)
        return Unknown(f"{owner}() of a configuration the source does not fix")
    return None


def attribute(model: Any, name: str) -> Any:
    """``model.fc``, ``model.classifier`` (a path to the last layer), ``model.config``."""
    if isinstance(model, KnownText):
        if name == "config":
            attrs = {tf.ALIASES[key][0]: getattr(model.shape, key) for key in tf.ALIASES if getattr(model.shape, key, None) is not None}
            return ConfigObject("config", attrs)
        return Unknown(f"{model.name}.{name}")
    if isinstance(model, HeadPath):
        if model.rest == [name]:
            return model.model.head
        if model.rest and model.rest[0] == name:
            return HeadPath(model.model, model.rest[1:])
        return Unknown(f"{model.model.name}.{name}")
    if name in model.parts:
        return model.parts[name]
    built = vision_parts.part(model.name, name)
    if built is not None:
        model.parts[name] = built
        return built
    path = model.head_path
    if path is None:
        return Unknown(f"{model.name}.{name}")
    parts = path.split(".")
    if parts == [name]:
        return model.head if model.head is not None else make("Identity", [], {})
    if parts[0] == name:
        return HeadPath(model, parts[1:])
    return Unknown(f"{model.name}.{name} is not modeled")


def replace_head(model: Any, name: str, value: Any) -> bool:
    """``model.fc = nn.Linear(512, 2)`` and ``model.classifier[6] = ...``; False when the
    assignment replaces something else (a stem convolution), which the published figures
    cannot account for."""
    if isinstance(model, HeadPath):
        if model.rest == [name]:
            _set_head(model.model, value)
            return True
        return False
    if isinstance(model, KnownModel) and model.head_path == name:
        _set_head(model, value)
        return True
    return False


def layered(model: KnownModel) -> Layer | None:
    """The model built layer by layer with its current head, when its family can be
    (``vision_parts``); it replaces the published figures from then on."""
    if model.layers is None:
        built = vision_parts.whole(model.name, model.num_classes)
        if built is None:
            return None
        path = (model.head_path or "").split(".")
        holder = built
        for part in path[:-1]:
            holder = holder.children[part]
        if path != [""]:
            holder.children[path[-1]] = model.head if model.head is not None else make("Identity", [], {})
        model.layers = built
        model.notes.append(f"{model.name} is changed beyond its classifier, so it is counted layer by layer as torchvision builds it")
    return model.layers


def _set_head(model: KnownModel, value: Any) -> None:
    if isinstance(value, Layer) and value.kind == "Identity":
        model.head, model.removed_head = None, True
    else:
        model.head, model.removed_head = value, False


def named_parameters(model: Any) -> list[tuple[str, Any]]:
    if isinstance(model, KnownText):
        return [("weights", model.weights)]
    out: list[tuple[str, Any]] = [("weights", model.weights)]
    return out


__all__ = ["HeadPath", "KnownModel", "KnownText", "attribute", "build_text", "build_vision", "call_library", "config_object",
           "forward_known", "forward_text", "library_models", "lookup", "named_parameters", "replace_head"]
