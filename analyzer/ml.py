"""What ML code does, recognised from facts: training loops, devices, precision, saves.

Several rules need the same judgements ("is this a training loop?", "does this file run
on CUDA?"); they live here once so the rules agree with each other and stay short.
Every judgement errs towards silence: a rule that cries wolf gets switched off.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from greenlint.analyzer.cost.published import NOT_MODELS
from greenlint.analyzer.facts import Assignment, Call, FileFacts, Loop, Value
from greenlint.analyzer.project import Project, function_key

SAVE_METHODS = frozenset(
    {
        "save", "save_pretrained", "save_checkpoint", "save_state", "save_model",
        "save_weights", "save_file", "save_state_dict", "save_to_disk", "push_to_hub",
    }
)
NOT_MODEL_SAVES = frozenset({"numpy.save", "np.save", "numpy.savez", "pickle.dump", "json.dump"})
HOST_SYNC_METHODS = frozenset({"item", "cpu", "numpy", "tolist"})
PRECISION_NAMES = frozenset(
    {
        "torch.autocast", "torch.cuda.amp.autocast", "torch.amp.autocast", "torch.cpu.amp.autocast",
        "torch.cuda.amp.GradScaler", "torch.amp.GradScaler", "torch.GradScaler", "torch.float16",
        "torch.half", "torch.bfloat16", "apex.amp", "apex.amp.initialize",
    }
)
#: Attribute names that carry a precision choice made elsewhere (a flag or a config).
PRECISION_FLAGS = frozenset(
    {"fp16", "bf16", "amp", "use_amp", "mixed_precision", "precision", "half", "autocast", "dtype", "use_fp16", "use_bf16",
     # TF32 tensor-core matmuls, and base models loaded in 8 or 4 bits: a precision chosen on purpose
     "allow_tf32", "set_float32_matmul_precision", "BitsAndBytesConfig"}
)
#: Objects whose attributes are settings (``args.dtype`` is a precision flag, ``x.dtype`` is not).
CONFIG_OWNERS = frozenset({"args", "opt", "opts", "config", "cfg", "conf", "hparams", "hp", "params", "settings",
                           "flags", "options", "training_args", "train_config"})
#: Keywords of a model loader that load the weights quantized (QLoRA-style fine-tuning).
QUANTIZED_LOADING = frozenset({"load_in_8bit", "load_in_4bit", "quantization_config"})
PRECISION_STRINGS = frozenset({"fp16", "bf16", "float16", "bfloat16", "16-mixed", "bf16-mixed", "half"})


def is_backward(call: Call) -> bool:
    """``loss.backward()``, ``scaler.scale(loss).backward()``, or a loss scaler called
    on the loss and the optimizer (``loss_scaler(loss, optimizer, clip_grad=...)``:
    timm's ``NativeScaler`` runs the backward pass and the step inside)."""
    return (call.method == "backward" and bool(call.receiver)) or is_scaler_update(call)


def is_scaler_update(call: Call) -> bool:
    """A loss scaler called as a function on the loss and the optimizer, the contract of
    timm's ``NativeScaler`` that DeiT, MAE and ConvNeXt train with: it scales the loss,
    runs ``backward()``, unscales, clips and steps the optimizer."""
    if not call.method.lower().endswith("scaler"):
        return False
    positional = [a.value for a in call.args if a.keyword is None]
    if len(positional) < 2:
        return False
    owner = positional[1].text.rpartition(".")[2].lower()
    return positional[1].kind in ("name", "attribute") and ("optim" in owner or owner in ("opt", "opt_g", "opt_d"))


def loads_pretrained_model(call: Call) -> bool:
    """``from_pretrained`` of a model: a tokenizer's, a processor's or a config's loads no weights."""
    return call.method == "from_pretrained" and not call.receiver.endswith(NOT_MODELS)


def builds_torch_optim(call: Call) -> bool:
    """A class of ``torch.optim`` built (an optimizer, or a scheduler from ``torch.optim.lr_scheduler``)."""
    return call.name.startswith("torch.optim.") and call.method[:1].isupper()


def is_optimizer_step(call: Call) -> bool:
    """``optimizer.step()``, ``opt.step()``, ``scaler.step(opt)``, ``engine.step()``."""
    if call.method != "step":
        return False
    owner = call.receiver.rpartition(".")[2].lower()
    return "optim" in owner or owner in ("opt", "scaler", "engine", "model_engine") or owner.endswith("_opt")


def step_loops(facts: FileFacts) -> list[Loop]:
    """Loops whose own body runs a backward pass, in a function that also updates
    parameters: the innermost training loops.

    A loop that only runs ``backward()`` (gradients of a loss over particles or chunks
    inside a library's loss function, saliency maps) trains nothing by itself; the update
    sits elsewhere, or nowhere. One that a stepping function of the same file calls is a
    gradient-accumulation helper and counts.
    """
    ids = sorted({c.loop for c in facts.calls if c.loop is not None and is_backward(c)})
    updating = _updating_scopes(facts)
    return [facts.loops[i] for i in ids if facts.loops[i].scope in updating]


#: Names too generic to say a call runs a training step, whatever the project defines under them.
NOT_STEP_FUNCTIONS = frozenset({"forward", "__call__", "__init__", "backward", "closure", "main", "run"})
#: Method names that containers, environments and modules have too (``record.update(d)``,
#: ``env.step(action)``, ``model.train()``): a call of one counts as a step function's
#: only on a receiver named for what trains (``algorithm.update(batches)``).
SHARED_METHOD_NAMES = frozenset({"update", "step", "train", "add", "append", "extend", "put", "push", "apply",
                                 "get", "set", "pop", "insert", "fit", "eval", "optimize"})
TRAINER_WORDS = ("model", "net", "agent", "trainer", "learner", "algorithm", "solver", "engine", "runner",
                 "system", "policy", "dqn", "gan", "method")


def _applies_update(call: Call) -> bool:
    return is_optimizer_step(call) or call.method in UPDATE_METHODS or is_scaler_update(call)


def step_functions(project: Project) -> dict[str, bool]:
    """The functions and methods of the project that run one training step (a backward
    pass outside any loop of theirs), by name (the last segment of the qualified name),
    each with whether it applies the update as well: ``FasterRCNNTrainer.train_step``, a
    DQN agent's ``learn``, DomainBed's ``ERM.update``, StyleGAN's
    ``accumulate_gradients`` (whose caller steps). A function that loops over batches
    itself has step loops of its own and is found by ``step_loops``. A function that
    hands its loss to one of these is a step function too (VAR's ``train_step`` calls
    ``self.var_opt.backward_clip_step(loss=loss)``, an AMP wrapper that scales, runs the
    backward pass and steps), followed two calls deep."""

    def compute() -> dict[str, bool]:
        names: dict[str, bool] = {}
        updating = {(facts.path, c.scope) for facts in project.python_files() for c in facts.calls
                    if _applies_update(c)}
        for facts in project.python_files():
            for call in facts.calls:
                name = call.scope.rpartition(".")[2]
                if call.scope and call.loop is None and is_backward(call) and name not in NOT_STEP_FUNCTIONS:
                    names[name] = names.get(name, False) or (facts.path, call.scope) in updating
        for _ in range(2):
            names.update(_loss_handing_functions(project, names, updating))
        return names

    return project.derived("step-functions", None, compute)


def _loss_handing_functions(project: Project, steps: dict[str, bool],
                            updating: set[tuple[str, str]]) -> dict[str, bool]:
    """Functions, not yet known as step functions, that call one outside any loop of
    theirs with arguments (the loss): ``self.var_opt.backward_clip_step(loss=loss)``."""
    found: dict[str, bool] = {}
    for facts in project.python_files():
        for call in facts.calls:
            name = call.scope.rpartition(".")[2]
            if (not call.scope or call.loop is not None or call.method not in steps or not call.args
                    or name in steps or name in NOT_STEP_FUNCTIONS or name == call.method
                    or call.receiver.startswith("?")):
                continue
            if call.method in SHARED_METHOD_NAMES and not _names_a_trainer(call.receiver):
                continue
            found[name] = found.get(name, False) or steps[call.method] or (facts.path, call.scope) in updating
    return found


def delegated_step_loops(project: Project, facts: FileFacts) -> list[Loop]:
    """Loops that train by calling a step function defined elsewhere in the project with a
    batch (``trainer.train_step(img, bbox)``, ``algorithm.update(minibatches)``,
    ``dqn.learn(memory)``, or without arguments on an object named for what trains, as
    the pix2pix family does: ``model.set_input(data); model.optimize_parameters()``)
    rather than running ``backward()`` themselves: the loop that a training script drives
    when its step lives in a trainer or agent class. The callee
    must apply the update itself, or the loop (or one enclosing it) must step an
    optimizer."""
    functions = step_functions(project)
    found: dict[int, Loop] = {}
    for call in facts.calls:
        if call.loop is None or call.method not in functions:
            continue
        if not call.args and not _names_a_trainer(call.receiver):
            continue  # env.reset(), buffer.clear(): a call without the batch needs a trainer-named receiver
        if call.scope.rpartition(".")[2] == call.method:
            continue  # recursion, or a step function calling its parent class's version
        if call.method in SHARED_METHOD_NAMES and not _names_a_trainer(call.receiver):
            continue
        if call.receiver.startswith("?"):
            continue  # super().update(...), a call on an unnamed object: no project function to match
        loop = facts.loops[call.loop]
        outer = outermost(facts, loop)
        if functions[call.method] or any(_applies_update(c) and facts.in_loop(c, outer.id) for c in facts.calls):
            found[loop.id] = loop
    return [found[i] for i in sorted(found)]


def _names_a_trainer(receiver: str) -> bool:
    owner = receiver.rpartition(".")[2].lower()
    return any(word in owner for word in TRAINER_WORDS)


#: Calls that apply gradients besides the ``*step*`` family (``optimizer.step()``,
#: ``scaler.step(opt)``, ``xm.optimizer_step(opt)``, ``optimizer.step_and_update_lr()``).
UPDATE_METHODS = frozenset({"apply_gradients", "minimize"})


def _updating_scopes(facts: FileFacts) -> set[str]:
    """Functions (and their enclosing functions) that apply gradients somewhere in them,
    and the functions of this file they call: ``run_step()`` calls ``forward_backward()``,
    whose loop accumulates gradients over micro-batches, then ``optimize()``."""
    scopes: set[str] = set()
    for call in facts.calls:
        method = call.method.lower()
        if call.method in UPDATE_METHODS or "step" in method or "optim" in method or is_scaler_update(call):
            parts = call.scope.split(".") if call.scope else [""]
            scopes.update(".".join(parts[:n]) for n in range(len(parts) + 1))
    functions = {f.qualname for f in facts.functions}
    optimizers = {c.name for c in facts.classes if any(b.rpartition(".")[2] == "Optimizer" for b in c.bases)}
    helpers = {callee for call in facts.calls if call.scope in scopes and call.scope.split(".")[0] not in optimizers
               for callee in [_local_callee(call, functions)] if callee is not None}
    return scopes | helpers  # an optimizer's step() calling its line search is not training


def _local_callee(call: Call, functions: set[str]) -> str | None:
    """The function of this file a call names: ``helper(...)`` or ``self.helper(...)``."""
    if call.name in functions:
        return call.name
    head, _, rest = call.name.partition(".")
    if head == "self" and rest and "." not in rest and call.scope:
        method = f"{call.scope.split('.')[0]}.{rest}"
        return method if method in functions else None
    return None


def calls_in_loop(facts: FileFacts, loop: Loop, *, direct: bool = False) -> Iterator[Call]:
    """Calls in a loop's body; with ``direct``, not those of nested loops."""
    for call in facts.calls:
        if call.loop is None:
            continue
        if direct:
            if call.loop == loop.id:
                yield call
        elif facts.in_loop(call, loop.id):
            yield call


def outermost(facts: FileFacts, loop: Loop) -> Loop:
    """The outermost loop of the same function that encloses ``loop``."""
    *_, last = facts.loop_chain(loop.id)
    return last


def optimizers_built(facts: FileFacts) -> list[Call]:
    """The ``torch.optim`` optimizers the file builds (not their schedulers)."""
    return [c for c in facts.calls if builds_torch_optim(c) and c.method != "Optimizer"
            and ".lr_scheduler." not in c.name]


def run_chain(facts: FileFacts, loop: Loop) -> list[Loop]:
    """The loop and the enclosing loops of the same training run, innermost first. An
    enclosing loop that builds a ``torch.optim`` optimizer afresh in each iteration,
    around the loops inside, repeats whole runs (trials, seeds, cross-validation folds):
    it, and the loops further out, are no epochs of this run."""
    optimizers = optimizers_built(facts)
    chain = [loop]
    for outer in facts.loop_chain(loop.parent):
        if any(facts.in_loop(c, outer.id) and not facts.in_loop(c, chain[-1].id) for c in optimizers):
            break
        chain.append(outer)
    return chain


def whole_function_run(chain: list[Loop]) -> bool:
    """Does the run ``chain`` reach the function's outermost loop (no loop around it repeats
    runs)? Only then do loops of the function's callers add to the run."""
    return chain[-1].parent is None


#: Words in a file's path or a function's name that mark a benchmark or profiler.
BENCHMARK_WORDS = ("bench", "profil", "performance", "throughput")


def is_benchmark(facts: FileFacts, scope: str) -> bool:
    """Benchmarks and profilers time a few steps on purpose: checkpoints would skew them,
    and a per-step sync is how they take honest timings. A file or function named for
    them says so (``benchmark.py``, ``profile_step``, ``performance.ipynb``, ``throughput``)."""
    where = f"{facts.path} {scope}".lower()
    return any(word in where for word in BENCHMARK_WORDS)


def uses_cuda(facts: FileFacts) -> bool:
    """Does this file put work on a GPU (when one is there)?"""
    if any(s.startswith("cuda") for s in facts.strings):
        return True
    if "torch.cuda.is_available" in facts.names or "torch.cuda.device_count" in facts.names:
        return True
    if any(name.startswith("torch.accelerator.") for name in facts.names):
        return True  # torch.accelerator picks CUDA (or another GPU backend) when present
    return any((c.method == "cuda" and c.receiver) or _asks_for_gpu(c) for c in facts.calls)


def _asks_for_gpu(call: Call) -> bool:
    """``Trainer(accelerator="gpu")`` and the like: a framework told to train on a GPU."""
    accelerator = call.keyword("accelerator")
    return accelerator is not None and accelerator.kind == "literal" and accelerator.literal in ("gpu", "cuda")


def runs_on_cuda(project: Project, facts: FileFacts) -> bool:
    """CUDA use in the file itself or in a project module that imports it."""
    if uses_cuda(facts):
        return True
    return any(uses_cuda(project.files[path]) for path in project.importers.get(facts.module, ()))


def gpu_on_request(project: Project, facts: FileFacts) -> bool:
    """Does the program use the GPU only when asked, by a ``store_true`` flag such as
    ``--cuda`` or ``--accel`` (in this file or a script that imports it)? Then it runs
    on the CPU by default, where GPU advice has nothing to speed up."""
    return any(_opt_in_flag(c) for user in project.with_importers(facts) for c in user.calls)


#: ``store_true`` flags that switch a script from the CPU to the GPU.
GPU_OPT_IN_FLAGS = frozenset({"cuda", "gpu", "accel", "use_cuda", "use_gpu", "use_accel", "enable_cuda"})


def _opt_in_flag(call: Call) -> bool:
    if call.method != "add_argument" or not call.args:
        return False
    flag = call.args[0].value
    action = call.keyword("action")
    if flag.kind != "literal" or not isinstance(flag.literal, str) or action is None or action.literal != "store_true":
        return False
    default = call.keyword("default")
    return flag.literal.lstrip("-").replace("-", "_") in GPU_OPT_IN_FLAGS and (default is None or default.literal is False)


#: Launchers whose own config (``accelerate config``, a DeepSpeed JSON) sets precision.
PRECISION_DELEGATES = frozenset({"accelerate.Accelerator", "deepspeed.initialize", "lightning.Fabric", "lightning.fabric.Fabric"})


def precision_evidence(facts: FileFacts) -> bool:
    """Any sign that this file lowers precision or leaves it to a flag or config."""
    if facts.names & PRECISION_NAMES or facts.names & PRECISION_DELEGATES:
        return True
    if any(s.lower() in PRECISION_STRINGS for s in facts.strings):
        return True
    for name in facts.names:
        owner, _, last = name.rpartition(".")
        if last == "dtype" and owner and owner.rpartition(".")[2].lower() not in CONFIG_OWNERS:
            continue  # ``tobj.dtype`` is a tensor's type, not a precision flag like ``args.dtype``
        if last in PRECISION_FLAGS or "autocast" in last.lower() or "gradscaler" in last.lower():
            return True
    return any(c.method in ("half", "bfloat16", "autocast") or any(a.keyword in QUANTIZED_LOADING for a in c.args)
               or any("autocast" in context.rpartition(".")[2].lower() for context in c.contexts)
               for c in facts.calls)  # ``with amp_autocast:``, a manager the caller chose by a flag


#: ``x.save(...)`` on these is a figure, an image or an animation, not training state.
MEDIA_RECEIVERS = ("anim", "fig", "plt", "img", "image", "frame", "gif", "video", "pil")
MEDIA_LIBRARIES = ("matplotlib.", "PIL.", "imageio.", "plotly.")


def is_save(project: Project, facts: FileFacts, call: Call) -> bool:
    """Does this call persist model or training state?"""
    if call.name in NOT_MODEL_SAVES or _saves_media(facts, call):
        return False
    method = call.method
    if method in SAVE_METHODS or call.name in ("torch.save", "xm.save"):
        return True
    if method == "step" and "checkpointer" in call.receiver.rpartition(".")[2].lower():
        return True  # fvcore/detectron2's PeriodicCheckpointer.step(iteration) saves every period
    if project.resolve_call(facts, call) is None and ("checkpoint" in method.lower() or method.startswith("save_")):
        return True
    return False


def _saves_media(facts: FileFacts, call: Call) -> bool:
    """``anim.save("fit.gif")``, ``fig.save(...)``, ``Image.fromarray(a).save(...)``."""
    if call.method != "save" or not call.receiver:
        return False
    owner = call.receiver.rpartition(".")[2].lower()
    if owner.startswith(MEDIA_RECEIVERS) or call.receiver.startswith(MEDIA_LIBRARIES):
        return True
    built = resolve_name(facts, call.receiver, call.scope, call.line)
    return built is not None and built.kind == "call" and built.text.startswith(MEDIA_LIBRARIES)


def saves_within(project: Project, facts: FileFacts, calls: list[Call]) -> Call | None:
    """A save among the calls, or inside any project function they reach; None if none."""
    for call in calls:
        if is_save(project, facts, call):
            return call
    for located in project.calls_in_functions(project.reachable(facts, calls)):
        if is_save(project, located.file, located.call):
            return call_reaching(project, facts, calls, located.file) or calls[0]
    return None


def call_reaching(project: Project, facts: FileFacts, calls: list[Call], target: FileFacts) -> Call | None:
    """The first of ``calls`` that resolves into a project function (for anchoring messages)."""
    for call in calls:
        if project.resolve_call(facts, call) is not None:
            return call
    return None


def resolve_name(facts: FileFacts, name: str, scope: str, before_line: int) -> Value | None:
    """The value last assigned to ``name`` in ``scope`` (or at module level) before a line."""
    best = _last_assignment(facts, name, scope, before_line)
    return best.value if best is not None else None


def resolve_with_arguments(facts: FileFacts, name: str, scope: str, before_line: int) -> Value | None:
    """Like ``resolve_name``, with a call's arguments: an assignment keeps only the callee
    (its arguments are in the call's own fact), so they are taken from there."""
    best = _last_assignment(facts, name, scope, before_line)
    if best is None:
        return None
    value = best.value
    if value.kind == "call" and not value.args:
        call = next((c for c in facts.calls if c.target == name and c.line == best.line and c.scope == best.scope
                     and c.name == value.text), None)
        if call is not None:
            return Value("call", text=call.name, args=call.args)
    return value


def _last_assignment(facts: FileFacts, name: str, scope: str, before_line: int) -> Assignment | None:
    """The last assignment before a line in ``scope``, else in the innermost function that
    encloses it (a closure reads its parent's names), else at module level."""
    best = None
    for assignment in facts.assignments:
        if assignment.target != name or assignment.line > before_line:
            continue
        if assignment.scope and assignment.scope != scope and not scope.startswith(assignment.scope + "."):
            continue
        if best is None or (assignment.scope, assignment.line) >= (best.scope, best.line):
            best = assignment
    return best


def literal_or_resolved(facts: FileFacts, value: Value | None, scope: str, line: int) -> Value | None:
    """Follow one level of ``name = <literal>`` so ``param_grid=grid`` finds the grid."""
    if value is not None and value.kind == "name":
        resolved = resolve_name(facts, value.text, scope, line)
        if resolved is not None:
            return resolved
    return value


def project_quantizes(project: Project) -> bool:
    """Does any file of the project quantize or half-cast a model?"""
    prefixes = (
        "torch.ao.quantization", "torch.quantization", "torch.ao.nn.quantized", "torch.nn.quantized",
        "torchao", "onnxruntime.quantization", "optimum", "bitsandbytes", "neural_compressor",
        "tensorflow_model_optimization", "transformers.BitsAndBytesConfig", "torch.qint8",
        "tensorflow.lite.Optimize", "tf.lite.Optimize",
    )
    for facts in project.python_files():
        if any(name.startswith(prefixes) for name in facts.names):
            return True
        for call in facts.calls:
            if call.method in ("half", "bfloat16", "quantize_dynamic", "quantize", "prepare_qat", "convert_fx"):
                return True
            if any(a.keyword in ("load_in_8bit", "load_in_4bit", "quantization_config") for a in call.args):
                return True
            if _casts_to_half(call):
                return True
    return False


#: What a project imports when Hugging Face's Trainer (or TRL's, built on it) reads its
#: training-arguments files: the trainers and their argument classes (TRL's ``SFTConfig``,
#: ``DPOConfig``...). ``HfArgumentParser`` alone is not one: it fills a project's own
#: dataclasses as well.
HF_TRAINER_IMPORT = re.compile(r"^(?:(?:transformers|trl)(?:\.\w+)*\.(?:\w*Trainer|\w*TrainingArguments)|trl(?:\.\w+)*\.\w+Config)$")


def feeds_hf_trainer(project: Project) -> bool:
    """Could the project's training-arguments files be read by Hugging Face's Trainer?

    Yes when a Python file imports a Trainer, its arguments or a parser for them, and when
    the project has no Python to tell (a folder of recipes checked alone). A project of
    Accelerate scripts with a parser of its own (``num_train_epochs`` and ``output_dir``
    are common names) reads the same keys, and its precision comes from
    ``accelerate launch --mixed_precision``, which no config file of it shows. Asked for
    each training-arguments file, answered once per project."""
    def compute() -> bool:
        files = list(project.python_files())
        return not files or any(HF_TRAINER_IMPORT.match(name) for facts in files for name in facts.imports.values())

    return project.derived("feeds the Hugging Face Trainer", None, compute)


HALF_DTYPES = frozenset({"torch.float16", "torch.half", "torch.bfloat16", "float16", "bfloat16"})


def _casts_to_half(call: Call) -> bool:
    """``model.to(torch.float16)`` or ``from_pretrained(..., torch_dtype=torch.bfloat16)``."""
    for arg in call.args:
        if call.method == "to" or arg.keyword in ("torch_dtype", "dtype"):
            value = arg.value
            if value.text in HALF_DTYPES or (value.kind == "literal" and value.literal in HALF_DTYPES):
                if call.method == "to" or arg.keyword == "torch_dtype" or "pretrained" in call.method:
                    return True
    return False


# -- models, training loops and values, for rules that follow data into a model --------

#: Bases that make a class a torch module (the last segment is compared).
MODULE_BASES = frozenset({"Module", "LightningModule", "PreTrainedModel", "ModelMixin"})
#: Variable names that hold a model (``model(x)`` runs its forward pass).
MODEL_NAMES = frozenset(
    {"model", "net", "module", "network", "classifier", "encoder", "decoder", "generator", "discriminator",
     "backbone", "vae", "unet", "policy", "critic", "actor", "teacher", "student", "ema_model", "netg", "netd"}
)
#: Prefixes of function names about a model rather than the model itself (``get_model()``).
MODEL_VERBS = ("get_", "evaluate", "eval_", "load", "build", "create", "make", "run_", "train", "test_", "save",
               "init", "setup", "prepare")
#: Callables whose result is a model or a layer.
MODEL_BUILDERS = ("torchvision.models.", "timm.create_model", "torch.nn.")
NOT_MODEL_BUILDERS = ("Tokenizer", "Processor", "Config", "FeatureExtractor", "torch.nn.functional.", "torch.nn.init.",
                      "torch.nn.utils.", "torch.nn.Parameter")


def module_classes(project: Project) -> frozenset[str]:
    """Names of the project's classes that are torch modules, directly or through project bases."""
    bases: dict[str, set[str]] = {}
    for facts in project.python_files():
        for cls in facts.classes:
            bases.setdefault(cls.name, set()).update(base.rpartition(".")[2] for base in cls.bases)
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, own in bases.items():
            if name not in found and own & (MODULE_BASES | found):
                found.add(name)
                changed = True
    return frozenset(found)


def builds_model(callee: str, modules: frozenset[str]) -> bool:
    """Does a call of ``callee`` construct a model or layer (``nn.Linear``, a project module)?"""
    if any(part in callee for part in NOT_MODEL_BUILDERS):
        return False
    last = callee.rpartition(".")[2]
    if last in modules or callee.endswith("from_pretrained") or callee.startswith(MODEL_BUILDERS[:2]):
        return True
    return callee.startswith("torch.nn.") and last[:1].isupper()


def model_holders(facts: FileFacts, modules: frozenset[str]) -> frozenset[str]:
    """Names this file binds to a freshly built model or layer (``self.lstm = nn.LSTM(...)``)."""
    return frozenset(
        a.target for a in facts.assignments if a.value.kind == "call" and builds_model(a.value.text, modules)
    )


def holds_model(facts: FileFacts, name: str, modules: frozenset[str], holders: frozenset[str] | None = None) -> bool:
    """Is ``name`` (``model``, ``self.encoder``) a model or layer in this file?

    Pass ``holders`` (from ``model_holders``) when asking about many names of one file.
    """
    last = name.rpartition(".")[2]
    if name.removeprefix("self.").count(".") == 0 and not last.lower().startswith(MODEL_VERBS):
        lowered = last.lower()
        if lowered in MODEL_NAMES or lowered.endswith(("model", "_net")):
            return True
    return name in (holders if holders is not None else model_holders(facts, modules))


def is_model_call(facts: FileFacts, call: Call, modules: frozenset[str], holders: frozenset[str] | None = None) -> bool:
    """``model(x)``, ``self.lstm(x, state)``: a call that runs a model or layer forward."""
    name = call.name
    if not name or name.startswith("?"):
        return False
    if builds_model(name, modules) and name.rpartition(".")[2] not in modules:
        return False  # ``nn.Linear(4, 2)`` builds a layer; it does not run one
    return holds_model(facts, name, modules, holders)


def training_loops(facts: FileFacts) -> dict[int, Loop]:
    """Step loops and every loop that encloses one (epoch loops): loop id -> loop."""
    found: dict[int, Loop] = {}
    for loop in step_loops(facts):
        for enclosing in facts.loop_chain(loop.id):
            found[enclosing.id] = enclosing
    return found


def argument_default(facts: FileFacts, value: Value | None) -> Value | None:
    """``args.epochs`` -> the literal default of ``add_argument("--epochs", default=...)``."""
    if value is None or value.kind != "attribute" or value.text.count(".") != 1:
        return None
    attr = value.text.rpartition(".")[2]
    for call in facts.calls:
        if call.method != "add_argument":
            continue
        dest = call.keyword("dest")
        names = [a.value.literal for a in call.args if a.keyword is None and a.value.kind == "literal"]
        spelled = {str(n).lstrip("-").replace("-", "_") for n in names if isinstance(n, str)}
        if (dest is not None and dest.literal == attr) or (dest is None and attr in spelled):
            default = call.keyword("default")
            return default if default is not None and default.kind == "literal" else None
    return None


#: Libraries whose numerics depend on float32 or wider: Gaussian-process Cholesky solves,
#: stochastic variational inference, adaptive ODE/SDE solvers, differentiable optimisation
#: layers (Theseus's Gauss-Newton and Levenberg-Marquardt solves, qpth and cvxpylayers'
#: quadratic and convex programs). Their authors choose the precision on purpose; half
#: precision breaks them.
PRECISION_SENSITIVE_LIBRARIES = ("gpytorch", "botorch", "pyro", "torchdiffeq", "torchsde", "theseus", "qpth", "cvxpylayers")


def precision_sensitive(facts: FileFacts) -> bool:
    """Does the file use a library whose numerics need float32 or wider?"""
    return any(root in facts.imported_roots for root in PRECISION_SENSITIVE_LIBRARIES)


def largest_number(facts: FileFacts, value: Value | None, scope: str, line: int, depth: int = 0) -> int | float | None:
    """The number a value holds, through constants and argparse defaults; of a conditional
    (``2 if smoke_test else 50``) the larger branch, since a switch that shortens a run is
    for tests and the long branch is the real one. ``n = 2 if smoke_test else n`` names
    itself: the depth bound ends that."""
    value = literal_or_resolved(facts, value, scope, line)
    if value is not None and value.kind == "choice":
        if depth > 4:
            return None
        branches = [largest_number(facts, item, scope, line, depth + 1) for item in value.items]
        return max(branches) if all(b is not None for b in branches) else None  # type: ignore[type-var]
    literal = resolved_literal(facts, value, scope, line)
    if literal is None or isinstance(literal.literal, bool) or not isinstance(literal.literal, (int, float)):
        return None
    return literal.literal


def resolved_literal(facts: FileFacts, value: Value | None, scope: str, line: int) -> Value | None:
    """A literal behind a value: itself, a constant it names, or an argparse default."""
    value = literal_or_resolved(facts, value, scope, line)
    if value is not None and value.kind == "literal":
        return value
    return argument_default(facts, value)


def fits_gaussian_process(facts: FileFacts, loop: Loop) -> bool:
    """Does the loop minimise a gpytorch marginal log-likelihood (``loss = -mll(output, y)``)?

    Gaussian-process training fits a few kernel hyperparameters (and inducing points) on
    data that fits in memory: minutes, whatever the loop looks like.
    """
    objectives = {c.target for c in facts.calls if c.target and c.name.startswith("gpytorch.mlls.")}
    if objectives and any(c.name in objectives for c in calls_in_loop(facts, loop)):
        return True
    # Pyro's GP module: loss = loss_fn(gpr.model, gpr.guide) for gpr = gp.models.GPRegression(...)
    models = {c.target for c in facts.calls if c.target and c.name.startswith("pyro.contrib.gp.models.")}
    return bool(models) and any(a.value.text.split(".")[0] in models for c in calls_in_loop(facts, loop)
                                for a in c.args)


#: Calls that start a framework's training run.
TRAINING_RUNS = frozenset({"train", "fit"})


def replaced_before_training(facts: FileFacts, call: Call) -> bool:
    """Is this call's result (``args = TrainingArguments(...)``) assigned anew by the same
    call in the same scope before any training run starts? A notebook that builds its
    arguments twice trains with the second only; the first never runs."""
    if call.target is None:
        return False
    later = [c.line for c in facts.calls if c.scope == call.scope and c.target == call.target
             and c.method == call.method and c.line > call.line]
    if not later:
        return False
    return not any(c.scope == call.scope and c.method in TRAINING_RUNS and call.line < c.line < min(later)
                   for c in facts.calls)


#: A test that a call runs only when it fails: ``not (args.evaluate)``.
_NEGATED_FLAG = re.compile(r"^not \((?:\w+\.)*(\w+)\)$")


def never_runs(project: Project, facts: FileFacts, loop: Loop) -> bool:
    """Is the loop unreachable behind a switch that is always on? A ``store_true`` flag
    whose default is ``True`` can never be off, so code after ``if args.evaluate: ...;
    return`` never runs: every backward pass of the loop, or every call of its function,
    sits behind that exit."""
    switches = project.derived("always-on switches", None, lambda: _always_on_switches(project))
    if not switches:
        return False

    def dead(call: Call) -> bool:
        return any((m := _NEGATED_FLAG.match(c)) is not None and m.group(1) in switches for c in call.conditions)

    backward = [c for c in calls_in_loop(facts, loop) if is_backward(c)]
    if backward and all(dead(c) for c in backward):
        return True
    sites = project.call_sites.get(function_key(facts.module, loop.scope), []) if loop.scope else []
    return bool(sites) and all(dead(site.call) for site in sites)


def _always_on_switches(project: Project) -> frozenset[str]:
    """``store_true`` flags of the project's parsers that default to ``True``."""
    names: set[str] = set()
    for call in store_true_arguments(project):
        default = call.keyword("default")
        if default is None or default.literal is not True:
            continue
        dest = call.keyword("dest")
        if dest is not None and isinstance(dest.literal, str):
            names.add(dest.literal)
        names.update(option_names(call))
    return frozenset(names)


def store_true_arguments(project: Project) -> Iterator[Call]:
    """The project's ``parser.add_argument(..., action="store_true")`` calls: switches,
    whose default says what a run without them does."""
    for facts in project.python_files():
        for call in facts.calls:
            action = call.keyword("action")
            if call.method == "add_argument" and action is not None and action.literal == "store_true":
                yield call


def option_names(call: Call) -> Iterator[str]:
    """The attribute names an ``add_argument`` call's long options give: ``--use-multi-gpu``
    is ``use_multi_gpu``."""
    for arg in call.args:
        if arg.keyword is None and isinstance(arg.value.literal, str) and arg.value.literal.startswith("--"):
            yield arg.value.literal.lstrip("-").replace("-", "_")
