"""Accuracy of greenlint's static cost model against fvcore, on a zoo of models.

For every model in ``benchmarks/model_zoo`` (each file builds its model from literal
arguments and feeds it an example input, as a training script would), this runs
greenlint's static estimate (no import of the zoo) and then, in this process, builds the
same model with the same arguments and counts it:

* parameters: ``sum(p.numel() for p in model.parameters())``;
* fvcore: ``FlopCountAnalysis`` as released (eval mode, no_grad);
* fvcore + greenlint's op handles (``greenlint.measure.handles``), the ``--measure`` path;
* a reference that needs neither: torch's ``FlopCounterMode`` with every op decomposed to
  plain matmuls (eval mode with autograd on, so no fused fast path; oneDNN off, so LSTMs
  decompose; SDPA on its math backend), halved to multiply-adds, plus fvcore's terms for
  norms, adaptive pooling and upsampling, which FlopCounterMode does not count.

It prints a Markdown table and the targets: parameters exact; static MACs within 1 % of
handle-augmented fvcore for conv/linear/transformer models and within 5 % for the rest;
the published architecture figures within 5 %. Exit status 1 when a target is missed.

    python benchmarks/flops_accuracy.py [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ZOO = Path(__file__).resolve().parent / "model_zoo"
#: fvcore ops that FlopCounterMode does not count: added to the reference as fvcore counts them.
FVCORE_ONLY = ("batch_norm", "layer_norm", "group_norm", "instance_norm", "adaptive_avg_pool2d",
               "upsample_nearest2d", "upsample_bilinear2d", "grid_sampler")
#: Models whose cost is conv, linear and attention matmuls (1 % target); the rest get 5 %.
STRICT_OPS = ("conv", "linear", "matmul", "attention", "published", "transformer")


@dataclass
class Result:
    name: str
    path: str
    category: str
    params_static: int | None
    params_torch: int
    macs_static: int | None
    fvcore: int
    fvcore_handles: int
    reference: int
    unsupported: dict[str, int]
    error: str = ""

    @property
    def static_error(self) -> float | None:
        if self.macs_static is None or not self.fvcore_handles:
            return None
        return (self.macs_static - self.fvcore_handles) / self.fvcore_handles * 100

    @property
    def target(self) -> float:
        return 1.0 if self.category == "conv/linear/transformer" else 5.0


def _relative(value: int, reference: int) -> float:
    return (value - reference) / reference * 100 if reference else 0.0


def static_estimates() -> list[Any]:
    from greenlint.analyzer.cost.static import estimate_project
    from greenlint.config import Settings
    from greenlint.engine import RunOptions, load_project

    project, _ = load_project(Settings(root=ZOO, exclude=[]), RunOptions([ZOO], jobs=1, use_cache=False))
    return [e for e in estimate_project(project) if e.origin == "class"]


def _category(estimate: Any) -> str:
    ops = {op for op, _ in estimate.macs_by_op}
    if ops and ops <= set(STRICT_OPS) | {"layer_norm", "batch_norm", "adaptive_avg_pool2d"} and "rnn" not in ops:
        return "conv/linear/transformer"
    return "other (RNN, norms, pooling, upsampling)"


def measure(estimate: Any) -> Result:
    import torch
    from fvcore.nn import FlopCountAnalysis
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from greenlint.measure.child import from_json, load_module
    from greenlint.measure.handles import EXTRA_HANDLES

    module = load_module(ZOO, estimate.path, estimate.path.removesuffix(".py").replace("/", "."))
    arguments = estimate.arguments or {}
    args = [from_json(v, ZOO) for k, v in sorted(arguments.items()) if k.startswith("#")]
    kwargs = {k: from_json(v, ZOO) for k, v in arguments.items() if not k.startswith("#")}
    model = getattr(module, estimate.name)(*args, **kwargs).eval()
    shape = estimate.input_tensor
    x = torch.zeros(shape, dtype=torch.long) if estimate.input.integer else torch.zeros(shape)

    class First(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, value: torch.Tensor) -> torch.Tensor:
            out = self.inner(value)
            while isinstance(out, (tuple, list)):
                out = out[0]
            return out

    wrapped = First(model).eval()

    def fvcore(handles: bool) -> FlopCountAnalysis:
        analysis = FlopCountAnalysis(wrapped, (x,))
        if handles:
            analysis.set_op_handle(**EXTRA_HANDLES)
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        analysis.total()
        return analysis

    with torch.no_grad():
        plain = fvcore(False)
        augmented = fvcore(True)
    with torch.backends.mkldnn.flags(enabled=False), sdpa_kernel(SDPBackend.MATH):
        with FlopCounterMode(display=False) as counter:
            wrapped(x)
    by_op = plain.by_operator()
    reference = counter.get_total_flops() // 2 + sum(int(by_op.get(op, 0)) for op in FVCORE_ONLY)
    return Result(
        name=estimate.name, path=estimate.path, category=_category(estimate), params_static=estimate.params,
        params_torch=sum(p.numel() for p in model.parameters()), macs_static=estimate.macs,
        fvcore=int(plain.total()), fvcore_handles=int(augmented.total()), reference=int(reference),
        unsupported=dict(augmented.unsupported_ops()),
    )


@dataclass
class Published:
    name: str
    what: str
    estimate: float
    published: float
    source: str

    @property
    def error(self) -> float:
        return _relative(self.estimate, self.published)


def published_checks(results: list[Result]) -> list[Published]:
    """Table entries checked against an independent count: zoo models with torchvision's
    exact layout, and the transformer formulas against published sizes."""
    from greenlint.analyzer.cost import transformer as tf
    from greenlint.analyzer.cost.architectures import lookup

    checks = []
    by_name = {r.name: r for r in results}
    for zoo_name, table_name in (("AlexNetLike", "alexnet"), ("TorchvisionResNet50", "resnet50")):
        row, result = lookup(table_name), by_name.get(zoo_name)
        if row is None or result is None:
            continue
        checks.append(Published(table_name, "parameters", result.params_static or 0, row["params"], row["source"]))
        checks.append(Published(table_name, "GMACs at 224x224", (result.macs_static or 0) / 1e9, row["gmacs"], row["source"]))
    for name in ("bert-base-uncased", "bert-large-uncased", "roberta-base", "distilbert-base-uncased", "gpt2", "gpt2-medium",
                 "gpt2-xl", "Llama-2-7b-hf"):
        row = lookup(name)
        if row is None:
            continue
        shape = tf.TransformerShape.from_values(row["family"], {k: row.get(k) for k in tf.ALIASES})
        head = "causal-lm" if row["family"] == "llama" else "base"
        checks.append(Published(name, "parameters", tf.parameters(shape, head), row["published_params"], row["source"]))
        if row.get("published_gmacs_128"):
            checks.append(Published(name, "GMACs at 1x128", tf.forward_macs(shape, 128, head) / 1e9, row["published_gmacs_128"], row["source"]))
    return checks


def render(results: list[Result], checks: list[Published]) -> tuple[str, bool]:
    ok = True
    lines = [
        "| model | category | params (static / torch) | static MACs | fvcore | fvcore + handles | reference | "
        "static vs fvcore+handles | fvcore vs reference | fvcore+handles vs reference |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.error:
            lines.append(f"| {r.name} | {r.category} | error: {r.error} | | | | | | | |")
            ok = False
            continue
        exact = "exact" if r.params_static == r.params_torch else f"{r.params_static} vs {r.params_torch}"
        static_error = r.static_error
        if r.params_static != r.params_torch or static_error is None or abs(static_error) > r.target:
            ok = False
        lines.append(
            f"| {r.name} ({r.path}) | {r.category} | {r.params_torch:,} ({exact}) | {r.macs_static or 0:,} | {r.fvcore:,} | "
            f"{r.fvcore_handles:,} | {r.reference:,} | {static_error:+.2f} % | {_relative(r.fvcore, r.reference):+.2f} % | "
            f"{_relative(r.fvcore_handles, r.reference):+.2f} % |"
        )
    strict = [r for r in results if r.category == "conv/linear/transformer" and r.static_error is not None]
    rest = [r for r in results if r.category != "conv/linear/transformer" and r.static_error is not None]
    improved = [r for r in results if r.fvcore != r.reference]
    closer = sum(1 for r in improved if abs(r.fvcore_handles - r.reference) < abs(r.fvcore - r.reference))
    summary = [
        "",
        f"models: {len(results)}; parameters exact: {sum(r.params_static == r.params_torch for r in results)}/{len(results)}",
        f"conv/linear/transformer ({len(strict)}): max |static - fvcore+handles| = "
        f"{max((abs(r.static_error) for r in strict), default=0):.3f} % (target 1 %)",
        f"other ({len(rest)}): max |static - fvcore+handles| = {max((abs(r.static_error) for r in rest), default=0):.3f} % (target 5 %)",
        f"models where plain fvcore misses work (attention, RNN kernels): {len(improved)}; "
        f"fvcore + handles closer to the reference on {closer} of them",
        "",
        "| published architecture | quantity | greenlint | published | difference | source |",
        "|---|---|---|---|---|---|",
    ]
    for c in checks:
        if abs(c.error) > 5:
            ok = False
        def show(value: float) -> str:
            return f"{value:,.0f}" if c.what == "parameters" else f"{value:,.3f}"

        summary.append(f"| {c.name} | {c.what} | {show(c.estimate)} | {show(c.published)} | {c.error:+.2f} % | {c.source} |")
    return "\n".join(lines + summary), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    results = []
    for estimate in sorted(static_estimates(), key=lambda e: e.path):
        if estimate.input is None or estimate.input_tensor is None:
            results.append(Result(estimate.name, estimate.path, "-", estimate.params, 0, None, 0, 0, 0, {},
                                  error=estimate.macs_reason or "no input"))
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                results.append(measure(estimate))
        except Exception as error:  # noqa: BLE001 - report and go on
            results.append(Result(estimate.name, estimate.path, "-", estimate.params, 0, estimate.macs, 0, 0, 0, {},
                                  error=f"{type(error).__name__}: {error}"))
    checks = published_checks(results)
    text, ok = render(results, checks)
    print("MACs in fvcore's convention (one multiply-add = one flop), batch 1, eval mode.\n")
    print(text)
    if args.json is not None:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2, default=str), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ZOO))
    raise SystemExit(main())
