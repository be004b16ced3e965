"""Where a command's report goes: a file named by ``--output``, else standard output."""

from __future__ import annotations

import sys
from pathlib import Path

from greenlint.config import ConfigError


def write_report(text: str, output: Path | None) -> None:
    """Write ``text`` to ``output`` or stdout; an unwritable file is a one-line usage error."""
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot write {output}: {error.strerror or error}") from None
