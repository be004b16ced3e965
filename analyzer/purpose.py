"""What a project says it is for: teaching code writes things out by hand on purpose.

A book's companion code, a course and its lessons, a lecture series or a "from scratch" implementation
spells out attention, layer normalisation and GELU so that readers see the maths; telling
its author to call the fused kernel instead misses the point of the code. The project
says so where a newcomer first looks: the title and opening lines of its top-level
README ("Build a Large Language Model (From Scratch)", "the code for the book",
"lecture materials", "minGPT tries to be small, clean, interpretable and educational").
A file's own path can say the same of one part of a larger project (``chapter03/``,
``ch04/``, ``lecture-2.ipynb``, ``softmax-regression-scratch.ipynb``).

"Training vision transformers from scratch on ImageNet" is no lesson: a "from scratch"
that follows a form of "train" in its sentence says how a model was trained.

The README is read, never executed, and only its opening: a word deep in a library's
README ("see the tutorial") describes its documentation, not its code.
"""

from __future__ import annotations

import re
from pathlib import Path

#: README files looked for in the project root, in this order (the first found is read).
README_NAMES = ("README.md", "README.rst", "README.txt", "README", "readme.md", "Readme.md")
#: Bytes of a README read (its title and first paragraph lie well within).
README_BYTES = 8_000
#: Characters of a README's text, markup removed, that count as its opening.
OPENING_CHARACTERS = 400
#: Markup that carries no words: HTML tags, images, badges, link targets, emphasis marks.
_MARKUP = re.compile(r"<[^>]*>|!\[[^\]]*\]\([^)]*\)|\]\([^)]*\)|[\[\]*_#`|=-]{1,}")
#: Words by which a project presents itself as teaching material.
TEACHING_WORDS = re.compile(
    r"(?i)\b(from[ -]scratch|educational|tutorials?|course|lectures?|lessons?|book|textbook|teach(?:es|ing)?)\b"
)
#: What turns "from scratch" into a way of training, not of teaching: a form of "train" earlier
#: in the same sentence ("Training Vision Transformers from Scratch on ImageNet").
TRAINED_FROM = re.compile(r"(?i)\btrain\w*\b[^.!?]{0,60}$")
#: Path parts of teaching material inside a project: chapters, lectures, lessons, from-scratch files.
TEACHING_PATH = re.compile(
    r"(?i)(?:^|/)(?:ch(?:ap(?:ter)?)?[-_ ]?\d+|chapter_[a-z]|lectures?[-_ ]?\d|lessons?[-_ ]?\d)|scratch"
)


def read_opening(root: Path) -> str:
    """The opening words of the project's top-level README, markup removed; "" without one
    (or when it cannot be read: it only ever lowers a finding's confidence)."""
    for name in README_NAMES:
        path = root / name
        try:
            with path.open("rb") as handle:
                data = handle.read(README_BYTES)
        except OSError:
            continue
        text = _MARKUP.sub(" ", data.decode("utf-8", errors="replace"))
        return " ".join(text.split())[:OPENING_CHARACTERS]
    return ""


def teaching(opening: str, path: str) -> str | None:
    """Why the code at ``path`` is teaching material, in a few words; None when neither the
    project's README opening nor the path says so."""
    for found in TEACHING_WORDS.finditer(opening):
        if "scratch" in found.group(1).lower() and TRAINED_FROM.search(opening[:found.start()]):
            continue  # a model trained from random weights: a research claim, not a lesson
        return f'teaching code: the README\'s opening says "{found.group(1).lower()}"'
    found = TEACHING_PATH.search(path)
    if found is not None:
        return f'teaching code: its path says "{found.group(0).strip("/")}"'
    return None
