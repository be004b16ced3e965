"""``greenlint estimate PATH...``: parameters, FLOPs, energy and CO2 of every model.

Static by default (nothing is imported or run); ``--measure`` confirms each estimate with
fvcore in a bounded child process. Every number says its convention and every energy
figure lists the assumptions and sources it rests on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from greenlint.config import ConfigError, load_settings
from greenlint.output import write_report
from greenlint.workers import frozen_heap

FORMATS = ("table", "json", "markdown")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options on its sub-parser."""
    parser.description = (
        "Estimate every model's parameters and FLOPs from the source (without running it), "
        "and the energy and CO2 of its training and inference under stated assumptions."
    )
    parser.add_argument("paths", nargs="*", type=Path, default=[Path(".")], help="files or directories (default: .)")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    parser.add_argument("--output", "-o", type=Path, help="write the report to this file instead of stdout")
    parser.add_argument("--config", type=Path, help="settings file instead of the nearest pyproject.toml")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write .greenlint_cache")
    parser.add_argument("--model", action="append", metavar="NAME", help="only this model (repeatable)")
    parser.add_argument("--input-shape", metavar="SHAPE", help="one sample's shape for models without one, e.g. 3x224x224")
    parser.add_argument("--tokens", action="store_true", help="--input-shape holds token ids (a sequence length)")
    parser.add_argument("--dataset-size", type=int, metavar="N", help="training samples per epoch")
    parser.add_argument("--epochs", type=float, metavar="N", help="training epochs")
    energy = parser.add_argument_group("energy assumptions (override [tool.greenlint.energy])")
    energy.add_argument("--device", help="accelerator or CPU, e.g. A100-SXM4, H100-SXM5, T4, RTX-4090")
    energy.add_argument("--precision", choices=("fp32", "tf32", "bf16", "fp16"), help="precision of the peak used")
    energy.add_argument("--utilisation", "--utilization", type=float, metavar="FRACTION", help="model FLOP utilisation, e.g. 0.3")
    energy.add_argument("--pue", type=float, help="data-centre power usage effectiveness, e.g. 1.1")
    energy.add_argument("--region", help="grid region (country code such as FRA, or a cloud region)")
    energy.add_argument("--carbon-intensity", type=float, metavar="G_PER_KWH", help="grid intensity in gCO2e/kWh")
    energy.add_argument("--power-w", type=float, metavar="WATTS", help="average device power (default: its TDP)")
    measured = parser.add_argument_group("measured counts")
    measured.add_argument("--measure", action="store_true", help="build each model and count it with fvcore (imports your code)")
    measured.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS", help="time limit per measured model (default: 120)")


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code."""
    from greenlint.analyzer import ml
    from greenlint.analyzer.cost.energy import AssumptionError, assumptions
    from greenlint.analyzer.cost.inputs import InputShape, parse_shape
    from greenlint.analyzer.cost.report import cost_row
    from greenlint.analyzer.cost.settings import model_settings
    from greenlint.analyzer.cost.static import ModelSettings, estimate_project
    from greenlint.engine import RunOptions, load_project

    start = args.paths[0] if args.paths else Path(".")
    settings = load_settings(start if start.exists() else Path("."), args.config)
    project, diagnostics = load_project(settings, RunOptions(args.paths, use_cache=not args.no_cache))
    try:
        models = model_settings(settings.tables.get("models"))
        input_shape = None
        if args.input_shape:
            try:
                input_shape = InputShape(parse_shape(args.input_shape), args.tokens, "--input-shape")
            except ValueError as error:
                raise ConfigError(f"--input-shape: {error}") from None
        scope = _report_scope(args.paths, Path(settings.root))
        mixed = any(ml.precision_evidence(f) for f in project.python_files() if _in_scope(f.path, scope))
        overrides = {"device": args.device, "precision": args.precision, "utilisation": args.utilisation, "pue": args.pue,
                     "region": args.region, "carbon-intensity": args.carbon_intensity, "power-w": args.power_w}
        chosen = assumptions(settings.tables.get("energy"), overrides, mixed_precision=mixed)
    except AssumptionError as error:
        raise ConfigError(str(error)) from None
    training = ModelSettings(dataset_size=args.dataset_size, epochs=args.epochs)
    with frozen_heap():
        estimates = estimate_project(project, models, input_shape, training, within=lambda path: _in_scope(path, scope))
    estimates = [e for e in estimates if _in_scope(e.path, scope) or _in_scope(e.built_at.rpartition(":")[0], scope)]
    if args.model:
        wanted = set(args.model)
        estimates = [e for e in estimates if e.name in wanted]
    rows = [cost_row(e, chosen) for e in estimates]
    measured: dict[int, Any] = {}
    if args.measure:
        measured = _measure(rows, Path(settings.root), args.timeout)
    text = _render(args.format, rows, measured, chosen, settings.root)
    write_report(text, args.output)
    for diagnostic in diagnostics:
        print(f"greenlint: {diagnostic.path}: {diagnostic.message}", file=sys.stderr)
    return 1 if diagnostics else 0


def _report_scope(paths: list[Path], root: Path) -> list[str]:
    """The asked-for paths relative to the project root ('' for the root itself)."""
    out = []
    for path in paths:
        try:
            relative = path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
        out.append("" if relative == "." else relative)
    return out


def _in_scope(path: str, scope: list[str]) -> bool:
    return any(p == "" or path == p or path.startswith(p.rstrip("/") + "/") for p in scope)


def _measure(rows: list[Any], root: Path, timeout: float) -> dict[int, Any]:
    from greenlint.measure import Measured, MeasureUnavailable, check_available, request_for, run_child

    try:
        check_available()
    except MeasureUnavailable as error:
        raise ConfigError(str(error)) from None
    out: dict[int, Any] = {}
    for i, row in enumerate(rows):
        e = row.estimate
        if e.origin != "class" or e.target is None:
            out[i] = Measured(error="library models are counted from published figures, not measured")
            continue
        if e.input is None:
            out[i] = Measured(error="no input shape to measure with")
            continue
        module = e.target.rpartition(".")[0]
        request = request_for(root, e.path, module, e.name, e.arguments, e.input_tensor or (1, *e.input.shape), e.input.integer)
        out[i] = Measured(error=request) if isinstance(request, str) else run_child(request, root, timeout)
    return out


# -- rendering ------------------------------------------------------------------------------


def _relative(static: int | None, measured: int | None) -> str:
    if static is None or measured is None:
        return "-"
    if measured == 0:
        return "exact" if static == 0 else "n/a"
    delta = (static - measured) / measured * 100
    return "exact" if static == measured else f"{delta:+.2f} %"


def _columns(rows: list[Any], measured: dict[int, Any]) -> tuple[list[str], list[list[str]]]:
    from greenlint.analyzer.cost.report import co2, count, kwh

    headers = ["model", "location", "params", "MACs / sample", "input", "training", "training energy", "training CO2e",
               "inference / 1M samples"]
    if measured:
        headers += ["measured params", "measured MACs", "static vs measured"]
    body = []
    for i, row in enumerate(rows):
        e = row.estimate
        params = f"{e.params:,}" if e.params is not None else "unknown"
        macs = f"{count(e.macs)} ({count(2 * e.macs)}FLOPs)" if e.macs is not None else "unknown"
        if e.train_macs is not None:
            macs += f"; training {count(e.train_macs)}"
        source = f"{e.input.describe()} ({e.input.source})" if e.input else "-"
        plan = e.training
        if row.training_scope == "total" and plan is not None:
            trained = f"{plan.total_samples:,} samples"
        elif row.training_scope:
            trained = row.training_scope
        else:
            trained = "-"
        inference = f"{kwh(row.inference.kwh)}, {co2(row.inference.co2_kg)}" if row.inference else "-"
        cells = [e.name, f"{e.path}:{e.line}", params, macs, source, trained,
                 kwh(row.training.kwh) if row.training else "unknown", co2(row.training.co2_kg) if row.training else "unknown",
                 inference]
        if measured:
            m = measured.get(i)
            if m is None or m.error:
                cells += ["-", m.error if m is not None else "-", "-"]
            else:
                extra = f" (plain fvcore {count(m.fvcore_macs)})" if m.fvcore_macs != m.macs else ""
                unsupported = f"; unsupported: {', '.join(m.unsupported_ops)}" if m.unsupported_ops else ""
                cells += [f"{m.params:,}", f"{count(m.macs)}{extra}{unsupported}",
                          f"params {_relative(e.params, m.params)}, MACs {_relative(e.macs, m.macs)}"]
        body.append(cells)
    return headers, body


def _footer(rows: list[Any], chosen: Any) -> list[str]:
    from greenlint.analyzer.cost.report import CONVENTION

    lines = [CONVENTION + "; per sample = one input of batch size 1, eval mode.", "Assumptions:"]
    lines += [f"  {line}" for line in chosen.describe()]
    for row in rows:
        e = row.estimate
        reasons = []
        if e.params is None and e.params_reason:
            reasons.append(f"parameters unknown: {e.params_reason}")
        if e.macs is None and e.macs_reason:
            reasons.append(f"FLOPs unknown: {e.macs_reason}")
        if e.training is not None and e.training.sources:
            reasons.append("training: " + "; ".join(e.training.sources))
        if e.training is not None and e.training.unknown:
            reasons.append("amount of training unknown: " + "; ".join(e.training.unknown))
        reasons += list(e.notes)
        if reasons:
            lines.append(f"{e.name} ({e.path}:{e.line}), built at {e.built_at}:")
            lines += [f"  - {r}" for r in reasons]
    return lines


def _render(fmt: str, rows: list[Any], measured: dict[int, Any], chosen: Any, root: Path) -> str:
    if fmt == "json":
        return _json(rows, measured, chosen) + "\n"
    headers, body = _columns(rows, measured)
    if fmt == "markdown":
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |" for cells in body]
        return "\n".join([*lines, "", *(_md(line) for line in _footer(rows, chosen))]) + "\n"
    return _table(headers, body, _footer(rows, chosen))


def _md(line: str) -> str:
    return line if line.startswith("  ") else f"{line}  "


def _table(headers: list[str], body: list[list[str]], footer: list[str]) -> str:
    import io

    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=200 if not sys.stdout.isatty() else None, highlight=False, soft_wrap=False)
    table = Table(title="greenlint estimate", show_lines=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for cells in body:
        table.add_row(*cells)
    if not body:
        console.print("No models found: greenlint looks for nn.Module classes and torchvision, timm or Hugging Face constructors.")
        return buffer.getvalue()
    console.print(table)
    for line in footer:
        console.print(line, markup=False)
    return buffer.getvalue()


def _json(rows: list[Any], measured: dict[int, Any], chosen: Any) -> str:
    from greenlint.analyzer.cost.report import CONVENTION, row_data

    models = []
    for i, row in enumerate(rows):
        data = row_data(row)
        m = measured.get(i)
        if m is not None:
            data["measured"] = {"parameters": m.params, "macs_per_sample": m.macs, "plain_fvcore_macs": m.fvcore_macs,
                                "unsupported_ops": m.unsupported_ops, "error": m.error}
        models.append(data)
    payload = {
        "schema_version": "1.0",
        "convention": CONVENTION,
        "assumptions": {
            "device": chosen.device.name, "precision": chosen.precision, "peak_flops_per_s": chosen.peak_flops(),
            "power_w": chosen.power_w, "utilisation": chosen.utilisation, "pue": chosen.pue,
            "grid": chosen.grid.name, "grid_g_per_kwh": chosen.grid.g_per_kwh, "sources": chosen.sources,
        },
        "models": models,
    }
    return json.dumps(payload, indent=2, sort_keys=False)


def write(text: str, out: TextIO) -> None:
    out.write(text)
