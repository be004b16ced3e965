"""GL401 no-mixed-precision: CUDA training in full fp32."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from greenlint.analyzer import long_run, ml, model_size, recorded_runtime, run_length, small_data
from greenlint.analyzer.facts import Call, FileFacts
from greenlint.analyzer.project import Project
from greenlint.findings import Finding, Saving
from greenlint.rules.base import Rule

SAVING = Saving(
    text="tensor-core GPUs run fp16/bf16 matrix math 2-16x faster than fp32; AMP training typically takes 1.5-3x less time and energy per step",
    source="Micikevicius et al., Mixed Precision Training, ICLR 2018; NVIDIA A100/H100 datasheets",
)
LOOP_FIX = (
    "run forward and loss under torch.autocast(device_type='cuda', dtype=torch.bfloat16) "
    "(or float16 with torch.amp.GradScaler scaling the loss)"
)
GPU_ACCELERATORS = frozenset({"gpu", "cuda"})


#: Few-shot meta-learning libraries: their training steps adapt on episodes of a few
#: dozen examples (5 ways x 5 shots), too small a batch for half precision to pay.
META_LEARNING_LIBRARIES = frozenset({"learn2learn", "torchmeta", "higher"})


class NoMixedPrecision(Rule):
    """
    ## What it does
    Finds training that runs on a CUDA GPU entirely in fp32: a PyTorch training loop (a
    loop that calls `backward()`, in a function that also steps an optimizer) in code
    that moves work to CUDA, with no autocast, GradScaler, half or bfloat16 dtype, TF32
    switch (`torch.backends.cuda.matmul.allow_tf32`, `set_float32_matmul_precision`) or
    base model loaded in 8 or 4 bits (`load_in_4bit`, `BitsAndBytesConfig`) anywhere in
    the file or in the project functions the loop calls; a Lightning `Trainer` on a GPU accelerator without `precision`; Hugging
    Face `TrainingArguments` with neither `fp16` nor `bf16` (nor, in a config file, a
    half-precision dtype under a key of the project's own, `dtype: bfloat16`, which its
    script hands to Accelerate, LLaMA-Factory's `pure_bf16: true`, or a base model
    loaded in 4 or 8 bits, `quantization_bit: 4`; nor a file whose `max_steps` is 1,000
    or fewer, a smoke test of the recipe; nor in a project whose Python imports no Trainer,
    `TrainingArguments` or TRL config at all: its Accelerate scripts read such files with
    a parser of their own, and their precision comes from `accelerate launch
    --mixed_precision`); a DeepSpeed config with neither
    `fp16.enabled` nor `bf16.enabled`, unless a config beside it in the same folder enables
    one (`ds_config_z2.json` next to `ds_config_fp16_z2.json`: variants kept to compare),
    nor a training script or notebook beside a variant of itself that trains in mixed
    precision (`finetune-2.ipynb` next to `finetune-amp16.ipynb`, `train.py` next to
    `train_amp.py`: the fp32 one is the baseline of the comparison), nor a loop that
    never runs: one reached only past `if args.evaluate: ...; return` where `--evaluate`
    is a `store_true` flag whose default is `True`. Code that only runs on the CPU is not flagged, nor is
    code whose precision comes from a flag or config value (`precision=args.precision`,
    `Accelerator()` configured by `accelerate config`), nor loops in files that use
    libraries whose numerics need float32 (GPyTorch and BoTorch Cholesky solves, Pyro's
    variational inference, torchdiffeq and torchsde adaptive solvers), nor loops in files
    that train only on small bundled data sets (torchvision's MNIST family, scikit-learn's
    and Keras' toy sets, data files of at most 1 MB kept in the repository; for a helper
    module that loads no data, the modules importing it), whose whole run takes minutes, nor loops whose every model the cost model counts
    completely at 100,000 parameters or fewer (a tabular MLP, a LeNet, an `nn.Sequential` of
    a few `nn.Linear` layers in a file that builds no other model): their layers are
    too narrow for tensor cores to speed up, and casts would only add work. Few-shot
    meta-learning (a file importing learn2learn, torchmeta or higher) is reported at low
    confidence whatever its iteration count: each step adapts on an episode of a few
    dozen examples, too small a batch for half precision to pay.

    Nor are files that train on random tensors only (a copy task, a parallelism demo),
    notebooks whose saved outputs record the whole training as under 10 minutes, or
    `TrainingArguments` or a Lightning `Trainer` assigned anew to the same name before
    any `train()` or `fit()` call (a notebook that builds its arguments twice trains
    with the second only). A loop's
    finding says what shows its run is long: a fact (50,000 or more iterations, a recorded
    time) or two agreeing signs among 20 or more epochs, a large data set, a large
    pretrained checkpoint and a model of 10 M parameters or more (`(long run: 60 epochs,
    a model of 10.5 M parameters)`); one sign alone is a guess. Where nothing does, the
    finding has low confidence: `check` counts it, and lists it with `--min-confidence low`.
    A program that uses the GPU only when a `store_true` flag asks for it (`--cuda`,
    `--accel`) runs on the CPU by default: its findings are low confidence too, and say so.

    ## Why it costs energy
    Since Volta, NVIDIA GPUs do half-precision matrix math on tensor cores many times
    faster than fp32, and half-width activations halve memory traffic. Training in fp32
    leaves that hardware idle while the GPU draws nearly full power for longer.

    ## Example
    ```python
    model.cuda()
    for x, y in loader:
        loss = criterion(model(x.cuda()), y.cuda())
        loss.backward()
        optimizer.step()
    ```

    ## Use instead
    ```python
    scaler = torch.amp.GradScaler("cuda")
    for x, y in loader:
        with torch.autocast(device_type="cuda", dtype=torch.float16):
            loss = criterion(model(x.cuda()), y.cuda())
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    ```
    With bfloat16 (Ampere and newer) the GradScaler is not needed. In Lightning pass
    `precision="bf16-mixed"`; in Hugging Face `TrainingArguments(bf16=True)`.

    ## Evidence
    Micikevicius et al., "Mixed Precision Training", ICLR 2018: fp16 training matches fp32
    accuracy with loss scaling. Tactic T18 (use quantization-aware training: lower-precision
    arithmetic during training) of Järvenpää et al., ICSE-SEIS 2024,
    doi:10.1145/3639475.3640111.
    """

    code = "GL401"
    name = "no-mixed-precision"
    summary = "CUDA training runs in full fp32 precision"
    tactics = ("T18",)

    def check(self, project: Project) -> Iterator[Finding]:
        for facts in project.python_files():
            if recorded_runtime.recorded_under(facts, recorded_runtime.SHORT_RUN_MINUTES):
                continue  # the notebook shows the whole training took minutes
            findings = [*self._loops(project, facts), *self._framework_calls(project, facts)]
            if findings and not _has_mixed_precision_variant(project, facts):
                yield from findings  # else the fp32 baseline of a comparison the author wrote
        for facts in project.config_files():
            yield from self._deepspeed(project, facts)
            yield from self._framework_config(project, facts)

    def _framework_calls(self, project: Project, facts: FileFacts) -> Iterator[Finding]:
        if ml.precision_evidence(facts):  # e.g. a model loaded in bfloat16 trains in it
            return
        for call in facts.calls:
            if run_length.framework_short_run(facts, call):
                continue  # max_steps=10: a demo of the API
            for finding in self._framework(facts, call):
                if ml.replaced_before_training(facts, call):
                    break  # arguments built again before training: these never run
                budget = run_length.framework_epochs(facts, call)
                yield long_run.graded(finding, long_run.evidence(project, facts, budget=budget, line=call.line, corroborated=True))

    def _loops(self, project: Project, facts: FileFacts) -> Iterator[Finding]:
        loops = ml.step_loops(facts)
        if not loops or ml.precision_evidence(facts) or ml.precision_sensitive(facts):
            return
        if small_data.trains_on_small_data(project, facts, hub=False) or small_data.trains_on_synthetic_data(project, facts):
            return
        if not ml.runs_on_cuda(project, facts):
            return
        for loop in loops:
            if ml.never_runs(project, facts, loop):
                continue  # behind ``if args.evaluate: return`` with a flag that is always on
            calls = list(ml.calls_in_loop(facts, ml.outermost(facts, loop)))
            helpers = {located.file.path for located in project.calls_in_functions(project.reachable(facts, calls))}
            if any(ml.precision_evidence(project.files[path]) for path in helpers):
                continue
            if model_size.trains_only_tiny_models(project, facts):  # estimated once per file
                return  # no matrix large enough for tensor cores to speed up
            message = "this training loop runs on CUDA in full fp32: no autocast, GradScaler or half-precision dtype is used"
            finding = self.finding(facts.path, loop.line, loop.column, message, LOOP_FIX, SAVING)
            if facts.imported_roots & META_LEARNING_LIBRARIES:
                yield long_run.graded(finding, None)  # episodes of N ways x K shots: batches of a few dozen
                continue
            yield long_run.graded(finding, long_run.evidence(project, facts, loop, corroborated=True), ml.gpu_on_request(project, facts))

    def _framework(self, facts: FileFacts, call: Call) -> Iterator[Finding]:
        root = call.name.split(".")[0]
        if call.method == "Trainer" and root in ("pytorch_lightning", "lightning"):
            accelerator = call.keyword("accelerator")
            gpus = call.keyword("gpus")
            on_gpu = (accelerator is not None and accelerator.kind == "literal" and accelerator.literal in GPU_ACCELERATORS) or (
                gpus is not None and gpus.kind == "literal" and gpus.literal not in (0, None)
            )
            if on_gpu and call.keyword("precision") is None and not call.has_unpacking:
                message = "Lightning Trainer on the GPU without precision= trains in full fp32"
                fix = 'pass precision="bf16-mixed" (or "16-mixed" on GPUs without bfloat16)'
                yield self.finding(facts.path, call.line, call.column, message, fix, SAVING)
        elif call.method in ("TrainingArguments", "Seq2SeqTrainingArguments") and root == "transformers":
            keywords = {a.keyword for a in call.args}
            if keywords & {"fp16", "bf16", "use_cpu", "no_cuda", "half_precision_backend"} or call.has_unpacking:
                return
            message = f"{call.method} sets neither fp16 nor bf16: the Trainer trains in full fp32 on the GPU"
            fix = "pass bf16=True (Ampere or newer) or fp16=True"
            yield self.finding(facts.path, call.line, call.column, message, fix, SAVING)

    def _deepspeed(self, project: Project, facts: FileFacts) -> Iterator[Finding]:
        if facts.config_kind != "deepspeed" or _deepspeed_half(facts):
            return
        if any(_deepspeed_half(other) for other in _sibling_configs(project, facts)):
            return  # one of a set of variants, fp16 beside fp32: the fp32 one is kept to compare
        first = facts.config[0]
        message = "DeepSpeed config enables neither fp16 nor bf16: training runs in full fp32"
        fix = 'add "bf16": {"enabled": true} (or an "fp16" section with loss scaling)'
        yield self.finding(facts.path, first.line, first.column, message, fix, SAVING)

    def _framework_config(self, project: Project, facts: FileFacts) -> Iterator[Finding]:
        """Lightning CLI and Hugging Face TrainingArguments files."""
        entries = {e.key: e for e in facts.config}
        if facts.config_kind == "lightning":
            accelerator = entries.get("trainer.accelerator")
            gpus = entries.get("trainer.gpus")
            anchor = accelerator if accelerator is not None and str(accelerator.value).lower() in GPU_ACCELERATORS else None
            if anchor is None and gpus is not None and gpus.value not in (0, None, "0"):
                anchor = gpus
            if anchor is not None and "trainer.precision" not in entries:
                message = "Lightning config runs the Trainer on the GPU without trainer.precision: training is full fp32"
                fix = 'set trainer.precision: bf16-mixed (or 16-mixed)'
                yield self.finding(facts.path, anchor.line, anchor.column, message, fix, SAVING)
        elif facts.config_kind == "hf-training-args" and ml.feeds_hf_trainer(project):
            steps = entries.get("max_steps")
            if steps is not None and isinstance(steps.value, int) and 0 < steps.value <= run_length.SHORT_RUN_STEPS:
                return  # max_steps: 10, a smoke test of the recipe
            if not HF_PRECISION_KEYS & entries.keys() and not _names_half_dtype(facts):
                first = facts.config[0]
                message = "training arguments set neither fp16 nor bf16: the Trainer trains in full fp32 on the GPU"
                yield self.finding(facts.path, first.line, first.column, message, "add bf16: true (or fp16: true)", SAVING)


#: Keys of a training-arguments file that settle its precision: the Trainer's own, and
#: LLaMA-Factory's ``pure_bf16`` (weights and optimizer state kept in bfloat16).
HF_PRECISION_KEYS = frozenset({"fp16", "bf16", "pure_bf16", "use_cpu", "no_cuda"})
#: Keys by which training configs choose a precision of their own (a project's dataclass
#: field beside the Trainer's: ``dtype: bfloat16`` handed to Accelerate as ``bf16``).
DTYPE_KEYS = frozenset({"dtype", "torch_dtype", "mixed_precision", "precision", "amp_dtype", "compute_dtype"})
HALF_DTYPES = frozenset({"bfloat16", "bf16", "float16", "fp16", "half", "16", "bf16-mixed", "16-mixed"})
#: Keys that load the base model in 8 or 4 bits (QLoRA): its compute dtype is a half one.
QUANTIZED_BASE_KEYS = frozenset({"quantization_bit", "load_in_4bit", "load_in_8bit"})


def _names_half_dtype(facts: FileFacts) -> bool:
    """Does the config choose a half-precision dtype under a key of its own
    (``"dtype": "bfloat16"``, ``torch_dtype: float16``), or load the base model in 4 or 8
    bits (``quantization_bit: 4``), whose compute dtype is a half one?"""
    return any((e.key.rpartition(".")[2] in DTYPE_KEYS and str(e.value).lower() in HALF_DTYPES)
               or (e.key.rpartition(".")[2] in QUANTIZED_BASE_KEYS and e.value not in (None, False, 0, "none"))
               for e in facts.config)


def _deepspeed_half(facts: FileFacts) -> bool:
    """Does a DeepSpeed config have an ``fp16``, ``bf16`` or ``amp`` section?"""
    return facts.config_kind == "deepspeed" and any(e.key.split(".")[0] in ("fp16", "bf16", "amp") for e in facts.config)


#: What a file name adds to another's to name its mixed-precision variant: ``amp16``,
#: ``_fp16``, ``-bf16-v2`` (not ``vae_amp``: that is another model's variant).
PRECISION_VARIANT = re.compile(r"[-_.]*(?:amp|fp16|bf16|half|mixed)[-_.a-z0-9]*", re.IGNORECASE)


def _has_mixed_precision_variant(project: Project, facts: FileFacts) -> bool:
    """Is there a file beside this one named as its mixed-precision variant (the same
    name up to where the other adds ``amp16``, ``_fp16``, ``-bf16``...) that uses mixed
    precision? ``distilbert-finetuning-2.ipynb`` next to ``distilbert-finetuning-amp16.ipynb``."""
    path = PurePosixPath(facts.path)
    for other in project.python_files():
        other_path = PurePosixPath(other.path)
        if other.path == facts.path or other_path.parent != path.parent:
            continue
        common = os.path.commonprefix([path.stem, other_path.stem])
        added = other_path.stem[len(common):]
        if len(common) >= 4 and PRECISION_VARIANT.fullmatch(added) and ml.precision_evidence(other):
            return True
    return False


def _sibling_configs(project: Project, facts: FileFacts) -> Iterator[FileFacts]:
    """The other config files of the folder that holds this one."""
    folder = PurePosixPath(facts.path).parent
    return (other for other in project.config_files() if other.path != facts.path and PurePosixPath(other.path).parent == folder)
