"""GL503 grad-in-inference: evaluation and prediction that still record gradients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from greenlint.analyzer import long_run, ml, small_data
from greenlint.analyzer.cost.published import NOT_MODELS
from greenlint.analyzer.facts import Call, FileFacts, Loop, Value
from greenlint.analyzer.project import Project, function_key
from greenlint.findings import Confidence, Finding, Saving
from greenlint.rules.base import Rule

SAVING = Saving(
    text="without autograd bookkeeping, inference keeps no activations for backward: less memory traffic, "
    "larger batches and faster forward passes",
    source="PyTorch documentation, torch.inference_mode / torch.no_grad (Autograd mechanics: locally disabling gradient computation)",
)
EVAL_NAME = re.compile(
    r"(^|_)(eval|evaluate|evaluation|valid|validate|validation|val|test|predict|prediction|predictions|"
    r"inference|infer|score|benchmark_accuracy)(_|$)"
)
#: Paths of demo and visualisation code (``demo/``, ``visualization/``, ``tools/visualize.py``):
#: it runs now and then, on a few clips or images, and its memory is rarely what limits it.
DEMO_PATH = re.compile(r"(?i)(?:^|[/_])(?:demos?|visuali[sz](?:ation|e|er)s?|vis|viz)(?:$|[/_.])")
#: Lightning runs these under no_grad itself.
FRAMEWORK_STEPS = frozenset({"validation_step", "test_step", "predict_step", "on_validation_epoch_end"})
#: A module's own forward runs inside training as well: its caller decides the grad mode.
MODULE_CALLS = frozenset({"forward", "__call__"})
NO_GRAD = ("no_grad", "inference_mode", "set_grad_enabled")
#: Loaded objects whose ``__call__`` runs under ``torch.no_grad()`` itself: diffusers'
#: pipelines (``DiffusionPipeline.from_pretrained(...)``, ``StableDiffusionPipeline``).
NO_GRAD_WRAPPERS = ("Pipeline",)
VERBS = ("get_", "evaluate", "eval_", "load", "build", "create", "make", "run_", "train", "test_", "save", "init", "setup", "prepare")
MODEL_NAMES = frozenset(
    {"model", "net", "module", "network", "classifier", "encoder", "decoder", "generator", "discriminator",
     "backbone", "vae", "unet", "policy", "critic", "actor", "teacher", "student", "ema_model", "netg", "netd"}
)


#: Libraries whose models run in JAX: a file importing them may take torch for its data
#: loader only, and a JAX forward pass records no graph outside ``jax.grad``.
JAX_LIBRARIES = frozenset({"jax", "flax"})


class GradInInference(Rule):
    """
    ## What it does
    Finds evaluation, validation, test and prediction code that runs a PyTorch model
    forward with gradients enabled: a function named like `evaluate`, `validate`, `test`
    or `predict` (or any code that calls `model.eval()` and never `backward()`), whose
    model call runs many times (in a loop over data, or in a function called from a loop,
    such as `evaluate()` every epoch) with no `torch.no_grad()`, `torch.inference_mode()`,
    `@torch.no_grad()` decorator, `torch.set_grad_enabled(False)` or
    `stack.enter_context(torch.no_grad())` in force (nor an input wrapped as
    `Variable(x, volatile=True)`, PyTorch 0.3's way of saying no_grad), also counting one established by a
    caller in another module, or by a base class that calls the method a subclass
    defines (`self.evaluate_mt(...)` inside `torch.no_grad()`). A single forward on one
    input (a demo prediction of one sentence or image, a shape check, a warm-up call on
    `torch.zeros(...)` before the real pass, also one bound to a name first, as in
    `x = torch.randn(1, 3, 224, 224)` to check a converted checkpoint) is not flagged: its
    graph costs nothing to speak of. Nor is a loop that builds the model it runs on each
    pass (`for name, bw in product(models, bandwidths): model = models[name]()`): it goes
    over models or settings, one input each. Nor is a sampler's pass over the prompt it was given
    (`for ch in prime`, `range(len(starting_str) - 1)`, `range(len(prime_str) - 1)`): priming the hidden state with a
    dozen characters is one short input, not a pass over data. So is a loop over an input
    written in the code (`for c in range(len(target))` after `target = str2tensor("pytorch")`). Lightning's `validation_step`/`test_step`/`predict_step`
    and Hugging Face `generate()` disable gradients themselves and are not flagged, nor
    are diffusers pipelines loaded with `from_pretrained` (their `__call__` runs under
    `torch.no_grad()`); nor is
    a module's own `forward` (it runs during training too, so its caller sets the mode)
    or a method that `forward` calls, directly or through other methods
    (`self._infer_input_ids(sample)`, "infer" as in deduce),
    nor a call of a class (`Classifier(num_classes=10)` builds a model, it runs nothing),
    nor a callee the code shows is no module: a function the file defines
    (`def query_model(prompt)` posts to a served model over HTTP), a processor or
    tokenizer instance (`encoder = FrameEncoderProcessorStep(...)`), a method looked up
    by name (`decoder = getattr(policy, "decode_latents", None)`). Files that import JAX
    or Flax are left alone: their models run in JAX (torch there feeds the data loader),
    and a JAX forward pass records no graph unless `jax.grad` asks for one.
    Nor is a function that freezes the model's parameters first
    (`model.requires_grad_(False)`, or `v.requires_grad = False` for each of
    `model.named_parameters()`): with nothing needing a gradient autograd records nothing.
    Nor is evaluation that differentiates with respect to its inputs
    (`torch.autograd.grad(cost, adv_images)`): an adversarial
    attack or a saliency map needs the graph it builds.
    Demo and visualisation code (`demo/`, `visualization/`, `tools/visualize.py`) is
    reported at low confidence: it runs now and then on a few clips or images.
    Files that train and evaluate only on small bundled data sets (torchvision's MNIST
    family, scikit-learn's and Keras' toy sets, data files kept in the repository of at
    most 1 MB in all) are not reported: their evaluation takes
    seconds, with or without the graph.

    An evaluation that is part of a training program (the file, or a script that
    imports it, runs training steps) runs once an epoch on a validation split and saves
    what the run is long: like the other speed rules it is reported at the rule's
    confidence only where the code shows a long run by a fact (a recorded duration,
    50,000 iterations) or two agreeing signs (`(long run: 300 epochs, the imagenet data
    set)`: epochs, a large data set, checkpoint or model), and at low confidence otherwise.
    So is an evaluation in a notebook, which runs when the notebook is run, not on every
    request. Inference and serving code is reported as it is: it pays on every call.

    ## Why it costs energy
    With gradients enabled autograd keeps every intermediate activation alive for a
    backward pass that never comes. Evaluation then moves more memory, fits smaller
    batches and runs slower on the same hardware, every epoch and on every request.

    ## Example
    ```python
    def evaluate(model, loader):
        model.eval()
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum()
    ```

    ## Use instead
    ```python
    @torch.inference_mode()
    def evaluate(model, loader):
        model.eval()
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum()
    ```
    `model.eval()` only switches dropout and batch norm to inference behaviour; it does
    not turn off gradient tracking.

    ## Evidence
    PyTorch documentation on locally disabling gradient computation (`no_grad`,
    `inference_mode`). Tactics T27 (minimize referencing to data) and T20 (design for
    memory constraints) of Järvenpää et al., ICSE-SEIS 2024, doi:10.1145/3639475.3640111.
    """

    code = "GL503"
    name = "grad-in-inference"
    summary = "Model evaluated or served with gradients enabled"
    tactics = ("T27", "T20")
    confidence = Confidence.HIGH

    def check(self, project: Project) -> Iterator[Finding]:
        for facts in project.python_files():
            if "torch" not in facts.imported_roots or facts.imported_roots & JAX_LIBRARIES:
                continue  # JAX records no graph unless asked: a Flax eval step keeps nothing
            small: bool | None = None  # asked once per file, and only if a scope qualifies
            scopes: dict[str, list[Call]] = {}
            for call in facts.calls:
                scopes.setdefault(call.scope, []).append(call)
            for scope, calls in scopes.items():
                if not self._is_inference_scope(scope, calls) or _part_of_forward(scopes, scope):
                    continue
                if self._grad_disabled(project, facts, scope, calls):
                    continue
                repeated = self._called_in_a_data_loop(project, facts, scope)
                forward = next(
                    (c for c in calls if _is_forward(facts, c) and not _under_no_grad(c) and not _dummy_input(facts, c)
                     and (repeated or _in_data_loop(facts, c.loop, c.name))),
                    None,
                )
                if forward is None:
                    continue  # one input, or one generated token at a time: its graph costs nothing to speak of
                if small is None:
                    small = small_data.trains_on_small_data(project, facts)
                if small:
                    break  # evaluating on an MNIST-sized set takes seconds whatever autograd records
                where = f"{scope.rpartition('.')[2]}()" if scope else "this script"
                message = (
                    f"{where} runs {forward.name}(...) for inference with gradients enabled: autograd keeps "
                    "every activation for a backward pass that never comes"
                )
                fix = "wrap the evaluation in torch.inference_mode() (or torch.no_grad()), or decorate the function with it"
                finding = self.finding(facts.path, forward.line, forward.column, message, fix, SAVING)
                if DEMO_PATH.search(facts.path):  # run now and then, on a few clips or images
                    finding = replace(finding, confidence=Confidence.LOW,
                                      message=f"{message} (demo or visualisation code)")
                elif facts.is_notebook or _beside_training(project, facts):
                    # a validation pass per epoch, or a notebook's pass run when the notebook is: worth what the run is long
                    finding = long_run.graded(finding, long_run.evidence(project, facts, corroborated=True))
                yield finding

    def _is_inference_scope(self, scope: str, calls: list[Call]) -> bool:
        name = scope.rpartition(".")[2].lower()
        if name in FRAMEWORK_STEPS or name in MODULE_CALLS:
            return False
        if any(ml.is_backward(c) or ml.is_optimizer_step(c) for c in calls):
            return False
        if any(_takes_input_gradients(c) for c in calls):
            return False  # an adversarial attack or a saliency map needs the graph it builds
        if any(c.method == "train" and not c.args for c in calls):
            return False
        if EVAL_NAME.search(name):
            return True
        return any(c.method == "eval" and not c.args and c.receiver for c in calls)

    def _called_in_a_data_loop(self, project: Project, facts: FileFacts, scope: str) -> bool:
        """Is this function run over data: called from a loop over batches or examples
        (``predict(batch)`` for each batch of a loader)? A call per epoch or per
        generated character runs it on one input at a time."""
        if not scope:
            return False
        return any(_in_data_loop(site.file, site.call.loop) for site in project.call_sites.get(function_key(facts.module, scope), ()))

    def _grad_disabled(self, project: Project, facts: FileFacts, scope: str, calls: list[Call]) -> bool:
        """No-grad set up another way: a statement, frozen parameters (``requires_grad_(False)``,
        or ``requires_grad = False`` for each of ``model.parameters()``), an ``ExitStack`` that
        enters it, an input wrapped as ``Variable(x, volatile=True)`` (how PyTorch before 0.4
        said no_grad), or a caller (also a base class calling ``self.evaluate_mt()``, which
        a subclass defines, inside ``torch.no_grad()``)."""
        for call in calls:
            if call.method == "set_grad_enabled" and call.positional(0) is not None and call.positional(0).literal is False:
                return True
            if call.method == "requires_grad_":
                return True  # frozen parameters: nothing to record
            volatile = call.keyword("volatile") if call.method == "Variable" else None
            if volatile is not None and volatile.literal is True:
                return True  # PyTorch before 0.4: a volatile input builds no graph downstream
            if call.method == "enter_context" and call.args and any(
                    marker in call.args[0].value.text for marker in NO_GRAD):
                return True  # stack.enter_context(torch.no_grad()): an ExitStack holds it for the scope
        if _parameters_frozen(facts, scope):
            return True
        if not scope:
            return False
        sites = project.call_sites.get(function_key(facts.module, scope), ())
        if not sites and "." in scope:  # a subclass's method, called as self.method() from its base class
            method = scope.rpartition(".")[2]
            return any(_under_no_grad(c) for c in facts.calls if c.name == f"self.{method}" and c.scope != scope)
        return any(_under_no_grad(site.call) or self._caller_disabled(project, site.file, site.call) for site in sites)

    def _caller_disabled(self, project: Project, facts: FileFacts, call: Call) -> bool:
        """One level further up: the caller is itself always called without gradients."""
        if not call.scope:
            return False
        return any(_under_no_grad(site.call) for site in project.call_sites.get(function_key(facts.module, call.scope), ()))


#: A ``range`` over a collection's size indexes data: ``range(0, len(dataset), batch_size)``.
SIZED_RANGE = re.compile(r"len\(|\.shape|\.size\(|num_batches|n_batches|batches")
#: A loop over a count, also through ``enumerate`` or a progress bar: ``tqdm(range(n))``.
COUNTED_RANGE = re.compile(r"^(?:enumerate\()?(?:tqdm\.)?(?:tqdm\()?(?:trange|range)\(")
#: Parameter names of a generator's prompt: the text a sampler primes its hidden state with.
PROMPT_PARAMETER = re.compile(
    r"(?i)^(?:(?:prime|primer|prompt|prefix)(?:_?(?:str|string|text|seq|chars|tokens|ids|words))?"
    r"|(?:seed|start|starting|init|initial)_?(?:str|string|text|seq|chars|tokens|ids|words))$")
#: What a loop over a prompt may wrap it in: ``enumerate(prime)``, ``range(len(prompt) - 1)``.
PROMPT_WRAPPERS = frozenset({"range", "len", "enumerate", "list", "reversed"})


def _parameters_frozen(facts: FileFacts, scope: str) -> bool:
    """``for k, v in model.named_parameters(): v.requires_grad = False`` in the function:
    with no parameter needing a gradient, and inputs that need none either, autograd
    records nothing."""
    for a in facts.assignments:
        if a.scope == scope and a.loop is not None and a.target.endswith(".requires_grad") \
                and a.value.kind == "literal" and a.value.literal is False:
            shape = facts.loops[a.loop].iter_shape
            if ".parameters()" in shape or ".named_parameters()" in shape:
                return True
    return False


def _part_of_forward(scopes: dict[str, list[Call]], scope: str) -> bool:
    """Is the function a method that its class's own ``forward`` calls, directly or
    through other methods (``forward`` -> ``self.preprocess_sample`` ->
    ``self._infer_input_ids``)? It is then a step of the forward pass, in training as in
    evaluation, whatever its name says ("infer" as in deduce)."""
    owner, _, method = scope.rpartition(".")
    if not owner:
        return False
    reached, frontier = {"forward"}, ["forward"]
    while frontier:
        called = {c.name[5:] for c in scopes.get(f"{owner}.{frontier.pop()}", ()) if c.name.startswith("self.")}
        frontier.extend(called - reached)
        reached |= called
    return method in reached and method != "forward"


def _in_data_loop(facts: FileFacts, loop_id: int | None, model: str = "") -> bool:
    """Is a loop, or one enclosing it, a pass over data: a ``for`` over a loader, a
    dataset or a list of batches, or a ``range`` over a collection's size? A ``range`` of
    a count (``range(len_generated_text)``, ``range(epochs)``) or a ``while`` loop
    repeats a step (one generated token, one epoch), not a pass over data. Nor does a
    loop that builds the ``model`` it runs anew on each pass (``for name, bw in
    product(models, bandwidths): model = models[name]()``): it goes over models or
    settings, one check each."""
    rebuilt = {a.loop for a in facts.assignments if model and a.target == model and a.loop is not None}
    while loop_id is not None:
        loop = facts.loops[loop_id]
        if loop.kind == "for" and not _over_prompt(facts, loop) and loop_id not in rebuilt:
            if not COUNTED_RANGE.match(loop.iter_shape) or SIZED_RANGE.search(loop.iter_shape):
                return True
        loop_id = loop.parent
    return False


def _over_prompt(facts: FileFacts, loop: Loop) -> bool:
    """Is the loop a pass over the prompt that its function was given (``for ch in prime``,
    ``range(len(starting_str) - 1)``)? A sampler primes its hidden state with the few
    characters or tokens of a prompt before generating: one short input, not data."""
    params = next((f.params for f in facts.functions if f.qualname == loop.scope), ())
    if loop.iter is None:
        return False
    spelled = {v.text for v in loop.iter.walk() if v.kind == "name"} | set(re.findall(r"(?<![\w.])[A-Za-z_]\w*", loop.iter_shape))
    names = spelled - PROMPT_WRAPPERS
    return bool(names) and all((name in params and PROMPT_PARAMETER.match(name)) or _written_input(facts, name, loop)
                               for name in names)


def _written_input(facts: FileFacts, name: str, loop: Loop) -> bool:
    """Is the name bound, in the loop's function, only to an input written in the code:
    a call whose arguments are all literals (``word_target = str2tensor("pytorch")``)?"""
    bound = [a.value for a in facts.assignments if a.target == name and a.scope == loop.scope]
    return bool(bound) and all(v.kind == "call" and v.args and all(a.value.kind == "literal" for a in v.args)
                               for v in bound)


#: A tensor made up on the spot: ``model(torch.zeros(1, 3, 640, 640))`` warms the model
#: up or checks shapes once before the real pass.
DUMMY_INPUT = re.compile(r"^torch\.(?:zeros|ones|empty|full|rand|randn|randint)(?:_like)?\(")


def _dummy_input(facts: FileFacts, call: Call) -> bool:
    """Is the forward's input a tensor made up on the spot (a warm-up, a shape check)?
    The input expression is the calls that start first after the forward's own start on
    its line (``torch.zeros(...).to(device)`` is three calls, all starting there). A name
    the function binds only to such a tensor (``x = torch.randn(1, 3, 224, 224)``, then
    ``our_model(x)`` to check a converted checkpoint) is one too."""
    first = call.positional(0)
    if first is not None and first.kind == "name":
        bound = [a.value for a in facts.assignments if a.target == first.text and a.scope == call.scope]
        return bool(bound) and all(v.kind == "call" and DUMMY_INPUT.match(f"{v.text}(") for v in bound)
    if first is None or first.kind != "call":
        return False
    inner = [c for c in facts.calls if c.line == call.line and c.column > call.column]
    start = min((c.column for c in inner), default=None)
    return any(c.column == start and DUMMY_INPUT.match(f"{c.name}(") for c in inner)


def _under_no_grad(call: Call) -> bool:
    """A no-grad manager or decorator in force, also a project's own wrapper of one."""
    return any(marker in context.rpartition(".")[2] for context in call.contexts for marker in NO_GRAD)


def _is_forward(facts: FileFacts, call: Call) -> bool:
    """``model(x)``, ``self.net(x)``: calling a module runs its forward pass."""
    name = call.name
    if not name or name.startswith("?") or "." in name.removeprefix("self."):
        return False
    spelled = name.rpartition(".")[2]
    if spelled[:1].isupper():
        return False  # PyTorchModel(num_classes=10): calling a class builds a model, it runs nothing
    last = spelled.lower()
    if last.startswith(VERBS):
        return False  # evaluate_model(), get_base_model(): functions about a model, not the model
    if _not_a_module(facts, call):
        return False
    if last in MODEL_NAMES or last.endswith(("model", "_net")):
        return True
    return any(
        a.target == name and a.value.kind == "call" and a.value.text.endswith("from_pretrained")
        and not any(kind in a.value.text for kind in (*NOT_MODELS, *NO_GRAD_WRAPPERS)) and not _frozen_embedding(a.value)
        for a in facts.assignments
    )


def _frozen_embedding(value: Value) -> bool:
    """``nn.Embedding.from_pretrained(vectors)``: a lookup table frozen by default
    (``freeze=True``), whose lookups record no graph."""
    if not value.text.endswith(("Embedding.from_pretrained", "EmbeddingBag.from_pretrained")):
        return False
    return not any(arg.keyword == "freeze" and arg.value.kind == "literal" and arg.value.literal is False
                   for arg in value.args)


def _not_a_module(facts: FileFacts, call: Call) -> bool:
    """Is the callee known to be something other than a module: a function the file
    defines (``def query_model(prompt)`` posts to a served model over HTTP), or a name
    bound in the caller's scope to a processor or tokenizer instance
    (``encoder = ImageEncoderProcessorStep(...)`` resizes and tokenizes) or to a method
    looked up by name (``decoder = getattr(policy, "decode_latents", None)``)?"""
    if any(f.qualname == call.name for f in facts.functions):
        return True
    bound = [a.value for a in facts.assignments if a.target == call.name and a.scope == call.scope]
    return bool(bound) and all(_not_a_module_value(value) for value in bound)


def _not_a_module_value(value: Value) -> bool:
    if value.kind == "choice":
        return all(_not_a_module_value(item) for item in value.items)
    if value.kind != "call":
        return False
    return value.text == "getattr" or any(kind in value.text.rpartition(".")[2] for kind in NOT_MODELS)


def _beside_training(project: Project, facts: FileFacts) -> bool:
    """Is the evaluation part of a training program: does this file, or a script that
    imports it, run training steps? Then it runs once an epoch on a validation split,
    and saves what the run is long; an inference or serving script saves on every call."""
    return any(ml.step_loops(user) or ml.delegated_step_loops(project, user) for user in project.with_importers(facts))


def _takes_input_gradients(call: Call) -> bool:
    """``torch.autograd.grad(loss, images)``: evaluation under attack (PGD, FGSM) or
    attribution differentiates with respect to its inputs."""
    return call.name in ("torch.autograd.grad", "autograd.grad")
