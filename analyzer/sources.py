"""Turning one file on disk into facts, or into a diagnostic that says why not.

This is the only place user input is parsed, so it is where bad input is contained: every
failure (unreadable, binary, undecodable, too large, syntax error, invalid YAML, a parser
crash on pathological code) becomes a ``Diagnostic`` for that file and the run goes on.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from greenlint.analyzer.config_facts import ConfigError, extract_config
from greenlint.analyzer.facts import FileFacts
from greenlint.analyzer.notebooks import NotebookError, notebook_source, script_as_python
from greenlint.analyzer.python_facts import extract_python
from greenlint.findings import Diagnostic

PYTHON_SUFFIXES = (".py", ".pyi")
NOTEBOOK_SUFFIXES = (".ipynb",)
CONFIG_SUFFIXES = (".yaml", ".yml", ".json")

MAX_PYTHON_BYTES = 5_000_000
#: Notebooks carry their outputs (images, tables), so they may be larger than code.
MAX_NOTEBOOK_BYTES = 50_000_000
#: Larger YAML/JSON files are data, not configs, and are passed over without a word.
MAX_CONFIG_BYTES = 1_000_000

#: Words a config must contain to be one greenlint has rules for.
CONFIG_TRIGGERS = re.compile(
    rb"method|trainer|precision|fp16|bf16|zero_optimization|save_strategy|num_train_epochs|"
    rb"hydra|sweeper|grid_search|enable_checkpointing|max_epochs|mixed_precision"
)


#: A notebook kept as a script: jupytext's ``# %%`` cells, nbconvert's ``# In[3]:``,
#: Databricks' notebook source and its ``# COMMAND ----------`` cells.
NOTEBOOK_SCRIPT = re.compile(rb"(?m)^# (?:%%|In\[[ \d]*\]:|Databricks notebook source|COMMAND -{5,})")
#: The author's word, in a docstring or comment, that code is written out on purpose for readers.
EXPLICIT_ON_PURPOSE = re.compile(rb"\b[Ee]xplicit(?:ly)? implement|[Ff]or (?:educational|teaching|didactic) purposes")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file chosen for analysis: its path relative to the project root, and its module."""

    root: Path
    path: str
    module: str

    @property
    def absolute(self) -> Path:
        return self.root / self.path


def module_name(path: str) -> str:
    """``pkg/train.py`` -> ``pkg.train``; ``pkg/__init__.py`` -> ``pkg``."""
    stem = path.rsplit(".", 1)[0].replace("-", "_").replace(" ", "_")
    parts = [p for p in stem.split("/") if p]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def is_config(path: str) -> bool:
    return path.endswith(CONFIG_SUFFIXES)


def analyze_bytes(
    source: SourceFile, data: bytes, triggers: re.Pattern[bytes], *, python_only: bool = False
) -> FileFacts | Diagnostic:
    """Facts of a file's content, or a diagnostic; never raises on bad input."""
    path = source.path
    if is_config(path) and not python_only:
        return _analyze_config(source, data)
    if path.endswith(NOTEBOOK_SUFFIXES) and not python_only:
        return _analyze_notebook(source, data, triggers)
    if len(data) > MAX_PYTHON_BYTES:
        return Diagnostic(path, f"skipped: file is {len(data) // 1_000_000} MB, over the {MAX_PYTHON_BYTES // 1_000_000} MB limit")
    if b"\0" in data:
        return Diagnostic(path, "skipped: binary file (contains NUL bytes)")
    if not triggers.search(data):
        return FileFacts(path=path, module=source.module, kind="skipped")
    try:
        module = _parse(path, data)
        if isinstance(module, Diagnostic):
            return module
    except (UnicodeDecodeError, LookupError, SyntaxError) as error:
        return Diagnostic(path, f"cannot decode: {error}")
    except RecursionError:
        return Diagnostic(path, "skipped: expressions nest too deeply to parse")
    except Exception as error:  # libcst's native parser may raise its own errors
        return Diagnostic(path, f"cannot parse: {type(error).__name__}: {error}")
    try:
        facts = extract_python(module, path, source.module)
    except RecursionError:
        return Diagnostic(path, "skipped: code nests too deeply to analyse")
    facts.script_notebook = bool(NOTEBOOK_SCRIPT.search(data))
    facts.explicit_on_purpose = bool(EXPLICIT_ON_PURPOSE.search(data))
    return facts


#: libcst's "error at 73:1:" counts lines of the cells joined; the cell's own line replaces it.
JOINED_POSITION = re.compile(r"at \d+:(\d+):")


def _parse(path: str, data: bytes) -> cst.Module | Diagnostic:
    """The file's syntax tree, or a syntax error's diagnostic. A notebook kept as a
    script whose shell escapes (``!pip install ...``) are not Python is parsed again with
    them turned into ``pass``, on this failure path only; an error that remains is in its
    Python, and is reported where it is."""
    try:
        return cst.parse_module(data)
    except cst.ParserSyntaxError as error:
        failed, first = data, error
    if NOTEBOOK_SCRIPT.search(data):
        converted = script_as_python(data.decode("utf-8-sig")).encode("utf-8")
        try:
            return cst.parse_module(converted)
        except cst.ParserSyntaxError as error:
            failed, first = converted, error
    accepted, complaint = _python_verdict(failed)
    if accepted and b"\t" in failed:
        try:  # indentation mixing tabs and spaces that Python reads and libcst's tokenizer does not
            return cst.parse_module(LEADING_TABS.sub(lambda m: m.group(0).expandtabs(8), failed))
        except cst.ParserSyntaxError:
            pass
    if complaint is not None and complaint.lineno:
        detail = f"{complaint.msg} (column {complaint.offset})" if complaint.offset else complaint.msg
        return Diagnostic(path, f"syntax error: {detail}", line=complaint.lineno)
    return Diagnostic(path, f"syntax error: {first.message}", line=first.raw_line)


def _analyze_notebook(source: SourceFile, data: bytes, triggers: re.Pattern[bytes]) -> FileFacts | Diagnostic:
    if len(data) > MAX_NOTEBOOK_BYTES:
        return Diagnostic(source.path, f"skipped: notebook is over the {MAX_NOTEBOOK_BYTES // 1_000_000} MB limit")
    if not triggers.search(data):
        return FileFacts(path=source.path, module=source.module, kind="skipped")
    try:
        notebook = notebook_source(data)
    except NotebookError as error:
        return Diagnostic(source.path, str(error))
    if notebook.other_language is not None:
        return FileFacts(path=source.path, module=source.module, kind="skipped")  # an R or Julia notebook
    facts = analyze_bytes(source, notebook.text.encode("utf-8"), triggers, python_only=True)
    if isinstance(facts, Diagnostic) and facts.line is not None and 0 < facts.line <= len(notebook.cells):
        cell, line = notebook.cells[facts.line - 1]
        message = JOINED_POSITION.sub(lambda m: f"at line {line}, column {m.group(1)}:", facts.message)
        return Diagnostic(source.path, f"cell {cell}: {message}", line=line)
    if isinstance(facts, FileFacts):
        facts.cells = notebook.cells
        facts.recorded_minutes = notebook.recorded_minutes
        facts.recorded_cells = notebook.cell_minutes
        facts.recorded_epochs = notebook.cell_epochs
        facts.entry_point = True  # a notebook is run top to bottom, like a script
    return facts


def _analyze_config(source: SourceFile, data: bytes) -> FileFacts | Diagnostic:
    path = source.path
    if len(data) > MAX_CONFIG_BYTES or not CONFIG_TRIGGERS.search(data):
        return FileFacts(path=path, module=source.module, kind="skipped")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return Diagnostic(path, f"cannot decode as UTF-8 at byte {error.start}")
    try:
        return extract_config(text, path, source.module)
    except ConfigError as error:
        return Diagnostic(path, str(error))
    except RecursionError:
        return Diagnostic(path, "skipped: config nests too deeply to read")


def read_source(source: SourceFile) -> bytes | Diagnostic:
    """The file's bytes, or a diagnostic when it cannot be read."""
    try:
        return source.absolute.read_bytes()
    except OSError as error:
        return Diagnostic(source.path, f"cannot read: {error.strerror or error}")


#: The indentation of a line, when it holds a tab.
LEADING_TABS = re.compile(rb"(?m)^[ \t]*\t[ \t]*")


def _python_verdict(data: bytes) -> tuple[bool, SyntaxError | None]:
    """Whether Python's own compiler accepts the file, and if not its complaint, asked
    only on the failure path. libcst's tokenizer reports some errors (an unmatched
    bracket) at line 1, and its parser words every error as the tokens it expected;
    Python names the problem ("unexpected indent", "Missing parentheses in call to
    'print'") and its line. (False, None) when it cannot say."""
    try:
        compile(data, "<file>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as complaint:
        return False, complaint
    except (ValueError, RecursionError, MemoryError):
        return False, None
    return True, None
