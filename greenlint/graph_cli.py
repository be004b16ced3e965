"""``greenlint graph PATH``: the project's modules, their roles, imports and calls.

For a human reading an unfamiliar ML system (Mermaid or Graphviz dot), and as data for
an architecture review (JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from greenlint.analyzer.project import Project
from greenlint.analyzer.roles import roles_of
from greenlint.config import load_settings
from greenlint.engine import RunOptions, load_project
from greenlint.output import write_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", type=Path, default=[Path(".")], help="project directory (default: .)")
    parser.add_argument("--format", choices=("json", "dot", "mermaid"), default="mermaid", help="output format (default: mermaid)")
    parser.add_argument("--config", type=Path, help="settings file instead of the nearest pyproject.toml")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write .greenlint_cache")
    parser.add_argument("--output", "-o", type=Path, help="write to this file instead of stdout")


def graph_data(project: Project) -> dict:
    """Modules with roles, module imports, and function-level calls inside the project."""
    modules = [roles_of(facts) for path, facts in sorted(project.files.items()) if facts.kind in ("python", "config")]
    imports = sorted(
        {(target, path) for module, importers in project.importers.items()
         for path in importers
         for target in [next((f.path for f in project.modules.get(module, []) if f.module == module), None)]
         if target is not None},
        key=lambda edge: (edge[1], edge[0]),
    )
    calls = sorted(project.graph.edges)
    return {
        "schema_version": 1,
        "modules": [
            {"path": m.path, "module": m.module, "roles": list(m.roles) or ["library"], "entry_point": m.entry_point}
            for m in modules
        ],
        "imports": [{"from": source, "to": target} for target, source in imports],
        "calls": [{"from": caller, "to": callee} for caller, callee in calls],
    }


def _node_id(path: str) -> str:
    return "m_" + "".join(ch if ch.isalnum() else "_" for ch in path)


def render_dot(data: dict) -> str:
    lines = ["digraph greenlint {", "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
    for module in data["modules"]:
        shape = ", style=bold" if module["entry_point"] else ""
        label = f"{module['path']}\\n{', '.join(module['roles'])}"
        lines.append(f'  {_node_id(module["path"])} [label="{label}"{shape}];')
    for edge in data["imports"]:
        lines.append(f"  {_node_id(edge['from'])} -> {_node_id(edge['to'])};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_mermaid(data: dict) -> str:
    lines = ["flowchart LR"]
    for module in data["modules"]:
        text = f"{module['path']}<br/>{', '.join(module['roles'])}"
        open_, close = ("([", "])") if module["entry_point"] else ("[", "]")
        lines.append(f'  {_node_id(module["path"])}{open_}"{text}"{close}')
    for edge in data["imports"]:
        lines.append(f"  {_node_id(edge['from'])} --> {_node_id(edge['to'])}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    start = args.paths[0] if args.paths else Path(".")
    settings = load_settings(start if start.exists() else Path("."), args.config)
    project, diagnostics = load_project(settings, RunOptions(args.paths, use_cache=not args.no_cache))
    data = graph_data(project)
    text = {"json": lambda d: json.dumps(d, indent=2) + "\n", "dot": render_dot, "mermaid": render_mermaid}[args.format](data)
    write_report(text, args.output)
    for diagnostic in diagnostics:
        print(f"greenlint: {diagnostic.path}: {diagnostic.message}", file=sys.stderr)
    return 1 if diagnostics else 0
