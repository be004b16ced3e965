"""GL403 no-quantization: a model shipped for inference at full training precision."""

from __future__ import annotations

from collections.abc import Iterator

from greenlint.analyzer import ml
from greenlint.analyzer.facts import Call, FileFacts
from greenlint.analyzer.project import Project
from greenlint.findings import Confidence, Finding, Saving
from greenlint.rules.base import Rule

SAVING = Saving(
    text="int8 weights are 4x smaller than fp32 and int8 inference is commonly 2-4x faster on CPUs, usually within 1% accuracy",
    source="Jacob et al., Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference, CVPR 2018",
)
EXPORTS = frozenset({"torch.onnx.export", "torch.onnx.dynamo_export", "torch.jit.save", "torch.export.save"})
SERVING_FRAMEWORKS = frozenset({"fastapi", "flask", "gradio", "bentoml", "litserve"})


class NoQuantization(Rule):
    """
    ## What it does
    Finds code that exports or serves a model for inference while the project quantizes
    or half-casts nothing: `torch.onnx.export`, `torch.jit.save` or `torch.export.save`,
    and web-serving modules (FastAPI, Flask, Gradio, BentoML, LitServe) that load a model
    with `pipeline(...)`, `from_pretrained(...)` or `torch.load(...)`. The whole project is
    searched for quantization (`torch.ao.quantization`, `quantize_dynamic`, ONNX Runtime or
    bitsandbytes quantization, `load_in_8bit`), or for a half-precision cast (`.half()`,
    `torch_dtype=torch.float16`), so quantizing in another module counts. Training-only code
    is not flagged, nor is a notebook that imports a serving framework: it tries a demo
    out, and a `torch.load` there reloads a model to test it; the server is a script.

    Every finding has low confidence (`greenlint check` lists it with
    `--min-confidence low`): whether quantizing pays depends on how many requests the
    model serves, which the code does not show, and on real repositories the exports and
    servers found were mostly one-off conversions and feature demos.

    ## Why it costs energy
    A served model runs millions of times; its per-request cost is paid for as long as it
    is deployed. Full-precision fp32 weights take four times the memory bandwidth of int8,
    and integer or half-precision kernels do the same inference for less energy.

    ## Example
    ```python
    model.load_state_dict(torch.load("model.pt"))
    torch.onnx.export(model.eval(), example, "model.onnx")
    ```

    ## Use instead
    ```python
    qmodel = torch.ao.quantization.quantize_dynamic(model.eval(), {torch.nn.Linear}, dtype=torch.qint8)
    # or quantize the exported graph: onnxruntime.quantization.quantize_dynamic("model.onnx", "model.int8.onnx")
    ```
    Check accuracy on a validation set after quantizing; where int8 costs too much, fp16 or
    bf16 weights still halve the memory traffic.

    ## Evidence
    Jacob et al., "Quantization and Training of Neural Networks for Efficient
    Integer-Arithmetic-Only Inference", CVPR 2018. Tactics T18 (quantization) and T8
    (decrease model complexity) of Järvenpää et al., ICSE-SEIS 2024,
    doi:10.1145/3639475.3640111.
    """

    code = "GL403"
    name = "no-quantization"
    summary = "Model exported or served for inference without quantization"
    tactics = ("T18", "T8")
    #: Whether quantizing pays depends on how much the model serves, which the code does
    #: not show: on real repositories the exports and demo servers found were mostly
    #: one-off conversions and feature demos. Shown with ``--min-confidence low``.
    confidence = Confidence.LOW

    def check(self, project: Project) -> Iterator[Finding]:
        candidates = []
        for facts in project.python_files():
            candidates.extend((facts, call) for call in facts.calls if call.name in EXPORTS)
            if facts.imported_roots & SERVING_FRAMEWORKS and not facts.is_notebook:
                load = next((call for call in facts.calls if _loads_model(call)), None)
                if load is not None:
                    candidates.append((facts, load))
        if not candidates or ml.project_quantizes(project):
            return
        for facts, call in candidates:
            yield self._finding(facts, call)

    def _finding(self, facts: FileFacts, call: Call) -> Finding:
        fix = (
            "quantize before shipping: torch.ao.quantization.quantize_dynamic for Linear/LSTM layers, "
            "onnxruntime.quantization for exported graphs, or at least cast weights to fp16/bf16"
        )
        if call.name in EXPORTS:
            message = f"{call.name} ships the model for inference in full precision; the project quantizes nothing"
        else:
            message = f"this server loads the model with {call.name or call.method}() in full precision; the project quantizes nothing"
        return self.finding(facts.path, call.line, call.column, message, fix, SAVING)


def _loads_model(call: Call) -> bool:
    if call.name in ("torch.load", "torch.jit.load") or call.name.endswith("transformers.pipeline"):
        return True
    return ml.loads_pretrained_model(call)
