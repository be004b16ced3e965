"""GL203 reimplemented-builtin: hand-written tensor maths where a fused library kernel exists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from greenlint.analyzer import ml, purpose
from greenlint.analyzer.facts import Call, FileFacts, Loop, Operation, Value
from greenlint.analyzer.project import Project
from greenlint.findings import Confidence, Finding, Saving
from greenlint.rules.base import Rule

SOURCE = "PyTorch documentation: torch.nn.functional.scaled_dot_product_attention, softmax, layer_norm, gelu; Dao et al., FlashAttention, NeurIPS 2022"
#: A condition that chooses between the fused operation and a fallback.
FEATURE_CHECK = re.compile(
    r"hasattr|flash|sdpa|scaled_dot_product|fused|xformers|mem_efficient|memory_efficient|version|"
    r"output_attentions|need_weights|return_attn|attn_weights|attention_weights|onnx|tracing|scripting|jit",
    re.IGNORECASE,
)
#: A condition naming the fused kernel itself: a function that branches on it before its
#: hand-written attention (``if self.flash: return ...``) keeps that attention as the fallback.
FUSED_FLAG = re.compile(r"flash|sdpa|scaled_dot_product|fused|xformers|mem_efficient|memory_efficient", re.IGNORECASE)
FUSED_ATTENTION = ("scaled_dot_product_attention", "flash_attn", "xformers", "memory_efficient_attention")
SOFTMAX_CALLS = frozenset({"torch.softmax", "torch.nn.functional.softmax", "torch.special.softmax"})
#: Array libraries other than torch, as a name prefix inside operand code.
NOT_TORCH = re.compile(r"(?<![\w.])(?:numpy|np|jax|jnp|tensorflow|tf|scipy|cupy|mlx)\.")
#: Calls a per-element loop may make and still be plain arithmetic a vectorised op replaces.
ELEMENT_METHODS = frozenset(
    {"item", "append", "sum", "mean", "max", "min", "exp", "log", "sqrt", "abs", "pow", "dot", "norm", "clamp",
     "float", "long", "int", "tolist", "sigmoid", "tanh", "relu", "size", "numel", "dim"}
)
ELEMENT_BUILTINS = frozenset({"float", "int", "abs", "min", "max", "round", "sum", "len", "range", "pow"})
NOT_ELEMENT_TORCH = ("torch.save", "torch.load", "torch.cuda", "torch.distributed", "torch.nn.", "torch.utils", "torch.optim")
PASS_THROUGH = frozenset({"masked_fill", "masked_fill_", "to", "type", "type_as", "float", "half", "bfloat16", "contiguous"})
INDEX_PART = re.compile(r"^(?:[A-Za-z_]\w*|:|\.\.\.|-?\d+|None)$")
RANGE_OVER_DIM = re.compile(r"^range\((?:0, )?([\w.]+)(?:\.shape\[-?\d+\]|\.size\(-?\d+\)|\.size\(\)\[-?\d+\])\)$")


@dataclass(frozen=True)
class _Pattern:
    line: int
    column: int
    message: str
    fix: str
    saving: Saving
    scope: str = ""
    #: Purely elementwise maths (GELU), which a JIT compiler fuses into one kernel.
    elementwise: bool = False


class ReimplementedBuiltin(Rule):
    """
    ## What it does
    Finds tensor maths written out by hand where PyTorch has a fused built-in:

    - attention as `softmax(q @ k.transpose(-2, -1) / sqrt(d)) @ v` (also with
      `torch.matmul`, `bmm` or `einsum`, the softmax also as an `nn.Softmax` module, alone
      or followed by dropout in an `nn.Sequential`), where `F.scaled_dot_product_attention`
      exists. Additive biases or masks between the product and the softmax do not matter
      (they are SDPA's `attn_mask`); the softmax must run over the key axis, the last one;
    - softmax as `exp(x) / exp(x).sum(dim, keepdim=True)`, also through names, as long as
      the name divided still holds the exponentials in that function (weights mixed or
      rescaled after the `exp` are plain normalisation, which no softmax replaces, and so
      are exponentials of a coordinate grid, a Gaussian window built from
      `torch.linspace` or `arange`), in a function or a loop (at the top level of a script or notebook it runs once, to
      post-process predictions for a plot or a table);
    - layer normalisation over the last dimension as `(x - mean) / sqrt(var + eps)` in a
      module (`F.layer_norm`, `nn.LayerNorm`);
    - the GELU formula (`0.5 * x * (1 + tanh(...0.044715 * x**3...))` or the `erf` form);
    - Python loops over the elements of a tensor (`for i in range(x.shape[0])` indexing
      `x[i]` element by element) in a model or on the training path.

    Fallback paths guarded by a feature check for the fused operation (`if
    hasattr(F, "scaled_dot_product_attention")`, `if self.flash:`, a version test) are not
    flagged, nor a hand-written path that follows an earlier fused branch of the same
    function (`if self.use_flash: return fused(q, k, v)`, the kernel possibly in another
    module), nor code in a file that already calls the fused operation elsewhere (an
    eager path kept on purpose), nor a file whose docstrings or comments say it writes
    the maths out on purpose ("an explicit implementation here to show...", "for educational
    purposes"), nor NumPy, JAX or TensorFlow code.

    Every finding has low confidence (`greenlint check` lists it with
    `--min-confidence low`): whether the fused kernel pays depends on whether the code
    runs at all and on its sequence lengths, which the code rarely shows. On
    repositories greenlint had not been tuned on, most findings were in options off by
    default, legacy version folders, deprecated pipelines, one-off initialisation loops
    or attention over a few dozen tokens. Teaching code says so in the message: a project whose README opens by presenting it
    as a book's code, a course, lectures, tutorials or a "from scratch" implementation
    (not "training vision transformers from scratch on ImageNet": that is how a model was trained),
    or a file under a chapter or lecture folder (`ch04/`, `chapter_attention/`,
    `lecture-3/`) or named "scratch", writes the maths out for readers to follow. Attention is left
    alone when it needs what the fused kernel cannot give: the weights returned, stored
    or passed on (visualisation, token sampling, reuse), even when only on request, since
    splitting the function into a fused path and a weights path is the author's call,
    also when another project module imports the class and reads its weights through a
    forward hook (an attention-map recorder); or heads mixed before or after the softmax
    (talking heads, re-attention), local attention whose keys are gathered per query
    (an einsum `'b i d, b i j d -> b i j'` over an unfolded neighbourhood: each query
    has its own few keys, no shared score matrix), channel attention (XCiT's cross-covariance
    attention: tokens moved to the last axis, a channels-by-channels map), or attention
    pooling whose queries are a learned `nn.Parameter` used as they are (a patch merger:
    a handful of queries, a small queries-by-tokens map), or attention from a single
    query token (CrossViT's class token, reshaped to a sequence of length 1, whether or not
    it is rescaled afterwards as CaiT's class attention does). A module whose package ships the same model with
    fused attention beside it, named like it plus `flash`, `sdpa` or `fused`
    (`simple_vit.py` beside `simple_flash_attn_vit.py`), is the plain reference kept on
    purpose and is not flagged. A softmax over
    another axis is different maths that no attention kernel computes: linear attention
    (`dim=-2`), slot attention (softmax over slots). A non-negative axis counts as the key
    axis only when the code shows the scores' rank (an einsum's output, `bmm`,
    `transpose(1, 2)`). The fused attention needs PyTorch 2.0 or later (2.1 for its
    `scale` argument); fallbacks behind a version test are honoured, and a project whose
    root dependency files hold it to PyTorch 1.x (`torch==1.7.1` in `requirements.txt`,
    `torch<2` in `setup.py`, `pytorch=1.11` in `environment.yml`) is not told about it. Layer
    normalisation counts only over the last dimension inside a module (not RMSNorm, not
    data standardisation); loops that slice rows by computed bounds (ragged data) are not
    counted as element loops. A softmax or GELU written in a module-level helper that
    nothing in the project calls, imports or passes on (one of several GELU variants
    kept beside the one in use) is not reported: it never runs. Nor is a GELU written
    in a function compiled by `@torch.jit.script` or `@torch.compile` (Megatron's
    `bias_gelu`): the compiler fuses the formula into one kernel.

    ## Why it costs energy
    Each hand-written step launches its own kernel and writes its intermediate result to
    GPU memory, and the next step reads it back. A fused kernel does the same maths in
    one pass over the data: memory traffic, not arithmetic, dominates these operations.
    Hand-written attention also materialises the full sequence-by-sequence score matrix,
    which FlashAttention-style kernels never store. A Python loop over tensor elements
    pays interpreter overhead (and on a GPU a kernel launch) for every element, which for
    more than a handful of elements costs orders of magnitude more than one vectorised
    operation.

    ## Example
    ```python
    att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
    att = att.masked_fill(mask == 0, float("-inf"))
    y = F.softmax(att, dim=-1) @ v
    ```

    ## Use instead
    ```python
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    ```
    Likewise `torch.softmax(x, dim)`, `F.layer_norm(x, x.shape[-1:], w, b, eps)` or
    `nn.LayerNorm`, `F.gelu(x, approximate="tanh")`, and whole-tensor operations instead of
    element loops.

    ## Evidence
    Dao et al., "FlashAttention: Fast and Memory-Efficient Exact Attention with
    IO-Awareness", NeurIPS 2022 (up to 3x faster GPT-2 training from fusing attention);
    PyTorch documentation of `scaled_dot_product_attention` and its fused kernels;
    Harris et al., "Array programming with NumPy", Nature 585, 2020, on vectorisation.
    Tactic T11 (use built-in library functions) of Järvenpää et al., ICSE-SEIS 2024,
    doi:10.1145/3639475.3640111.
    """

    code = "GL203"
    name = "reimplemented-builtin"
    summary = "Hand-written tensor maths where a fused built-in exists"
    tactics = ("T11",)
    #: Whether a fused kernel pays depends on whether the code runs at all (an option off
    #: by default, a legacy version folder, a deprecated pipeline) and on its sequence
    #: lengths, which the code rarely shows: on repositories it had not been tuned on, 4 of
    #: 24 such findings were worth acting on. Shown with ``--min-confidence low``.
    confidence = Confidence.LOW

    def check(self, project: Project) -> Iterator[Finding]:
        modules = ml.module_classes(project)
        training_scopes = _training_scopes(project)
        fused, hooked = _fused_variants(project), _hooked_imports(project)
        for facts in project.python_files():
            if "torch" not in facts.imported_roots or facts.imported_roots & {"tensorflow", "jax", "keras"}:
                continue
            if facts.explicit_on_purpose:
                continue  # the author says the maths is written out to be read
            patterns = [
                *(() if _fused_sibling(facts, fused) or project.torch_pin  # the fused kernel needs PyTorch 2
                  else self._attention(facts, _hooked_classes(facts, hooked))),
                *self._softmax(facts),
                *self._layer_norm(facts, modules),
                *self._gelu(facts),
                *self._element_loops(facts, modules, training_scopes),
            ]
            taught = purpose.teaching(project.readme_opening, facts.path)
            for pattern in sorted(patterns, key=lambda p: (p.line, p.column)):
                if pattern.scope and _unused_helper(project, facts, pattern.scope):
                    continue  # a helper nothing calls or passes on (one of several GELU variants kept) costs nothing
                if pattern.elementwise and _compiled(facts, pattern.scope):
                    continue  # TorchScript or torch.compile fuses the elementwise chain into one kernel
                finding = self.finding(facts.path, pattern.line, pattern.column, pattern.message, pattern.fix, pattern.saving)
                if taught is not None:  # written out to teach the maths: the fused call would hide it
                    finding = replace(finding, confidence=Confidence.LOW,
                                      message=f"{finding.message} ({taught}; the maths may be written out on purpose)")
                yield finding

    # -- attention ------------------------------------------------------------------------

    def _attention(self, facts: FileFacts, hooked: frozenset[str]) -> Iterator[_Pattern]:
        if any(fused in name for name in facts.names for fused in FUSED_ATTENTION):
            return
        by_scope = _by_scope([o for o in facts.operations if o.op in ("@", "einsum")])
        if not by_scope:
            return
        softmaxes = [c for c in facts.calls if _is_softmax(facts, c)]
        for scope, products in by_scope.items():
            for scores in products:
                if _guarded(scores) or _after_fused_branch(facts, scores) or _not_torch(scores.left) or _not_torch(scores.right):
                    continue
                if scope.partition(".")[0] in hooked:
                    continue  # another module records this class's attention maps through a hook
                if _channel_attention(facts, scope):
                    break  # attention over channels: tokens are the contracted axis, no fused kernel takes them
                if _learned_queries(facts, scope, scores) or _single_query(facts, scope, scores):
                    continue  # attention pooling, or one query token: a map of a few rows
                if _keys_per_query(facts, scores):
                    continue  # local attention: each query has its own few keys, no shared score matrix
                found = self._rest_of_attention(facts, scores, products, [s for s in softmaxes if s.scope == scope])
                if found is None:
                    continue
                scaled = " / sqrt(d)" if _is_scaled(facts, scores) else ""
                message = (
                    f"hand-written attention: softmax({_product(scores)}{scaled}) -> {_product(found)} "
                    "materialises the full score matrix; F.scaled_dot_product_attention computes it in one fused kernel"
                )
                fix = "call torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=..., is_causal=...) (PyTorch 2.0+)"
                saving = Saving("fused attention kernels avoid writing the score matrix to memory: 2-4x faster attention, less memory", SOURCE)
                yield _Pattern(scores.line, scores.column, message, fix, saving)
                break  # one finding per function

    def _rest_of_attention(self, facts: FileFacts, scores: Operation, products: list[Operation], softmaxes: list[Call]) -> Operation | None:
        """The ``probs @ v`` that follows a softmax of this score product, if any."""
        if scores.target is None:
            return None
        for softmax in softmaxes:
            if softmax.line < scores.line or softmax.line > scores.line + 25 or _guarded(softmax):
                continue
            if scores.target not in _inputs(softmax) or len(scores.conditions) > len(softmax.conditions):
                continue  # scores computed on one branch only: the other supplies them (reused attention)
            if not _over_keys(facts, scores, softmax):
                continue  # normalised over queries or slots: linear or slot attention, not SDPA's maths
            if any(o is not scores and scores.line <= o.line <= softmax.line and o.left == scores.target for o in products):
                return None  # heads mixed before the softmax (talking heads): not plain attention
            probs = _followers(facts, softmax)
            consumers = [
                o for o in products
                if o is not scores and softmax.line <= o.line <= softmax.line + 15
                and (o.left in probs or o.right in probs or (o.line == softmax.line and "softmax" in o.left))
            ]
            if not consumers:
                continue
            values = min(consumers, key=lambda o: (o.line, o.column))
            if values.right.startswith("self.") or values.right in probs or _guarded(values):
                return None  # probabilities mixed across heads, or transposed and reused
            if len(consumers) > 1 or _probabilities_used_elsewhere(facts, softmax, probs, values):
                return None  # the weights themselves are needed (returned, sampled from, visualised)
            return values
        return None

    # -- softmax --------------------------------------------------------------------------

    def _softmax(self, facts: FileFacts) -> Iterator[_Pattern]:
        sums = _sums(facts)
        for op in facts.operations:
            if op.op != "/" or _guarded(op) or (not op.scope and op.loop is None):
                continue  # at the top level of a script or notebook it runs once: a post-processing step
            total = re.match(r"^(?:(.+)\.sum\(|torch\.sum\((.+?)(?:, |\)))", op.right)
            if total is not None:
                summed = total.group(1) or total.group(2)
            elif (op.scope, op.right) in sums:  # partition = e.sum(dim=1, keepdim=True); e / partition
                summed = sums[(op.scope, op.right)]
            else:
                continue
            if summed != op.left:
                continue
            exp_call = re.match(r"^(?:torch\.exp\(.*\)|.+\.exp\(\))$", op.left)
            if exp_call is None and not _holds_exp(facts, op.scope, op.left, op.line):
                continue
            if _not_torch(op.left) or _coordinate_kernel(facts, op.scope):
                continue
            message = f"hand-written softmax: {op.left} / {op.right} runs three kernels with intermediate tensors; torch.softmax does it in one, numerically stable"
            fix = "use torch.softmax(x, dim=...) (or F.log_softmax when the log is taken next)"
            saving = Saving("one fused kernel instead of exp, sum and divide, with no intermediate tensors", SOURCE)
            yield _Pattern(op.line, op.column, message, fix, saving, op.scope)

    # -- layer norm -----------------------------------------------------------------------

    def _layer_norm(self, facts: FileFacts, modules: frozenset[str]) -> Iterator[_Pattern]:
        if facts.names & {"torch.nn.LayerNorm", "torch.nn.functional.layer_norm", "torch.layer_norm"}:
            return
        module_scopes = {f.qualname for f in facts.functions if f.class_name in modules}
        means = {c.target: c for c in facts.calls if c.target and _last_dim_mean(c)}
        reported: set[str] = set()
        for op in facts.operations:
            if op.op not in ("/", "*") or op.scope not in module_scopes or op.scope in reported or _guarded(op):
                continue
            for centred, spread in ((op.left, op.right), (op.right, op.left)):
                match = re.match(r"^\(([\w.]+) - (.+)\)$", centred)
                if match is None:
                    continue
                mean = match.group(2)
                if not (mean in means and means[mean].scope == op.scope) and not _inline_mean(mean):
                    continue
                if op.op == "/" and not re.search(r"sqrt|std|var", spread):
                    continue
                if op.op == "*" and "rsqrt" not in spread:
                    continue
                reported.add(op.scope)
                message = f"hand-written layer normalisation: {op.left} {op.op} {op.right}; F.layer_norm does mean, variance, scale and shift in one fused kernel"
                fix = "use nn.LayerNorm(dim, eps=...) or F.layer_norm(x, x.shape[-1:], weight, bias, eps)"
                saving = Saving("one fused normalisation kernel instead of five or six elementwise and reduction kernels", SOURCE)
                yield _Pattern(op.line, op.column, message, fix, saving)
                break

    # -- GELU -----------------------------------------------------------------------------

    def _gelu(self, facts: FileFacts) -> Iterator[_Pattern]:
        if facts.names & {"torch.nn.functional.gelu", "torch.nn.GELU"}:
            return
        seen: set[tuple[str, int]] = set()
        for op in facts.operations:
            if op.op != "*" or (op.scope, op.statement) in seen or _guarded(op):
                continue
            for formula, factor in ((op.left, op.right), (op.right, op.left)):
                tanh_form = re.search(r"(?:torch\.tanh\(|\.tanh\()", formula) and "0.044715" in formula
                erf_form = re.search(r"(?:torch\.erf\(|torch\.special\.erf\(|\.erf\()", formula) and re.search(r"sqrt\(2|0\.7071|1\.414", formula)
                if not (tanh_form or erf_form) or _not_torch(formula):
                    continue
                inputs = set(re.findall(r"[A-Za-z_][\w.]*", factor)) - {"math.sqrt"}
                if not any(re.search(rf"(?<![\w.]){re.escape(name)}(?![\w(])", formula) for name in inputs):
                    continue  # 0.5 * (1 + tanh(...)) alone is the normal CDF, not GELU
                seen.add((op.scope, op.statement))
                approximate = ', approximate="tanh"' if tanh_form else ""
                message = f"hand-written GELU formula; F.gelu(x{approximate}) computes it in one fused kernel"
                fix = f'use torch.nn.functional.gelu(x{approximate}) or nn.GELU({approximate.lstrip(", ")})'
                saving = Saving("one fused elementwise kernel instead of five to eight, with no intermediate tensors", SOURCE)
                yield _Pattern(op.line, op.column, message, fix, saving, op.scope, elementwise=True)
                break

    # -- loops over tensor elements ---------------------------------------------------------

    def _element_loops(self, facts: FileFacts, modules: frozenset[str], training_scopes: set[tuple[str, str]]) -> Iterator[_Pattern]:
        module_scopes = {f.qualname for f in facts.functions if f.class_name in modules}
        training = ml.training_loops(facts)
        for loop in facts.loops:
            match = RANGE_OVER_DIM.match(loop.iter_shape)
            if match is None or loop.kind != "for" or len(loop.targets) != 1:
                continue
            if loop.parent is not None and RANGE_OVER_DIM.match(facts.loops[loop.parent].iter_shape):
                continue  # the outer loop of a nest is the one reported
            in_path = (
                loop.scope in module_scopes
                or (facts.module, loop.scope) in training_scopes
                or any(l.id in training for l in facts.loop_chain(loop.id))
            )
            if not in_path:
                continue
            tensor = match.group(1)
            if self._element_body(facts, loop, tensor):
                bound = loop.iter_shape[len("range("):-1]
                message = (
                    f"Python loop over the elements of {tensor} (for {loop.targets[0]} in range({bound})): "
                    "one interpreter step and one or more tensor operations per element, where one vectorised operation does it all"
                )
                fix = "express the loop body as whole-tensor operations (broadcasting, torch.where, gather/scatter, cdist, cumsum ...)"
                saving = Saving("one vectorised operation instead of a Python-level operation (and on a GPU a kernel launch) per element",
                                "Harris et al., Array programming with NumPy, Nature 585, 2020 (vectorisation)")
                yield _Pattern(loop.line, loop.column, message, fix, saving)

    def _element_body(self, facts: FileFacts, loop: Loop, tensor: str) -> bool:
        """Does the loop index tensors element by element and do nothing but arithmetic?"""
        targets = {t for l in facts.loops if _within(facts, l, loop) for t in l.targets}
        subscripts = [o for o in facts.operations if o.op == "[]" and o.loop is not None and _within(facts, facts.loops[o.loop], loop)]
        element = False
        for op in subscripts:
            parts = [p.strip() for p in op.right.split(",")]
            if not all(INDEX_PART.match(p) for p in parts):
                return False  # slices with computed bounds: ragged data, not element access
            if any(p in targets for p in parts) and (op.left == tensor or op.store or op.left.startswith(tensor + "[")):
                element = element or op.left == tensor or op.left.startswith(tensor + "[")
        if not element:
            return False
        for call in facts.calls:
            if call.loop is None or not _within(facts, facts.loops[call.loop], loop):
                continue
            if not _elementwise_call(call):
                return False
        return True


# -- helpers -------------------------------------------------------------------------------


#: Words that mark a module as the fused-attention variant of a sibling module.
FUSED_NAME_PARTS = re.compile(r"(?:flash_attn|flash|sdpa|fused)_?|_(?:flash_attn|flash|sdpa|fused)$")


def _learned_queries(facts: FileFacts, scope: str, scores: Operation) -> bool:
    """Attention pooling (a patch merger, a pooling head): the queries are a learned
    ``nn.Parameter`` used as they are, not a projection of the input, so the score
    matrix has as many rows as there are outputs to pool into, a handful, and the
    fused kernel has no large matrix to avoid."""
    owner = scope.rpartition(".")[0]
    query = scores.left
    if not owner or not query.startswith("self.") or "(" in query:
        return False
    return any(a.target == query and a.scope.rpartition(".")[0] == owner and a.value.kind == "call"
               and a.value.text.endswith("Parameter") for a in facts.assignments)


def _single_query(facts: FileFacts, scope: str, scores: Operation) -> bool:
    """Attention from one query token (CrossViT's class-token cross attention): the
    query is reshaped to a sequence of length 1 (``q.reshape(B, 1, heads, d)``), so the
    score matrix is a single row per head. A rescale of the query after the reshape
    (``q = q * self.scale``, as CaiT writes it) keeps its shape, so the reshape is looked
    for behind it."""
    assigned = sorted((a for a in facts.assignments if a.target == scores.left and a.scope == scope and a.line <= scores.line),
                      key=lambda a: a.line)
    while len(assigned) > 1 and _rescales_itself(facts, scope, scores.left, assigned[-1].line):
        assigned.pop()
    if not assigned:
        return False
    line = assigned[-1].line
    return any(c.scope == scope and c.line == line and c.method in ("reshape", "view") and len(c.args) >= 4
               and c.args[1].value.kind == "literal" and c.args[1].value.literal == 1 for c in facts.calls)


def _referenced_names(project: Project) -> frozenset[str]:
    """Every name the project's code calls, imports or passes as a value (``act = gelu``,
    ``ACT2FN = {"gelu": gelu}``, ``apply(gelu_new)``), as written in its file: bare for a
    function of the same file, dotted through imports for another module's
    (``pkg.activations.gelu_new``; ``pkg.activations.*`` for a star import)."""
    found: set[str] = set()
    for facts in project.python_files():
        found.update(facts.names)
        found.update(facts.imports.values())
        found.update(f"{facts.module}.{name}" for name in _file_references(facts))
    return frozenset(found)


def _file_references(facts: FileFacts) -> set[str]:
    """Names the file passes as values or uses in operator expressions, as written."""
    values = [a.value for c in facts.calls for a in c.args] + [a.value for a in facts.assignments]
    found = {v.text for value in values for v in value.walk() if v.kind in ("name", "attribute")}
    found.update(word for o in facts.operations for side in (o.left, o.right) for word in re.findall(r"[\w.]+", side))
    return found


def _unused_helper(project: Project, facts: FileFacts, scope: str) -> bool:
    """Is ``scope`` a module-level function of this file that nothing in the project calls,
    imports or passes on, here by its bare name or elsewhere through an import? The
    project's references are gathered once, and only when a rule asks."""
    if "." in scope or not any(f.qualname == scope and f.class_name is None for f in facts.functions):
        return False
    if scope in facts.names:
        return False  # called here by name
    referenced = project.derived("referenced names", None, lambda: _referenced_names(project))
    return f"{facts.module}.{scope}" not in referenced and f"{facts.module}.*" not in referenced


#: Decorators that compile a function, fusing its elementwise operations into one kernel.
COMPILING_DECORATORS = frozenset({"torch.jit.script", "torch.compile", "jit.script"})


def _compiled(facts: FileFacts, scope: str) -> bool:
    """Is the function ``scope`` (or one enclosing it) compiled by a decorator
    (``@torch.jit.script``, ``@torch.compile``)? Megatron's ``bias_gelu`` is written out
    for TorchScript's fuser, which runs it as one kernel."""
    enclosing = {f.qualname: f for f in facts.functions}
    parts = scope.split(".")
    for end in range(len(parts), 0, -1):
        function = enclosing.get(".".join(parts[:end]))
        if function is not None and any(d.split("(")[0] in COMPILING_DECORATORS for d in function.decorators):
            return True
    return False


def _rescales_itself(facts: FileFacts, scope: str, name: str, line: int) -> bool:
    """``name = name * scale`` (or ``/``) on this line: the tensor keeps its shape."""
    return any(o.scope == scope and o.line == line and o.target == name and o.op in ("*", "/") and name in (o.left, o.right)
               for o in facts.operations)


def _channel_attention(facts: FileFacts, scope: str) -> bool:
    """Cross-covariance (channel) attention, as in XCiT: q, k and v are laid out with the
    tokens last (``rearrange(t, "b n (h d) -> b h d n")``, or ``permute(2, 0, 3, 4, 1)``
    of a ``(B, N, 3, heads, d)`` projection), so the score matrix is channels by channels
    and the tokens are the contracted axis. Fused kernels take head sizes of up to 256,
    not thousands of tokens, and the small map leaves nothing to save."""
    for call in facts.calls:
        if call.scope != scope:
            continue
        if call.name.endswith("rearrange") and len(call.args) >= 2 and isinstance(call.args[1].value.literal, str):
            source, _, target = call.args[1].value.literal.partition("->")
            axes_in, axes_out = source.split(), target.split()
            # heads split out of the channels, "(h d)", and the token axis moved last
            if "(" in source and len(axes_out) >= 4 and axes_out[-1] == axes_in[1] and axes_in[1] != axes_in[-1]:
                return True
        if call.method == "permute" and len(call.args) == 5 and call.args[-1].value.literal == 1:
            return True
    return False


def _fused_variants(project: Project) -> frozenset[tuple[str, str]]:
    """``(package, plain name)`` of every module that calls fused attention and is named
    as the fused variant of another: ``simple_flash_attn_vit`` gives ``simple_vit``."""
    found = set()
    for facts in project.python_files():
        package, _, name = facts.module.rpartition(".")
        plain = FUSED_NAME_PARTS.sub("", name)
        if plain != name and any(fused in n for n in facts.names for fused in FUSED_ATTENTION):
            found.add((package, plain))
    return frozenset(found)


def _fused_sibling(facts: FileFacts, fused: frozenset[tuple[str, str]]) -> bool:
    """Does the package hold this model again with fused attention, in a module named
    like this one plus ``flash``/``sdpa``/``fused`` (``simple_vit`` beside
    ``simple_flash_attn_vit``)? Then this file is the plain reference kept on purpose."""
    package, _, name = facts.module.rpartition(".")
    return (package, name) in fused


def _hooked_imports(project: Project) -> frozenset[str]:
    """What the project modules that register forward hooks import, fully qualified."""
    return frozenset(qualified for facts in project.python_files()
                     if any(c.method == "register_forward_hook" for c in facts.calls)
                     for qualified in facts.imports.values())


def _hooked_classes(facts: FileFacts, hooked: frozenset[str]) -> frozenset[str]:
    """Classes of this file that a module registering forward hooks imports (a recorder
    of ``module.attend`` outputs): the attention weights are read through the hook,
    which a fused kernel never exposes."""
    return frozenset(cls.name for cls in facts.classes if f"{facts.module}.{cls.name}" in hooked)


def _product(op: Operation) -> str:
    return f"einsum({op.left}, {op.right})" if op.op == "einsum" else f"{op.left} @ {op.right}"


def _by_scope(operations: list[Operation]) -> dict[str, list[Operation]]:
    grouped: dict[str, list[Operation]] = {}
    for op in operations:
        grouped.setdefault(op.scope, []).append(op)
    return grouped


def _guarded(fact: Operation | Call) -> bool:
    return any(FEATURE_CHECK.search(condition) for condition in fact.conditions)


def _after_fused_branch(facts: FileFacts, scores: Operation) -> bool:
    """Does the function take a fused-kernel branch earlier that the scores are not on
    (``if self.flash: return flash_attention(q, k, v)``, the kernel living in another module)?"""
    for call in facts.calls:
        if call.scope == scores.scope and call.line < scores.line:
            if any(FUSED_FLAG.search(c) and c not in scores.conditions for c in call.conditions):
                return True
    return False


def _not_torch(text: str) -> bool:
    return NOT_TORCH.search(text) is not None


def _is_softmax(facts: FileFacts, call: Call) -> bool:
    if call.name in SOFTMAX_CALLS or (call.method == "softmax" and call.receiver and not _not_torch(call.name)):
        return True
    return call.name.startswith("self.") and _softmax_module(facts, call.name) is not None


def _softmax_module(facts: FileFacts, attribute: str) -> Value | None:
    """The ``nn.Softmax(...)`` an attribute holds: ``self.attend = nn.Softmax(dim=-1)``, or first
    in an ``nn.Sequential`` whose other layers are dropout (``nn.Sequential(nn.Softmax(-1), nn.Dropout(p))``)."""
    for built in facts.calls:
        if built.target != attribute or built.has_unpacking:
            continue
        if built.name == "torch.nn.Softmax":
            return Value("call", text=built.name, args=built.args)
        if built.name == "torch.nn.Sequential" and built.args:
            first, *rest = (arg.value for arg in built.args)
            if first.kind == "call" and first.text == "torch.nn.Softmax" and all(
                layer.kind == "call" and "Dropout" in layer.text for layer in rest
            ):
                return first
    return None


def _softmax_dim(facts: FileFacts, call: Call) -> int | None:
    """The literal axis a softmax normalises over; None when it is not written as a literal."""
    if call.name in SOFTMAX_CALLS:
        dim = call.argument("dim", 1)
    elif call.method == "softmax":
        dim = call.argument("dim", 0)
    else:  # self.attend(scores), with self.attend an nn.Softmax module
        module = _softmax_module(facts, call.name)
        args = module.args if module is not None else ()
        dim = next((a.value for a in args if a.keyword == "dim"), None) or next((a.value for a in args if a.keyword is None), None)
    if dim is None or dim.kind != "literal" or not isinstance(dim.literal, int) or isinstance(dim.literal, bool):
        return None
    return dim.literal


def _over_keys(facts: FileFacts, scores: Operation, softmax: Call) -> bool:
    """Does the softmax normalise over the key axis (the last one), as attention and SDPA do?

    Linear and slot attention normalise over queries or slots instead (``dim=-2``, ``dim=1``):
    that is different maths, which no fused attention kernel computes.
    """
    dim = _softmax_dim(facts, softmax)
    if dim is None or dim == -1:
        return True
    if dim < 0:
        return False
    rank = _scores_rank(facts, scores)
    return rank is not None and dim == rank - 1


def _scores_rank(facts: FileFacts, scores: Operation) -> int | None:
    """How many axes the score tensor has, where the code says so: an einsum's output
    subscripts, ``bmm`` (three), or the axes ``k.transpose(1, 2)``/``k.permute(0, 2, 1)`` name."""
    call = _product_call(facts, scores)
    if scores.op == "einsum":
        equation = next((a.value.literal for a in call.args if a.value.kind == "literal" and isinstance(a.value.literal, str)), "") if call else ""
        output = equation.partition("->")[2]
        if "->" not in equation or "." in output:
            return None
        return len(output.split()) if " " in output.strip() else len(output.strip())
    if call is not None and call.method == "bmm":
        return 3
    transpose = re.search(r"\.transpose\((\d+), (\d+)\)", scores.right)
    if transpose is not None:
        return max(int(transpose.group(1)), int(transpose.group(2))) + 1
    permute = re.search(r"\.permute\(([\d, ]+)\)$", scores.right)
    if permute is not None:
        return len(permute.group(1).split(","))
    return None


def _keys_per_query(facts: FileFacts, scores: Operation) -> bool:
    """An einsum whose keys carry every axis of the scores, the query axis too (``'b i d,
    b i j d -> b i j'``): keys gathered per query (an unfolded 3x3 neighbourhood), so
    each query has its own handful of keys and there is no score matrix to fuse."""
    call = _product_call(facts, scores)
    if scores.op != "einsum" or call is None:
        return False
    equation = next((a.value.literal for a in call.args if a.value.kind == "literal" and isinstance(a.value.literal, str)), "")
    inputs, arrow, output = equation.partition("->")
    operands = inputs.split(",")
    if not arrow or len(operands) != 2 or "." in equation:
        return False
    letters = lambda text: set(text.replace(" ", ""))  # noqa: E731 - subscripts with or without spaces
    return letters(output) <= letters(operands[1]) and len(letters(operands[1])) > len(letters(output))


def _product_call(facts: FileFacts, product: Operation) -> Call | None:
    """The ``einsum``/``bmm``/``matmul`` call a product operation was read from (it may start
    before the operation's column by its own parentheses)."""
    candidates = [
        c for c in facts.calls
        if c.line == product.line and c.statement == product.statement and c.column <= product.column
        and c.method in ("einsum", "bmm", "matmul", "mm")
    ]
    return max(candidates, key=lambda c: c.column, default=None)


def _inputs(call: Call) -> set[str]:
    """Names a call reads: its receiver and plain-name arguments."""
    names = {a.value.text for a in call.args if a.value.kind in ("name", "attribute")}
    if call.receiver and not call.receiver.startswith("?") and call.method == "softmax" and call.name not in SOFTMAX_CALLS:
        names.add(call.receiver)
    return names


def _followers(facts: FileFacts, softmax: Call) -> set[str]:
    """The softmax's target and names rebound from it by dropout or masking right after."""
    names = {softmax.target} if softmax.target else set()
    for call in facts.calls:
        if call.scope == softmax.scope and softmax.line < call.line <= softmax.line + 6 and call.target and _passes_through(call):
            if names & _inputs(call) or call.receiver in names:
                names.add(call.target)
    return names


def _passes_through(call: Call) -> bool:
    """Dropout, masking or a dtype cast: the probabilities go on unchanged in kind."""
    return "drop" in call.method.lower() or call.method in PASS_THROUGH


def _probabilities_used_elsewhere(facts: FileFacts, softmax: Call, probs: set[str], values: Operation) -> bool:
    """Is the attention matrix read by anything but dropout, masking and the ``@ v``?"""
    word = re.compile(rf"(?<![\w.])(?:{'|'.join(re.escape(name) for name in probs)})(?![\w(])")
    for op in facts.operations:  # return out, attn
        if op.op == "return" and op.scope == softmax.scope and op.line > softmax.line and word.search(op.left):
            return True
    for assignment in facts.assignments:  # self.last_attention = attn
        if assignment.scope == softmax.scope and assignment.line > softmax.line and "." in assignment.target:
            if assignment.value.kind == "name" and assignment.value.text in probs:
                return True
    for call in facts.calls:
        if call.scope != softmax.scope or call.line <= softmax.line or call.statement == values.statement:
            continue
        if call.target in probs and call.line <= softmax.line + 6 and _passes_through(call):
            continue  # attn = self.dropout(attn)
        read = _inputs(call) | {call.receiver}
        if read & probs:
            return True
    return False


def _is_scaled(facts: FileFacts, scores: Operation) -> bool:
    return any(
        o.op in ("/", "*") and o.statement == scores.statement and o.scope == scores.scope
        and re.search(r"sqrt|scale|\*\* -?0?\.5", o.left + o.right)
        for o in facts.operations
    )


def _sums(facts: FileFacts) -> dict[tuple[str, str], str]:
    """(scope, name) -> what the name holds the sum of: ``total = e.sum(1)`` or ``torch.sum(e, 1)``."""
    sums: dict[tuple[str, str], str] = {}
    for call in facts.calls:
        if call.target is None:
            continue
        if call.method == "sum" and call.receiver and call.name != "torch.sum" and not call.receiver.startswith("?"):
            sums[(call.scope, call.target)] = call.receiver
        elif call.name == "torch.sum" and call.positional(0) is not None and call.positional(0).kind == "name":
            sums[(call.scope, call.target)] = call.positional(0).text
    return sums


#: Calls that lay out a grid of coordinates.
COORDINATE_GRIDS = frozenset({"linspace", "arange", "meshgrid"})


def _coordinate_kernel(facts: FileFacts, scope: str) -> bool:
    """Does the function lay out a coordinate grid (``torch.linspace``, ``arange``,
    ``meshgrid``)? Exponentials normalised there are a Gaussian or decay kernel of a few
    taps built from positions (SSIM's window), not a softmax over activations."""
    return any(c.scope == scope and c.method in COORDINATE_GRIDS and c.name.startswith("torch.") for c in facts.calls)


def _holds_exp(facts: FileFacts, scope: str, name: str, line: int) -> bool:
    """Is ``name`` bound to an ``exp`` by its latest assignment before ``line`` in ``scope``?

    A name rebound after the exp (``w = torch.exp(-d); w = mix * w + (1 - mix) * u``) no
    longer holds exponentials, and dividing it by its sum is plain normalisation.
    """
    exps = [
        c.line for c in facts.calls
        if c.scope == scope and c.target == name and c.line < line and (_is_exp(c.name) or (c.name == "?.exp" and not c.args))
    ]
    if not exps:
        return False
    bound = [a.line for a in facts.assignments if a.scope == scope and a.target == name and a.line < line]
    return max(exps) >= max(bound, default=0)


def _is_exp(callee: str) -> bool:
    return callee in ("torch.exp", "torch.special.exp") or (callee.endswith(".exp") and not _not_torch(callee) and not callee.startswith("math."))


def _last_dim_mean(call: Call) -> bool:
    """``x.mean(-1, keepdim=True)`` / ``x.mean(dim=-1, keepdim=True)``."""
    if call.method != "mean":
        return False
    keepdim = call.keyword("keepdim")
    dim = call.argument("dim", 0)
    return (keepdim is not None and keepdim.literal is True and dim is not None and dim.kind == "literal"
            and dim.literal in (-1, [-1]))


def _inline_mean(text: str) -> bool:
    return bool(re.search(r"\.mean\((?:dim=)?-1, keepdim=True\)$", text))


def _within(facts: FileFacts, inner: Loop, outer: Loop) -> bool:
    return any(l.id == outer.id for l in facts.loop_chain(inner.id))


def _elementwise_call(call: Call) -> bool:
    name = call.name
    if name in ELEMENT_BUILTINS:
        return True
    if name.startswith("math."):
        return True
    if name.startswith("torch.") and not name.startswith(NOT_ELEMENT_TORCH) and name.count(".") == 1:
        return True
    return call.method in ELEMENT_METHODS and bool(call.receiver)


def _training_scopes(project: Project) -> set[tuple[str, str]]:
    """Functions called from inside a training loop: (module, qualname)."""
    scopes: set[tuple[str, str]] = set()
    for facts in project.python_files():
        training = ml.training_loops(facts)
        if not training:
            continue
        for call in facts.calls:
            if call.loop is None or not any(l.id in training for l in facts.loop_chain(call.loop)):
                continue
            key = project.resolve_call(facts, call)
            if key is not None:
                module, _, qualname = key.partition(":")
                scopes.add((module, qualname))
    return scopes

