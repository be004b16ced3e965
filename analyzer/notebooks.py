"""Jupyter notebooks as Python: code cells joined, with a map back to cell and line.

Magics and shell escapes (``%timeit``, ``!pip install``, ``%%bash`` cells) are not Python;
each such line becomes ``pass`` at the same indentation, so line numbers and block
structure survive and the rest of the cell is still analysed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from greenlint.analyzer.recorded_runtime import recorded_cell_epochs, recorded_cell_minutes

_MAGIC = re.compile(r"^(\s*)(%|!|\?)")
_HELP = re.compile(r"^\s*[\w.]+\?\??\s*$")


class NotebookError(ValueError):
    """The file is not a notebook greenlint can read; the message says why."""


@dataclass(frozen=True, slots=True)
class NotebookSource:
    """The joined code and, per joined line (index 0 = line 1), its (cell, line)."""

    text: str
    cells: list[tuple[int, int]]
    #: Minutes of training the saved outputs record (``recorded_runtime``), None if none.
    recorded_minutes: float | None = None
    #: The same, per code cell that records any.
    cell_minutes: dict[int, float] = field(default_factory=dict)
    #: The epoch budget each code cell's saved Keras log shows (``Epoch 1/2`` -> 2).
    cell_epochs: dict[int, int] = field(default_factory=dict)
    #: The kernel's language when it is not Python (an R or Julia notebook): its cells
    #: are not analysed.
    other_language: str | None = None


def _cell_lines(cell: dict) -> list[str]:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(str(part) for part in source)
    if not isinstance(source, str):
        raise NotebookError("a cell's source is neither text nor a list of lines")
    return source.splitlines() or [""]


def _python_line(line: str) -> str:
    match = _MAGIC.match(line)
    if match or _HELP.match(line):
        indent = match.group(1) if match else line[: len(line) - len(line.lstrip())]
        return f"{indent}pass"
    return line


def notebook_source(data: bytes) -> NotebookSource:
    """Join a notebook's code cells; raises NotebookError for a malformed notebook."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise NotebookError(f"cannot decode as UTF-8 at byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise NotebookError(f"invalid notebook JSON (line {error.lineno}, column {error.colno}): {error.msg}") from None
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        raise NotebookError("not a Jupyter notebook: no 'cells' list")
    language = _kernel_language(document)
    if language is not None and language != "python":
        return NotebookSource("", [], other_language=language)
    lines: list[str] = []
    cells: list[tuple[int, int]] = []
    number = 0
    for cell in document["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        number += 1
        cell_lines = _cell_lines(cell)
        if cell_lines and cell_lines[0].lstrip().startswith("%%"):
            cell_lines = ["pass"] + [""] * (len(cell_lines) - 1)  # a cell magic: not Python at all
        for index, converted in enumerate(python_lines(cell_lines), start=1):
            lines.append(converted)
            cells.append((number, index))
    per_cell = recorded_cell_minutes(document["cells"])
    return NotebookSource("\n".join(lines) + "\n", cells, sum(per_cell.values()) if per_cell else None, per_cell,
                          recorded_cell_epochs(document["cells"]))


def _kernel_language(document: dict) -> str | None:
    """The notebook's language, lower case, from its kernel spec or language info."""
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return None
    for key, fields in (("kernelspec", ("language",)), ("language_info", ("language", "name"))):
        entry = metadata.get(key)
        if not isinstance(entry, dict):
            continue
        for field_name in fields:
            name = entry.get(field_name)
            if isinstance(name, str) and name:
                return name.lower()
    return None


def python_lines(cell_lines: list[str]) -> list[str]:
    """A cell's lines as Python, one for one: each magic or shell escape line becomes
    ``pass`` (its backslash continuations blank), and the rest is left as it is."""
    out: list[str] = []
    continued = False  # a shell escape or magic continued with a trailing backslash
    code = _CodeState()
    for line in cell_lines:
        if continued:
            converted = ""
        elif code.inside:
            converted = line  # ``%(a, b))`` inside an open bracket or string is Python, not a magic
        else:
            converted = _python_line(line)
        continued = (continued or converted != line) and line.rstrip().endswith("\\")
        if converted == line:
            code.read(line)
        out.append(converted)
    return out


def script_as_python(text: str) -> str:
    """A notebook kept as a script (``# %%`` cells, a Databricks notebook source) with its
    shell escapes and magics (``!deepspeed ...``, ``%pip install``) turned into ``pass``,
    line for line, so its Python can be parsed with positions unchanged."""
    return "\n".join(python_lines(text.split("\n")))


class _CodeState:
    """Whether the Python read so far leaves a bracket, a string or a line continuation
    open, so that the next line continues a statement (where ``%`` is the modulo operator)."""

    def __init__(self) -> None:
        self.depth = 0
        self.quote = ""  # the open string's delimiter: one quote, or three
        self.backslash = False

    @property
    def inside(self) -> bool:
        return self.depth > 0 or bool(self.quote) or self.backslash

    def read(self, line: str) -> None:
        i = 0
        while i < len(line):
            char = line[i]
            if self.quote:
                if char == "\\":
                    i += 2
                    continue
                if line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = ""
                    continue
            elif char == "#":
                break
            elif char in "'\"":
                self.quote = line[i : i + 3] if line[i : i + 3] in ("'''", '"""') else char
                i += len(self.quote)
                continue
            elif char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(0, self.depth - 1)
            i += 1
        self.backslash = line.rstrip().endswith("\\") and not self.quote
        if len(self.quote) == 1:
            self.quote = ""  # a one-quote string cannot span lines
