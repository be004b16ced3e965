"""GL502 host-sync-in-loop: the CPU waiting for the GPU on every training step."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from greenlint.analyzer import long_run, ml, model_size, run_length
from greenlint.analyzer.facts import Call, FileFacts, Loop
from greenlint.analyzer.project import Project
from greenlint.findings import Confidence, Finding, Saving
from greenlint.rules.base import Rule

SAVING = Saving(
    text="without a per-step sync the CPU queues the next kernels while the GPU works, removing an idle gap every step",
    source="PyTorch Performance Tuning Guide (Szymon Migacz), 'Avoid unnecessary CPU-GPU synchronization'",
)
#: Parameters from which a model's training step is heavy: a sync per step costs a sliver of it.
HEAVY_STEP_PARAMETERS = 100_000_000
#: An ``if`` test that only lets logging through every so often.
LOGGING_GUARD = re.compile(r"%|\blog|interval|every|verbose|print_freq|display|report|\bdebug", re.IGNORECASE)


class HostSyncInLoop(Rule):
    """
    ## What it does
    Finds `.item()`, `.cpu()`, `.numpy()` or `.tolist()`, and `print` of a tensor, run on
    every step of the innermost training loop (the loop that calls `backward()`) in code
    that runs on CUDA. One finding per loop, at the first such call, with the count of the
    others. Calls under a logging-interval condition (`if step % log_every == 0:`) are fine,
    as are reads of a batch the loader yields before the loop moves it to the GPU
    (`labels.numpy()` on CPU labels waits for nothing).
    So are loops that run at most 1,000 steps in all (read like missing-checkpoint reads
    them: constants, argparse defaults, config dicts, smoke-test switches), Gaussian-process
    fits (gpytorch marginal log-likelihoods, Pyro `gp.models`), loops that step through
    an AMP `GradScaler` (`scaler.step(optimizer)` reads its inf check back to the host on
    every step, so the loop already waits for the GPU once per step), loops that call
    `torch.cuda.synchronize()` on every step (the author waits on purpose), and files whose every model
    the cost model counts completely at 100,000 parameters or fewer: the syncs of such runs
    add up to seconds.

    Nor are files that train on random tensors only, or notebooks whose saved outputs
    record the whole training as under 10 minutes. The finding says what shows the run is
    long (`(long run: 200,000 iterations)`); where nothing does, it has low confidence:
    `check` counts it, and lists it with `--min-confidence low`. Only facts count here: a
    recorded time or 50,000 or more counted iterations. Epochs, a large data set (COCO,
    LAION) or a large model mostly come with long steps, beside which one sync is a
    sliver; on real repositories a sync found behind such signs was rarely worth moving.
    A program that uses the GPU only when a `store_true` flag asks for it (`--cuda`,
    `--accel`) runs on the CPU by default: its findings are low confidence too, and say so.
    So are loops whose every step is heavy: a model of 100 million parameters or more, or
    a pretrained model fine-tuned (`from_pretrained`: a transformer, a diffusion UNet). A
    step of those runs for a good part of a second, and the gap one sync opens is well
    under a percent of it; the finding says so.

    ## Why it costs energy
    Each of these calls copies a value to the host, so the CPU stops and waits until the
    GPU has finished every queued kernel. The CPU can then no longer run ahead to queue the
    next step's work, and the GPU idles between steps, powered, for the length of the gap.

    ## Example
    ```python
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()  # waits for the GPU every step
    ```

    ## Use instead
    ```python
    running_loss = torch.zeros((), device="cuda")
    for step, (x, y) in enumerate(loader):
        ...
        running_loss += loss.detach()
        if step % 100 == 0:
            print(running_loss.item() / (step + 1))
    ```

    ## Evidence
    PyTorch Performance Tuning Guide: avoid unnecessary CPU-GPU synchronization
    (`tensor.item()`, `tensor.cpu()`, printing CUDA tensors). Tactic T27 (minimize
    referencing to data) of Järvenpää et al., ICSE-SEIS 2024, doi:10.1145/3639475.3640111.
    """

    code = "GL502"
    name = "host-sync-in-loop"
    summary = "Host-device synchronisation on every training step"
    tactics = ("T27",)

    def check(self, project: Project) -> Iterator[Finding]:
        for facts in project.python_files():
            loops = ml.step_loops(facts)
            if not loops or not ml.runs_on_cuda(project, facts):
                continue
            if long_run.shown_short(project, facts):
                continue  # a notebook records minutes of training, or the data is random tensors
            for loop in loops:
                if ml.is_benchmark(facts, loop.scope) or ml.never_runs(project, facts, loop):
                    continue
                syncs = [c for c in ml.calls_in_loop(facts, loop, direct=True) if self._is_sync(facts, loop, c)]
                if not syncs or _short_or_small_fit(project, facts, loop) or _waits_anyway(facts, loop):
                    continue
                if model_size.trains_only_tiny_models(project, facts):  # estimated once per file
                    break  # a step of a tiny model is mostly overhead: one sync more changes little
                first = min(syncs, key=lambda c: (c.line, c.column))
                shown = first.shown
                message = f"{shown}() forces a GPU-to-CPU sync on every training step"
                if len(syncs) > 1:
                    message += f" ({len(syncs) - 1} more sync{'s' if len(syncs) > 2 else ''} in this loop)"
                fix = "accumulate on the device (loss.detach()) and call .item() only every N steps, inside a logging condition"
                finding = self.finding(facts.path, first.line, first.column, message, fix, SAVING)
                heavy = _heavy_step(project, facts)
                if heavy is not None:  # the gap is real but a sliver of each step: payoff unknown
                    yield replace(finding, confidence=Confidence.LOW, message=f"{message} ({heavy}: one sync costs little of each step)")
                    continue
                reason = long_run.evidence(project, facts, loop, data_sets=False, by_model=False, corroborated=True)
                yield long_run.graded(finding, reason, ml.gpu_on_request(project, facts))

    def _is_sync(self, facts: FileFacts, loop: Loop, call: Call) -> bool:
        if any(LOGGING_GUARD.search(guard) for guard in call.guards):
            return False
        if call.method in ml.HOST_SYNC_METHODS and call.receiver and not call.args:
            if _batch_still_on_host(facts, loop, call):
                return False
            # ``model.cpu()`` moves a module, usually by design (parameter servers, export).
            return not (call.method == "cpu" and _looks_like_module(call.receiver))
        if call.name == "print":
            tensors = _tensor_names(facts, loop)
            return any(a.value.kind == "name" and a.value.text in tensors for a in call.args)
        return False


def _heavy_step(project: Project, facts: FileFacts) -> str | None:
    """Why each training step is heavy, in a few words, or None. A step of a model of
    ``HEAVY_STEP_PARAMETERS`` or more, or of a pretrained model fine-tuned
    (``from_pretrained``: a transformer, a diffusion UNet), runs for a good part of a
    second; the idle gap one sync opens (the CPU queueing the next step's first kernels)
    is then well under a percent of it."""
    params = model_size.largest_model_parameters(project, facts)
    if params is not None and params >= HEAVY_STEP_PARAMETERS:
        return f"each step runs a model of {params / 1e6:.0f} M parameters"
    if any(ml.loads_pretrained_model(c) for c in facts.calls):
        return "each step runs a pretrained model fine-tuned here"
    return None


def _waits_anyway(facts: FileFacts, loop: Loop) -> bool:
    """Does every step wait for the GPU already, so that an ``.item()`` beside it adds
    almost nothing? A ``GradScaler`` step (``scaler.step(optimizer)``) reads its inf
    check back to the host; an unconditional ``torch.cuda.synchronize()`` is the
    author's choice to wait (for honest timings or logs)."""
    scalers = {a.target for a in facts.assignments
               if a.value.kind == "call" and a.value.text.rpartition(".")[2] == "GradScaler"}
    return any((c.method == "step" and c.receiver in scalers)
               or (c.name == "torch.cuda.synchronize" and c.loop == loop.id and not c.guards)
               for c in ml.calls_in_loop(facts, loop))


def _batch_still_on_host(facts: FileFacts, loop: Loop, call: Call) -> bool:
    """``labels.numpy()`` on a tensor the loader yields (``for imgs, labels in loader``),
    before anything in the loop moved or replaced it: it is still in host memory, so
    reading it waits for no GPU work."""
    name = call.receiver
    if name not in loop.targets:
        return False
    earlier = [a for a in facts.assignments if a.target == name and a.loop == loop.id and a.line < call.line]
    moved = [c for c in facts.calls if c.loop == loop.id and c.receiver == name and c.line < call.line
             and c.method in ("to", "cuda")]
    return not earlier and not moved


MODULE_NAMES = ("model", "net", "module", "network", "encoder", "decoder", "m")


def _looks_like_module(receiver: str) -> bool:
    last = receiver.rpartition(".")[2].lower()
    return last in MODULE_NAMES or last.endswith(("model", "_net"))


def _tensor_names(facts: FileFacts, loop: Loop) -> set[str]:
    """Names the loop binds to a model or loss output (and so to a device tensor)."""
    names = set()
    for assignment in facts.assignments:
        if assignment.loop != loop.id or assignment.value.kind != "call":
            continue
        method = assignment.value.text.rpartition(".")[2]
        if method not in ml.HOST_SYNC_METHODS and method not in ("len", "str", "format", "int", "float"):
            names.add(assignment.target)
    return names


def _short_or_small_fit(project: Project, facts: FileFacts, loop: Loop) -> bool:
    """At most a thousand steps in all, or a Gaussian-process fit: the syncs add up to nothing."""
    nest = ml.outermost(facts, loop)
    return ml.fits_gaussian_process(facts, nest) or run_length.short_run(project, facts, nest, max_epochs=0)
